package org.atlas4j.io;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.LongBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * NumPy {@code .npy} files: writes version 1.0, little-endian, C order ({@code <f4}, {@code <i4}); reads
 * {@code <f4 <f8 <i4 <i8 |u1} into floats. Data moves through bulk {@link ByteBuffer} views, never per value
 * through a stream, so tens of megabytes take milliseconds.
 */
public final class Npy {
    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    /** numpy pads the header so the data starts on a 64-byte boundary. */
    private static final int ALIGN = 64;
    /** Bytes per bulk conversion chunk (a multiple of 8). */
    private static final int CHUNK = 1 << 20;
    private static final long MAX_ARRAY = Integer.MAX_VALUE - 8;
    private static final String SUPPORTED = "<f4, <f8, <i4, <i8, |u1";

    private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([^']*)'");
    private static final Pattern FORTRAN = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");

    private Npy() {
    }

    /**
     * An array read from a .npy file, C order, converted to float. Integers above 2^24 lose precision.
     */
    public record NpyArray(int[] shape, float[] data) {
        public NpyArray {
            Objects.requireNonNull(shape, "shape");
            Objects.requireNonNull(data, "data");
            long n = 1;
            for (int d : shape) {
                if (d < 0) {
                    throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
                }
                n *= d;
            }
            if (n != data.length) {
                throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " needs " + n
                        + " elements but data has " + data.length);
            }
        }

        /** First dimension (the sample count for 2-D arrays). */
        public int rows() {
            if (shape.length == 0) {
                throw new IllegalStateException("0-D array has no rows");
            }
            return shape[0];
        }

        /** Second dimension of a 2-D array. */
        public int cols() {
            if (shape.length != 2) {
                throw new IllegalStateException("cols() needs a 2-D array, shape is " + Arrays.toString(shape));
            }
            return shape[1];
        }

        /** A copy of row {@code r} of a 2-D array. */
        public float[] row(int r) {
            int c = cols();
            Objects.checkIndex(r, shape[0]);
            return Arrays.copyOfRange(data, r * c, r * c + c);
        }

        @Override
        public String toString() {
            return "NpyArray[shape=" + Arrays.toString(shape) + "]";
        }
    }

    /** Writes a 2-D {@code <f4} array of shape (rows, cols), row-major, atomically. */
    public static void writeFloat32(Path file, float[] data, int rows, int cols) {
        writeFloat32(file, data, rows, cols, true);
    }

    /** As above; {@code durable = false} skips the fsyncs (see {@link AtomicFiles#writeNoSync}). */
    public static void writeFloat32(Path file, float[] data, int rows, int cols, boolean durable) {
        Objects.requireNonNull(data, "data");
        if (rows < 0 || cols < 0 || (long) rows * cols != data.length) {
            throw new IllegalArgumentException("shape (" + rows + ", " + cols + ") does not match " + data.length
                    + " values");
        }
        byte[] header = header("<f4", rows, cols);
        AtomicFiles.IOConsumer<java.io.OutputStream> body = out -> {
            out.write(header);
            writeFloats(out, data);
        };
        if (durable) {
            AtomicFiles.write(file, body);
        } else {
            AtomicFiles.writeNoSync(file, body);
        }
    }

    /** Writes an N-D {@code <f4} array (C order) atomically. */
    public static void writeFloat32Nd(Path file, float[] data, long... shape) {
        long n = 1;
        for (long d : shape) n *= d;
        if (n != data.length) throw new IllegalArgumentException("shape does not match " + data.length + " values");
        byte[] header = header("<f4", shape);
        AtomicFiles.write(file, out -> {
            out.write(header);
            writeFloats(out, data);
        });
    }

    /** Writes a 1-D {@code <f4} array atomically. */
    public static void writeFloat32(Path file, float[] data) {
        byte[] header = header("<f4", data.length);
        AtomicFiles.write(file, out -> {
            out.write(header);
            writeFloats(out, data);
        });
    }

    private static void writeFloats(OutputStream out, float[] data) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(chunkFor(data.length, 4)).order(ByteOrder.LITTLE_ENDIAN);
        FloatBuffer view = buf.asFloatBuffer();
        for (int off = 0; off < data.length; ) {
            int n = Math.min(view.capacity(), data.length - off);
            view.clear();
            view.put(data, off, n);
            out.write(buf.array(), 0, n * 4);
            off += n;
        }
    }

