package org.atlas4j.io;

import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Objects;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;

/**
 * Reads IDX files (the MNIST / Fashion-MNIST format), plain or gzipped. Gzip is detected by its magic bytes
 * {@code 1f 8b}, not by the file name, because downloaded copies are often renamed or unpacked.
 */
public final class IdxReader {
    /** unsigned byte, 1 dimension. */
    static final int LABELS_MAGIC = 0x00000801;
    /** unsigned byte, 3 dimensions. */
    static final int IMAGES_MAGIC = 0x00000803;

    private static final int BUFFER = 1 << 16;
    /** Largest Java byte[] that is safe to allocate on common JVMs. */
    private static final long MAX_ARRAY = Integer.MAX_VALUE - 8;

    private IdxReader() {
    }

    /** Images as stored: row-major unsigned bytes, image {@code i} at offset {@code i * rows * cols}. */
    public record IdxImages(int count, int rows, int cols, byte[] pixels) {
        public IdxImages {
            Objects.requireNonNull(pixels, "pixels");
            if (count < 0 || rows < 0 || cols < 0) {
                throw new IllegalArgumentException("negative dimension: " + count + "x" + rows + "x" + cols);
            }
            if ((long) count * rows * cols != pixels.length) {
                throw new IllegalArgumentException("pixels has " + pixels.length + " bytes but " + count + "x" + rows
                        + "x" + cols + " images need " + (long) count * rows * cols);
            }
        }

        /** Image {@code i} as floats 0..255 (unscaled: callers choose their own normalisation). */
        public float[] image(int i) {
            Objects.checkIndex(i, count);
            int n = rows * cols;
            int base = i * n;
            float[] out = new float[n];
            for (int k = 0; k < n; k++) {
                out[k] = pixels[base + k] & 0xff;
            }
            return out;
        }

        @Override
        public String toString() {
            return "IdxImages[" + count + "x" + rows + "x" + cols + "]";
        }
    }

    /** Reads an IDX3 unsigned-byte images file (magic 0x00000803). */
    public static IdxImages readImages(Path file) {
        Objects.requireNonNull(file, "file");
        try (Source src = Source.open(file, "images")) {
            src.expectMagic(IMAGES_MAGIC, 16);
            int count = src.readDim("image count");
            int rows = src.readDim("rows");
            int cols = src.readDim("cols");
            String what = count + "x" + rows + "x" + cols + " pixels";
            long n;
            try { // three int dimensions can overflow a long, and a wrapped product looked small enough to allocate
                n = Math.multiplyExact(Math.multiplyExact((long) count, rows), cols);
            } catch (ArithmeticException e) {
                throw src.error(what + " is more than any file holds");
            }
            src.checkSize(n, what);
            byte[] pixels = src.readPayload(n);
            src.expectEnd();
            return new IdxImages(count, rows, cols, pixels);
        } catch (IOException e) {
            throw unexpected(file, e);
        }
    }

    /** Reads an IDX1 unsigned-byte labels file (magic 0x00000801); values are 0..255. */
    public static int[] readLabels(Path file) {
        Objects.requireNonNull(file, "file");
        try (Source src = Source.open(file, "labels")) {
            src.expectMagic(LABELS_MAGIC, 8);
            int count = src.readDim("label count");
            src.checkSize(count, count + " labels");
            byte[] raw = src.readPayload(count);
            src.expectEnd();
            int[] labels = new int[count];
            for (int i = 0; i < count; i++) {
                labels[i] = raw[i] & 0xff;
            }
            return labels;
        } catch (IOException e) {
            throw unexpected(file, e);
        }
    }

    private static RuntimeException unexpected(Path file, IOException e) {
        if (e instanceof ZipException) {
            return new DataFormatException("IDX file " + file + ": corrupt gzip data (" + e.getMessage() + ")", e);
        }
        return new UncheckedIOException("could not read IDX file " + file + ": " + e, e);
    }

    /** Human description of an IDX magic number, for error messages. */
    static String describeMagic(int magic) {
        if (magic == LABELS_MAGIC) {
            return "IDX labels, 1-D unsigned bytes";
        }
        if (magic == IMAGES_MAGIC) {
            return "IDX images, 3-D unsigned bytes";
        }
        if ((magic >>> 16) == 0) {
            String type = switch ((magic >>> 8) & 0xff) {
                case 0x08 -> "unsigned byte";
                case 0x09 -> "signed byte";
                case 0x0B -> "short";
                case 0x0C -> "int";
                case 0x0D -> "float";
                case 0x0E -> "double";
                default -> null;
            };
            if (type != null) {
                return "IDX " + type + " data with " + (magic & 0xff) + " dimension(s)";
            }
        }
        return "not an IDX file";
    }

    /** A counting stream over the (decompressed) file that turns early EOF into a precise truncation error. */
    private static final class Source implements AutoCloseable {
        private final Path file;
        private final String kind;
        private final boolean gzip;
        private final InputStream in;
        private long consumed;
        private long expectedTotal = -1;
        private String expectedWhat;

        /** Bytes of a plain file (-1 for gzip, whose decompressed size only reading tells). */
        private final long fileSize;

