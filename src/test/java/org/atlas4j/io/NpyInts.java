package org.atlas4j.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

/** Writes {@code <i4} .npy files for reader tests (the application itself writes only floats). */
final class NpyInts {
    private NpyInts() {
    }

    /** A 1-D {@code <i4} array. */
    static void writeInt32(Path file, int[] data) throws IOException {
        byte[] header = Npy.header("<i4", data.length);
        ByteBuffer all = ByteBuffer.allocate(header.length + 4 * data.length).order(ByteOrder.LITTLE_ENDIAN);
        all.put(header);
        for (int v : data) all.putInt(v);
        Files.write(file, all.array());
    }
}