    private static int chunkFor(long elements, int itemSize) {
        return (int) Math.max(8, Math.min(CHUNK, elements * itemSize));
    }

    /**
     * The complete v1.0 header: magic, version, uint16 LE length, the dict, space padding and '\n', with the
     * total length a multiple of 64.
     */
    /** The header for {@code shape} padded with spaces to exactly {@code length} bytes (at least its own length). */
    static byte[] paddedHeader(String descr, int length, long... shape) {
        byte[] own = header(descr, shape);
        if (own.length > length) throw new IllegalArgumentException("npy header for " + Arrays.toString(shape) + " needs "
                + own.length + " bytes, not " + length);
        byte[] out = Arrays.copyOf(own, length);
        Arrays.fill(out, own.length - 1, length - 1, (byte) ' ');
        out[length - 1] = '\n';
        int headerLen = length - MAGIC.length - 4;
        out[MAGIC.length + 2] = (byte) headerLen;
        out[MAGIC.length + 3] = (byte) (headerLen >>> 8);
        return out;
    }

    static byte[] header(String descr, long... shape) {
        StringBuilder dims = new StringBuilder();
        for (int i = 0; i < shape.length; i++) {
            if (i > 0) {
                dims.append(", ");
            }
            dims.append(shape[i]);
        }
        if (shape.length == 1) {
            dims.append(',');
        }
        String dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" + dims + "), }";
        int unpadded = MAGIC.length + 2 + 2 + dict.length() + 1;
        int pad = (ALIGN - unpadded % ALIGN) % ALIGN;
        int headerLen = dict.length() + pad + 1;
        if (headerLen > 0xffff) {
            throw new IllegalArgumentException("npy v1.0 header too long for shape " + Arrays.toString(shape));
        }
        ByteBuffer b = ByteBuffer.allocate(unpadded + pad).order(ByteOrder.LITTLE_ENDIAN);
        b.put(MAGIC).put((byte) 1).put((byte) 0).putShort((short) headerLen);
        b.put(dict.getBytes(StandardCharsets.ISO_8859_1));
        for (int i = 0; i < pad; i++) {
            b.put((byte) ' ');
        }
        b.put((byte) '\n');
        return b.array();
    }

    /** Reads a C-order array of any supported dtype, converting values to float. */
    public static NpyArray read(Path file) {
        Objects.requireNonNull(file, "file");
        try (FileChannel ch = openForRead(file)) {
            Header h = readHeader(ch, file);
            float[] data = new float[h.checkedCount(file)];
            switch (h.descr) {
                case "<f4" -> readChunks(ch, h, file, (buf, off, n) -> buf.asFloatBuffer().get(data, off, n));
                case "<f8" -> readChunks(ch, h, file, (buf, off, n) -> {
                    DoubleBuffer v = buf.asDoubleBuffer();
                    for (int i = 0; i < n; i++) {
                        data[off + i] = (float) v.get(i);
                    }
                });
                case "<i4" -> readChunks(ch, h, file, (buf, off, n) -> {
                    IntBuffer v = buf.asIntBuffer();
                    for (int i = 0; i < n; i++) {
                        data[off + i] = v.get(i);
                    }
                });
                case "<i8" -> readChunks(ch, h, file, (buf, off, n) -> {
                    LongBuffer v = buf.asLongBuffer();
                    for (int i = 0; i < n; i++) {
                        data[off + i] = v.get(i);
                    }
                });
                case "|u1" -> readChunks(ch, h, file, (buf, off, n) -> {
                    for (int i = 0; i < n; i++) {
                        data[off + i] = buf.get(i) & 0xff;
                    }
                });
                default -> throw new AssertionError(h.descr);
            }
            return new NpyArray(h.shape, data);
        } catch (IOException e) {
            throw new UncheckedIOException("could not read " + file + ": " + e, e);
        }
    }

    private static FileChannel openForRead(Path file) throws IOException {
        try {
            return FileChannel.open(file, StandardOpenOption.READ);
        } catch (NoSuchFileException e) {
            throw new DataFormatException(".npy file not found: " + file);
        }
    }

    private record Header(String descr, int[] shape, int itemSize, long dataOffset) {
        String shapeString() {
            return Arrays.toString(shape).replace('[', '(').replace(']', ')');
        }

        DataFormatException error(Path file, String what) {
            return new DataFormatException(".npy file " + file + ": " + what);
        }

        int checkedCount(Path file) {
            long n = count();
            if (n > MAX_ARRAY) {
                throw error(file, "shape " + shapeString() + " has " + n + " elements, more than a Java array holds");
            }
            return (int) n;
        }

        /** Elements; ArithmeticException when the declared shape overflows a long. */
        long count() {
            for (int d : shape) {
                if (d == 0) return 0;
            }
            long n = 1;
            for (int d : shape) {
                n = Math.multiplyExact(n, d);
            }
            return n;
        }
    }

    private static Header readHeader(FileChannel ch, Path file) throws IOException {
        ByteBuffer pre = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN);
        readUpTo(ch, pre, 10);
        pre.flip();
        byte[] magic = new byte[Math.min(MAGIC.length, pre.remaining())];
        pre.get(magic);
        if (!Arrays.equals(magic, MAGIC)) {
            throw new DataFormatException(".npy file " + file + ": not a .npy file (missing \\x93NUMPY magic; file has "
                    + ch.size() + " bytes)");
        }
        if (pre.remaining() < 4) {
            throw new DataFormatException(".npy file " + file + ": truncated header");
        }
        int major = pre.get() & 0xff;
        int minor = pre.get() & 0xff;
        long headerLen;
        int prefix;
        if (major == 1) {
            headerLen = pre.getShort() & 0xffff;
            prefix = 10;
        } else if (major == 2 || major == 3) {
            pre.limit(12).position(10);
            ch.position(10);
            readUpTo(ch, pre, 2);
            if (pre.position() < 12) {
                throw new DataFormatException(".npy file " + file + ": truncated header");
            }
            pre.position(8);
            headerLen = pre.getInt() & 0xffffffffL;
            prefix = 12;
        } else {
            throw new DataFormatException(".npy file " + file + ": unsupported format version " + major + "."
                    + minor);
        }
        if (headerLen > 1 << 20) {
            throw new DataFormatException(".npy file " + file + ": implausible header length " + headerLen);
        }
        if (prefix + headerLen > ch.size()) { // checked before allocating: the field is the file's word, not its size
            throw new DataFormatException(".npy file " + file + ": truncated header (header length field says " + headerLen
                    + " bytes after the " + prefix + "-byte prefix, the file has " + ch.size() + " bytes)");
        }
        ByteBuffer hb = ByteBuffer.allocate((int) headerLen);
        ch.position(prefix);
        readUpTo(ch, hb, (int) headerLen);
        if (hb.hasRemaining()) {
            throw new DataFormatException(".npy file " + file + ": truncated header (expected " + headerLen
                    + " bytes after the prefix, found " + hb.position() + ")");
        }
        String dict = new String(hb.array(), major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
        return parseHeader(dict, prefix + headerLen, ch.size(), file);
    }

    private static Header parseHeader(String dict, long dataOffset, long fileSize, Path file) {
        String where = ".npy file " + file + ": ";
        // quoted in messages: control characters (a damaged header's line breaks) would split the one-line error
        String shown = dict.replaceAll("\\p{Cntrl}", " ").trim();
        if (shown.length() > 300) shown = shown.substring(0, 300) + "...";
        Matcher m = DESCR.matcher(dict);
        if (!m.find()) {
            throw new DataFormatException(where + "unsupported dtype in header " + shown
                    + " (supported: " + SUPPORTED + ")");
        }
        String descr = m.group(1);
        int itemSize = switch (descr) {
            case "<f4", "<i4" -> 4;
            case "<f8", "<i8" -> 8;
            case "|u1" -> 1;
            default -> throw new DataFormatException(where + "unsupported dtype '" + descr + "' (supported: "
                    + SUPPORTED + (descr.startsWith(">") ? "; big-endian data must be converted with "
                    + "a.astype(a.dtype.newbyteorder('<'))" : "") + ")");
        };
        Matcher f = FORTRAN.matcher(dict);
        if (!f.find()) {
            throw new DataFormatException(where + "header has no fortran_order: " + shown);
        }
        if (f.group(1).equals("True")) {
            throw new DataFormatException(where + "fortran_order=True is not supported; save a C-ordered array "
                    + "(np.save(path, np.ascontiguousarray(a)))");
        }
        Matcher s = SHAPE.matcher(dict);
        if (!s.find()) {
            throw new DataFormatException(where + "header has no shape: " + shown);
        }
        String[] parts = s.group(1).split(",");
        int[] shape = Arrays.stream(parts).map(String::trim).filter(p -> !p.isEmpty()).mapToInt(p -> {
            try {
                return Integer.parseInt(p.endsWith("L") ? p.substring(0, p.length() - 1) : p);
            } catch (NumberFormatException e) {
                throw new DataFormatException(where + "bad dimension '" + p + "' in shape (" + s.group(1) + ")");
            }
        }).toArray();
        for (int d : shape) {
            if (d < 0) {
                throw new DataFormatException(where + "negative dimension in shape (" + s.group(1) + ")");
            }
        }
        Header h = new Header(descr, shape, itemSize, dataOffset);
        long expected;
        try {
            expected = Math.addExact(dataOffset, Math.multiplyExact(h.count(), itemSize));
        } catch (ArithmeticException e) {
            throw h.error(file, "shape " + h.shapeString() + " declares more data than any file holds (the file has "
                    + fileSize + " bytes)");
        }
        if (fileSize < expected) {
            throw h.error(file, "truncated: shape " + h.shapeString() + " of " + descr + " needs " + expected
                    + " bytes but the file has " + fileSize);
        }
        if (fileSize > expected) {
            throw h.error(file, (fileSize - expected) + " unexpected trailing bytes after the " + expected
                    + " bytes described by the header (shape " + h.shapeString() + ", " + descr + ")");
        }
        return h;
    }

    /** Reads until {@code buf} holds {@code want} more bytes or the file ends. */
    private static void readUpTo(FileChannel ch, ByteBuffer buf, int want) throws IOException {
        int end = buf.position() + want;
        int oldLimit = buf.limit();
        buf.limit(end);
        while (buf.hasRemaining()) {
            if (ch.read(buf) < 0) {
                break;
            }
        }
        buf.limit(oldLimit);
    }

    @FunctionalInterface
    private interface ChunkSink {
        /** {@code buf} is little-endian, positioned at 0, holding exactly {@code n} elements for index {@code off}. */
        void accept(ByteBuffer buf, int off, int n);
    }

    private static void readChunks(FileChannel ch, Header h, Path file, ChunkSink sink) throws IOException {
        long total = h.count();
        int perChunk = CHUNK / h.itemSize;
        ByteBuffer buf = ByteBuffer.allocate(perChunk * h.itemSize).order(ByteOrder.LITTLE_ENDIAN);
        ch.position(h.dataOffset);
        for (long off = 0; off < total; ) {
            int n = (int) Math.min(perChunk, total - off);
            buf.clear();
            readUpTo(ch, buf, n * h.itemSize);
            if (buf.position() < n * h.itemSize) {
                throw h.error(file, "file shrank while reading");
            }
            buf.flip();
            sink.accept(buf, (int) off, n);
            off += n;
        }
    }

    /**
     * Streams a 2-D {@code <f4} array of a known final shape to disk, for data too large for memory. Rows go to
     * a temp file that becomes the target only when {@link #close()} sees exactly {@code rows} rows.
     */
    public static final class Writer implements AutoCloseable {
        private final Path target;
        private final Path tmp;
        /** Rows declared at open (the header's length was laid out for them). */
        private final int declared;
        private int rows;
        private final int cols;
        private final FileChannel ch;
        private final ByteBuffer buf = ByteBuffer.allocateDirect(CHUNK).order(ByteOrder.LITTLE_ENDIAN);
        private long rowsWritten;
        private boolean finished;
        private boolean failed;

        private Writer(Path target, Path tmp, int rows, int cols, FileChannel ch) {
            this.target = target;
            this.tmp = tmp;
            this.declared = rows;
            this.rows = rows;
            this.cols = cols;
            this.ch = ch;
        }

        /** Starts writing {@code file} with final shape (rows, cols); nothing appears at {@code file} until close. */
        public static Writer open(Path file, int rows, int cols) {
            Objects.requireNonNull(file, "file");
            if (rows < 0 || cols < 0) {
                throw new IllegalArgumentException("negative shape (" + rows + ", " + cols + ")");
            }
            byte[] header = header("<f4", rows, cols);
            Path tmp = AtomicFiles.createTemp(file);
            FileChannel ch = null;
            try {
                ch = FileChannel.open(tmp, StandardOpenOption.WRITE);
                ByteBuffer hb = ByteBuffer.wrap(header);
                while (hb.hasRemaining()) {
                    ch.write(hb);
                }
                return new Writer(file, tmp, rows, cols, ch);
            } catch (IOException e) {
                closeQuietly(ch);
                AtomicFiles.deleteQuietly(tmp);
                throw new UncheckedIOException("could not start writing " + file + ": " + e, e);
            }
        }

        public int rows() {
            return rows;
        }

        public int cols() {
            return cols;
        }

        /**
         * Lowers the row count the file will declare, for rows left out while writing (images that failed to decode);
         * the header is rewritten at close, padded to its original length so the data does not move.
         */
        public void declareRows(int newRows) {
            ensureOpen();
            if (newRows < rowsWritten || newRows > declared) {
                throw new IllegalArgumentException("cannot declare " + newRows + " rows for " + target + ": " + rowsWritten
                        + " written, " + declared + " declared at open");
            }
            rows = newRows;
        }

        /** Appends the first {@code nRows} rows of a row-major block. */
        public void writeRows(float[] block, int nRows) {
            ensureOpen();
            long n = (long) nRows * cols;
            if (nRows < 0 || n > block.length) {
                throw new IllegalArgumentException(nRows + " rows of " + cols + " need " + n
                        + " values but the block has " + block.length);
            }
            if (rowsWritten + nRows > rows) {
                throw new IllegalStateException("writing " + nRows + " more rows to " + target + " would exceed the "
                        + "declared " + rows + " rows (already wrote " + rowsWritten + ")");
            }
            try {
                put(block, (int) n);
            } catch (IOException e) {
                failed = true;
                throw new UncheckedIOException("could not write to " + tmp + " (for " + target + "): " + e, e);
            }
            rowsWritten += nRows;
        }

        private void put(float[] src, int len) throws IOException {
            int off = 0;
            while (off < len) {
                if (buf.remaining() < Float.BYTES) {
                    drain();
                }
                int n = Math.min(len - off, buf.remaining() / Float.BYTES);
                buf.asFloatBuffer().put(src, off, n);
                buf.position(buf.position() + n * Float.BYTES);
                off += n;
            }
        }

        private void drain() throws IOException {
            buf.flip();
            while (buf.hasRemaining()) {
                ch.write(buf);
            }
            buf.clear();
        }

        private void ensureOpen() {
            if (finished) {
                throw new IllegalStateException("writer for " + target + " is already closed or aborted");
            }
        }

        /** Discards everything written so far; the target is not created or changed. Idempotent. */
        public void abort() {
            if (finished) {
                return;
            }
            finished = true;
            closeQuietly(ch);
            AtomicFiles.deleteQuietly(tmp);
        }

        /**
         * Publishes the file if exactly {@code rows} rows were written; otherwise deletes the temp file and throws
         * IllegalStateException. Does nothing after a previous close or abort.
         */
        @Override
        public void close() {
            if (finished) {
                return;
            }
            if (failed || rowsWritten != rows) {
                abort();
                throw new IllegalStateException((failed ? "an earlier write failed; " : "")
                        + "wrote " + rowsWritten + " of " + rows + " declared rows; " + target + " was not created");
            }
            finished = true;
            try {
                drain();
                if (rows != declared) {
                    ByteBuffer hb = ByteBuffer.wrap(paddedHeader("<f4", header("<f4", declared, cols).length, rows, cols));
                    long pos = 0;
                    while (hb.hasRemaining()) pos += ch.write(hb, pos);
                }
                ch.force(true);
                ch.close();
                AtomicFiles.commit(tmp, target);
            } catch (IOException e) {
                closeQuietly(ch);
                AtomicFiles.deleteQuietly(tmp);
                throw new UncheckedIOException("could not finish writing " + target + ": " + e, e);
            }
        }

        private static void closeQuietly(FileChannel ch) {
            if (ch != null) {
                try {
                    ch.close();
                } catch (IOException ignored) {
                    // the temp file is deleted next; nothing useful to report
                }
            }
        }
    }
}