        private Source(Path file, String kind, boolean gzip, InputStream in) throws IOException {
            this.file = file;
            this.kind = kind;
            this.gzip = gzip;
            this.in = in;
            this.fileSize = gzip ? -1 : Files.size(file);
        }

        static Source open(Path file, String kind) throws IOException {
            InputStream raw;
            try {
                raw = new BufferedInputStream(Files.newInputStream(file), BUFFER);
            } catch (NoSuchFileException e) {
                throw new DataFormatException("IDX " + kind + " file not found: " + file);
            }
            try {
                raw.mark(2);
                int b0 = raw.read();
                int b1 = raw.read();
                raw.reset();
                if (b0 == 0x1f && b1 == 0x8b) {
                    try {
                        // not wrapped in a BufferedInputStream: that would drop already-inflated bytes when the
                        // stream ends early, making the "found" count in truncation messages wrong
                        return new Source(file, kind, true, new GZIPInputStream(raw, BUFFER));
                    } catch (EOFException e) {
                        throw new Source(file, kind, true, raw).error("truncated gzip header");
                    }
                }
                return new Source(file, kind, false, raw);
            } catch (IOException | RuntimeException e) {
                raw.close();
                throw e;
            }
        }

        DataFormatException error(String what) {
            return new DataFormatException("IDX " + kind + " file " + file + (gzip ? " (gzip)" : "") + ": " + what);
        }

        void expectMagic(int expected, int headerBytes) throws IOException {
            expectedTotal = headerBytes;
            expectedWhat = headerBytes + "-byte header";
            int magic = readInt();
            if (magic == expected) {
                return;
            }
            String msg = String.format("wrong magic number 0x%08X (%s), expected 0x%08X (%s)",
                    magic, describeMagic(magic), expected, describeMagic(expected));
            if (expected == IMAGES_MAGIC && magic == LABELS_MAGIC) {
                msg += "; this looks like a labels file given where an images file is expected";
            } else if (expected == LABELS_MAGIC && magic == IMAGES_MAGIC) {
                msg += "; this looks like an images file given where a labels file is expected";
            }
            throw error(msg);
        }

        int readDim(String name) throws IOException {
            int v = readInt();
            if (v < 0) {
                throw error("negative " + name + " " + v + " in header");
            }
            return v;
        }

        void checkSize(long payload, String what) {
            if (payload > MAX_ARRAY) {
                throw error(what + " is " + payload + " bytes, more than a Java array can hold");
            }
            expectedTotal = consumed + payload;
            expectedWhat = consumed + "-byte header + " + what;
            if (fileSize >= 0 && expectedTotal > fileSize) { // before allocating what the header declares
                throw truncated(fileSize);
            }
        }

        /**
         * The {@code n} payload bytes the header declared (already checked against a plain file's size). A gzip
         * stream's size is known only by inflating it, so its buffer grows with the data actually there: a
         * header declaring 2 GB over a few bytes fails as truncated without allocating 2 GB.
         */
        byte[] readPayload(long n) throws IOException {
            if (!gzip) {
                byte[] b = new byte[(int) n];
                readFully(b);
                return b;
            }
            byte[] b = new byte[(int) Math.min(n, BUFFER)];
            int filled = 0;
            while (filled < n) {
                if (filled == b.length) b = java.util.Arrays.copyOf(b, (int) Math.min(n, 2L * b.length));
                int r;
                try {
                    r = in.read(b, filled, b.length - filled);
                } catch (EOFException e) {
                    r = -1;
                }
                if (r < 0) throw truncated(consumed + filled);
                filled += r;
            }
            consumed += filled;
            return b;
        }

        private int readInt() throws IOException {
            byte[] b = new byte[4];
            readFully(b);
            return ((b[0] & 0xff) << 24) | ((b[1] & 0xff) << 16) | ((b[2] & 0xff) << 8) | (b[3] & 0xff);
        }

        void readFully(byte[] dst) throws IOException {
            int off = 0;
            while (off < dst.length) {
                int n;
                try {
                    n = in.read(dst, off, dst.length - off);
                } catch (EOFException e) {
                    n = -1; // GZIPInputStream: compressed stream cut short
                }
                if (n < 0) {
                    throw truncated(consumed + off);
                }
                off += n;
            }
            consumed += off;
        }

        private DataFormatException truncated(long found) {
            return error("truncated: expected " + expectedTotal + " " + (gzip ? "decompressed " : "") + "bytes ("
                    + expectedWhat + ") but found only " + found);
        }

        /** Extra bytes mean the header does not describe the file, so the data cannot be trusted either. */
        void expectEnd() throws IOException {
            long extra;
            try {
                extra = in.transferTo(OutputStream.nullOutputStream());
            } catch (EOFException e) {
                throw error("truncated gzip stream (missing end of compressed data or trailer) after " + consumed
                        + " decompressed bytes");
            }
            if (extra > 0) {
                throw error(extra + " unexpected trailing " + (gzip ? "decompressed " : "") + "bytes after the "
                        + expectedTotal + " bytes described by the header (" + expectedWhat + ")");
            }
        }

        @Override
        public void close() throws IOException {
            in.close();
        }
    }
}
