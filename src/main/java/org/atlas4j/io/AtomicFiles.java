package org.atlas4j.io;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Writes files so that a reader (or a crashed run) never sees a half-written result: the data goes to
 * {@code .<name>.<random>.tmp} in the target's directory, is fsynced, then atomically renamed onto the target.
 */
public final class AtomicFiles {
    private static final int BUFFER = 1 << 16;
    /** Keeps {@code .<name>.<16 hex>.tmp} within the usual 255-byte file-name limit. */
    private static final int MAX_NAME_IN_TEMP = 200;

    private AtomicFiles() {
    }

    /** Like {@link java.util.function.Consumer} but allowed to throw {@link IOException}. */
    @FunctionalInterface
    public interface IOConsumer<T> {
        void accept(T t) throws IOException;
    }

    /**
     * Runs {@code writer} against a buffered stream on a temp file and moves it onto {@code target} only if the
     * writer returns normally. The writer may close the stream; that is harmless. On failure the temp file is
     * deleted, the target is left untouched, and the exception is rethrown (IOException as UncheckedIOException).
     */
    public static void write(Path target, IOConsumer<OutputStream> writer) {
        write(target, writer, true);
    }

    /**
     * Like {@link #write(Path, IOConsumer)} but without the two fsyncs: a crash of the process still never leaves a
     * partial file, only a power loss might. For many small outputs (thousands of overlays) whose completion is
     * marked by a later, durable file; the fsyncs cost more than the writing here.
     */
    public static void writeNoSync(Path target, IOConsumer<OutputStream> writer) {
        write(target, writer, false);
    }

    private static void write(Path target, IOConsumer<OutputStream> writer, boolean durable) {
        Objects.requireNonNull(target, "target");
        Objects.requireNonNull(writer, "writer");
        Path tmp = createTemp(target);
        boolean committed = false;
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                OutputStream out = new java.io.BufferedOutputStream(new ChannelOutputStream(ch), BUFFER);
                writer.accept(out);
                out.flush();
                if (durable) ch.force(true);
            }
            org.atlas4j.util.KillPoint.reached("write", target);
            commit(tmp, target, durable);
            committed = true;
        } catch (IOException e) {
            throw new UncheckedIOException("could not write " + target + ": " + e, e);
        } finally {
            if (!committed) {
                deleteQuietly(tmp);
            }
        }
    }

    /** Atomically writes {@code text} as UTF-8. */
    /** Deletes a folder and everything in it (nothing when it does not exist). */
    public static void deleteRecursively(Path p) throws IOException {
        if (!Files.exists(p)) return;
        try (var walk = Files.walk(p)) {
            for (Path q : walk.sorted(java.util.Comparator.reverseOrder()).toList()) Files.delete(q);
        }
    }

    public static void writeString(Path target, String text) {
        writeBytes(target, text.getBytes(StandardCharsets.UTF_8));
    }

    /** Atomically writes {@code bytes}. */
    public static void writeBytes(Path target, byte[] bytes) {
        Objects.requireNonNull(bytes, "bytes");
        write(target, out -> out.write(bytes));
    }

    /** Creates an empty, uniquely named temp file next to {@code target} (creating parent directories). */
    static Path createTemp(Path target) {
        Path abs = target.toAbsolutePath();
        Path dir = abs.getParent();
        String name = abs.getFileName().toString();
        if (name.length() > MAX_NAME_IN_TEMP) {
            name = name.substring(0, MAX_NAME_IN_TEMP);
        }
        try {
            Files.createDirectories(dir);
            for (int attempt = 0; ; attempt++) {
                String random = String.format("%016x", ThreadLocalRandom.current().nextLong());
                Path tmp = dir.resolve("." + name + "." + random + ".tmp");
                try {
                    return Files.createFile(tmp);
                } catch (FileAlreadyExistsException e) {
                    if (attempt >= 10) {
                        throw e;
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("could not create a temp file for " + target + " in " + dir + ": " + e, e);
        }
    }

    /** Moves a complete, fsynced temp file onto the target, replacing it. */
    static void commit(Path tmp, Path target) throws IOException {
        commit(tmp, target, true);
    }

    static void commit(Path tmp, Path target, boolean durable) throws IOException {
        Path abs = target.toAbsolutePath();
        try {
            Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            // Same directory, so this only happens on exotic file systems; a plain replace is the best available.
            Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING);
        }
        if (durable) fsyncDirectory(abs.getParent());
    }

    static void deleteQuietly(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException ignored) {
            // best effort: the original failure is what the caller needs to see
        }
    }

    /** Makes the rename itself durable on POSIX; not possible (and not needed) on Windows, hence ignored. */
    private static void fsyncDirectory(Path dir) {
        try (FileChannel dc = FileChannel.open(dir, StandardOpenOption.READ)) {
            dc.force(true);
        } catch (IOException | UnsupportedOperationException ignored) {
            // durability of the directory entry is best effort
        }
    }

    /** Unbuffered stream onto a channel whose close() is a no-op, so writers cannot close the channel early. */
    private static final class ChannelOutputStream extends OutputStream {
        private final FileChannel ch;

        ChannelOutputStream(FileChannel ch) {
            this.ch = ch;
        }

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            Objects.checkFromIndexSize(off, len, b.length);
            ByteBuffer buf = ByteBuffer.wrap(b, off, len);
            while (buf.hasRemaining()) {
                ch.write(buf);
            }
        }

        @Override
        public void close() {
            // the channel belongs to AtomicFiles.write
        }
    }
}
