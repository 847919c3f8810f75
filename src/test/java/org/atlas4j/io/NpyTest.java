package org.atlas4j.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@org.atlas4j.UnitTest
class NpyTest {
    @TempDir
    Path dir;

    private static float[] randomFloats(int n, long seed) {
        Random r = new Random(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) r.nextGaussian();
        }
        return a;
    }

    private List<String> names() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    /** Header length (magic..'\n') as found in the file. */
    private static int headerLength(byte[] file) {
        int len = (file[8] & 0xff) | (file[9] & 0xff) << 8;
        return 10 + len;
    }

    @Test
    void float2dRoundTrip() throws IOException {
        float[] data = randomFloats(3 * 5, 1);
        data[0] = Float.NaN;
        data[1] = Float.NEGATIVE_INFINITY;
        data[2] = -0f;
        Path f = dir.resolve("x.npy");
        Npy.writeFloat32(f, data, 3, 5);
        Npy.NpyArray a = Npy.read(f);
        assertArrayEquals(new int[] {3, 5}, a.shape());
        assertArrayEquals(data, a.data());
        assertEquals(3, a.rows());
        assertEquals(5, a.cols());
        assertArrayEquals(Arrays.copyOfRange(data, 5, 10), a.row(1));
        assertEquals(List.of("x.npy"), names());
    }

    @Test
    void oneDimensionalRoundTrips() throws IOException {
        float[] f = randomFloats(7, 2);
        Npy.writeFloat32(dir.resolve("f.npy"), f);
        Npy.NpyArray a = Npy.read(dir.resolve("f.npy"));
        assertArrayEquals(new int[] {7}, a.shape());
        assertArrayEquals(f, a.data());

        int[] ids = {0, -1, 1 << 24, -(1 << 24), 42};
        NpyInts.writeInt32(dir.resolve("i.npy"), ids);
        assertArrayEquals(new float[] {0, -1, 1 << 24, -(1 << 24), 42}, Npy.read(dir.resolve("i.npy")).data());

        Npy.writeFloat32(dir.resolve("empty.npy"), new float[0], 0, 4);
        assertArrayEquals(new int[] {0, 4}, Npy.read(dir.resolve("empty.npy")).shape());
    }

    @Test
    void headerFormat() throws IOException {
        for (int[] shape : new int[][] {{1}, {7}, {123456789}, {3, 4}, {70000, 128}, {0, 0}, {1000000000, 2}}) {
            byte[] h = shape.length == 1 ? Npy.header("<f4", shape[0]) : Npy.header("<f4", shape[0], shape[1]);
            assertEquals(0, h.length % 64, Arrays.toString(shape));
            assertEquals(h.length, headerLength(h));
            assertEquals((byte) 0x93, h[0]);
            assertEquals("NUMPY", new String(h, 1, 5, StandardCharsets.ISO_8859_1));
            assertEquals(1, h[6]);
            assertEquals(0, h[7]);
            assertEquals('\n', h[h.length - 1]);
            String dict = new String(h, 10, h.length - 10, StandardCharsets.ISO_8859_1);
            String dims = shape.length == 1 ? shape[0] + "," : shape[0] + ", " + shape[1];
            assertTrue(dict.startsWith("{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }"), dict);
            assertTrue(dict.trim().endsWith("}"));
        }
        Path f = dir.resolve("h.npy");
        Npy.writeFloat32(f, new float[12], 3, 4);
        byte[] bytes = Files.readAllBytes(f);
        assertEquals(0, headerLength(bytes) % 64);
        assertEquals(headerLength(bytes) + 48, bytes.length);
    }

    /** Builds a .npy file by hand for dtypes this class reads but does not write. */
    private Path rawNpy(String name, String descr, int[] shape, byte[] payload) throws IOException {
        long[] s = Arrays.stream(shape).asLongStream().toArray();
        byte[] h = Npy.header(descr, s);
        byte[] all = Arrays.copyOf(h, h.length + payload.length);
        System.arraycopy(payload, 0, all, h.length, payload.length);
        Path p = dir.resolve(name);
        Files.write(p, all);
        return p;
    }

    @Test
    void readsOtherDtypes() throws IOException {
        ByteBuffer f8 = ByteBuffer.allocate(6 * 8).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer i8 = ByteBuffer.allocate(6 * 8).order(ByteOrder.LITTLE_ENDIAN);
        byte[] u1 = new byte[6];
        float[] expectD = new float[6];
        float[] expectU = new float[6];
        for (int i = 0; i < 6; i++) {
            f8.putDouble(i * 0.25 - 1);
            expectD[i] = (float) (i * 0.25 - 1);
            i8.putLong(i * 1000L - 2);
            u1[i] = (byte) (i * 50);
            expectU[i] = (i * 50) & 0xff;
        }
        Npy.NpyArray d = Npy.read(rawNpy("d.npy", "<f8", new int[] {2, 3}, f8.array()));
        assertArrayEquals(new int[] {2, 3}, d.shape());
        assertArrayEquals(expectD, d.data());
        Path longs = rawNpy("l.npy", "<i8", new int[] {6}, i8.array());
        assertEquals(4998f, Npy.read(longs).data()[5]);
        assertArrayEquals(new float[] {-2, 998, 1998, 2998, 3998, 4998}, Npy.read(longs).data());
        assertArrayEquals(expectU, Npy.read(rawNpy("u.npy", "|u1", new int[] {3, 2}, u1)).data());
    }

    @Test
    void rejectsUnsupportedFiles() throws IOException {
        Path f = dir.resolve("fortran.npy");
        Npy.writeFloat32(f, new float[6], 2, 3);
        byte[] b = Files.readAllBytes(f);
        String s = new String(b, StandardCharsets.ISO_8859_1)
                .replace("'fortran_order': False", "'fortran_order': True "); // same length keeps the layout
        Files.write(f, s.getBytes(StandardCharsets.ISO_8859_1));
        DataFormatException e = assertThrows(DataFormatException.class, () -> Npy.read(f));
        assertTrue(e.getMessage().contains("fortran_order=True") && e.getMessage().contains("fortran.npy"),
                e.getMessage());

        Path be = rawNpy("be.npy", ">f4", new int[] {1}, new byte[4]);
        e = assertThrows(DataFormatException.class, () -> Npy.read(be));
        assertTrue(e.getMessage().contains("'>f4'") && e.getMessage().contains("big-endian"), e.getMessage());

        Path c8 = rawNpy("c.npy", "<c8", new int[] {1}, new byte[8]);
        e = assertThrows(DataFormatException.class, () -> Npy.read(c8));
        assertTrue(e.getMessage().contains("unsupported dtype '<c8'"), e.getMessage());

        Path notNpy = dir.resolve("text.npy");
        Files.writeString(notNpy, "hello");
        e = assertThrows(DataFormatException.class, () -> Npy.read(notNpy));
        assertTrue(e.getMessage().contains("not a .npy file"), e.getMessage());

        e = assertThrows(DataFormatException.class, () -> Npy.read(dir.resolve("missing.npy")));
        assertTrue(e.getMessage().contains("missing.npy"), e.getMessage());
    }

    @Test
    void truncatedAndOversizedFiles() throws IOException {
        Path f = dir.resolve("t.npy");
        Npy.writeFloat32(f, new float[20], 4, 5);
        byte[] b = Files.readAllBytes(f);
        Files.write(f, Arrays.copyOf(b, b.length - 3));
        DataFormatException e = assertThrows(DataFormatException.class, () -> Npy.read(f));
        assertTrue(e.getMessage().contains("truncated") && e.getMessage().contains("needs " + b.length)
                && e.getMessage().contains("has " + (b.length - 3)), e.getMessage());

        Files.write(f, Arrays.copyOf(b, b.length + 4));
        e = assertThrows(DataFormatException.class, () -> Npy.read(f));
        assertTrue(e.getMessage().contains("4 unexpected trailing bytes"), e.getMessage());

        Files.write(f, Arrays.copyOf(b, 30));
        e = assertThrows(DataFormatException.class, () -> Npy.read(f));
        assertTrue(e.getMessage().contains("truncated header"), e.getMessage());
    }

    @Test
    void streamingWriter10000Rows() throws IOException {
        int rows = 10_000;
        int cols = 33;
        float[] all = randomFloats(rows * cols, 3);
        Path f = dir.resolve("stream.npy");
        try (Npy.Writer w = Npy.Writer.open(f, rows, cols)) {
            assertFalse(Files.exists(f), "target must not appear before close");
            int r = 0;
            while (r < rows) {
                if (r % 3 == 0) {
                    w.writeRows(Arrays.copyOfRange(all, r * cols, (r + 1) * cols), 1);
                    r++;
                } else {
                    int n = Math.min(257, rows - r);
                    float[] block = Arrays.copyOfRange(all, r * cols, (r + n) * cols + (r + n < rows ? 5 : 0));
                    w.writeRows(block, n); // block may be longer than n rows
                    r += n;
                }
            }
        }
        Npy.NpyArray a = Npy.read(f);
        assertArrayEquals(new int[] {rows, cols}, a.shape());
        assertArrayEquals(all, a.data());
        assertEquals(List.of("stream.npy"), names());
    }

    @Test
    void wrongRowCountCreatesNoTarget() throws IOException {
        Path f = dir.resolve("short.npy");
        Npy.Writer w = Npy.Writer.open(f, 10, 4);
        for (int i = 0; i < 5; i++) {
            w.writeRows(new float[4], 1);
        }
        IllegalStateException e = assertThrows(IllegalStateException.class, w::close);
        assertTrue(e.getMessage().contains("wrote 5 of 10"), e.getMessage());
        assertEquals(List.of(), names());
        w.close(); // idempotent after failure
        assertThrows(IllegalStateException.class, () -> w.writeRows(new float[4], 1));
    }

    @Test
    void fewerRowsDeclaredBeforeCloseRewriteTheHeaderInPlace() throws IOException {
        for (int declared : new int[] {10, 1_000_000_000}) {
            Path f = dir.resolve("fewer" + declared + ".npy");
            int headerBytes = Npy.header("<f4", declared, 3).length;
            Npy.Writer w = Npy.Writer.open(f, declared, 3);
            float[] rows = new float[7 * 3];
            for (int i = 0; i < rows.length; i++) rows[i] = i * 0.5f;
            w.writeRows(rows, 7);
            assertThrows(IllegalArgumentException.class, () -> w.declareRows(6), "fewer than written");
            assertThrows(IllegalArgumentException.class, () -> w.declareRows(declared + 1), "more than declared");
            w.declareRows(7);
            w.close();
            Npy.NpyArray a = Npy.read(f);
            assertArrayEquals(new int[] {7, 3}, a.shape());
            assertArrayEquals(rows, a.data());
            assertEquals(headerBytes + 7 * 3 * 4, Files.size(f), "the data did not move");
            assertEquals(0, headerBytes % 64);
            String head = new String(Files.readAllBytes(f), 0, headerBytes, StandardCharsets.ISO_8859_1);
            assertTrue(head.contains("'shape': (7, 3), }") && head.endsWith(" \n"), head);
        }
    }

    @Test
    void exceptionInsideTryWithResourcesCreatesNoTargetAndKeepsOldFile() throws IOException {
        Path f = dir.resolve("keep.npy");
        Npy.writeFloat32(f, new float[] {1, 2}, 1, 2);
        RuntimeException boom = new RuntimeException("model crashed");
        RuntimeException thrown = assertThrows(RuntimeException.class, () -> {
            try (Npy.Writer w = Npy.Writer.open(f, 100, 2)) {
                w.writeRows(new float[] {3, 4}, 1);
                throw boom;
            }
        });
        assertEquals(boom, thrown);
        assertEquals(1, thrown.getSuppressed().length);
        assertTrue(thrown.getSuppressed()[0].getMessage().contains("wrote 1 of 100"));
        assertArrayEquals(new float[] {1, 2}, Npy.read(f).data());
        assertEquals(List.of("keep.npy"), names());
    }

    @Test
    void tooManyRowsAndBadArgumentsRejectedImmediately() throws IOException {
        Path f = dir.resolve("over.npy");
        try (Npy.Writer w = Npy.Writer.open(f, 2, 3)) {
            assertThrows(IllegalArgumentException.class, () -> w.writeRows(new float[2], 1));
            assertThrows(IllegalArgumentException.class, () -> w.writeRows(new float[5], 2));
            w.writeRows(new float[6], 2);
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> w.writeRows(new float[3], 1));
            assertTrue(e.getMessage().contains("declared 2 rows"), e.getMessage());
        }
        assertArrayEquals(new int[] {2, 3}, Npy.read(f).shape());
    }

    @Test
    void abortDeletesTemp() throws IOException {
        Path f = dir.resolve("aborted.npy");
        Npy.Writer w = Npy.Writer.open(f, 1, 1);
        w.writeRows(new float[] {1}, 1);
        assertEquals(1, names().size()); // the temp file
        w.abort();
        w.close(); // no-op after abort
        assertEquals(List.of(), names());
    }

    @Test
    void largeArrayRoundTripsBothWays() {
        // the demo's size: 70,000 × 128 (speed is measured by ./atlas bench, not asserted here)
        int rows = 70_000;
        int cols = 128;
        float[] data = randomFloats(rows * cols, 4);
        Path a = dir.resolve("bulk.npy");
        Path b = dir.resolve("streamed.npy");
        Npy.writeFloat32(a, data, rows, cols);
        try (Npy.Writer w = Npy.Writer.open(b, rows, cols)) {
            float[] row = new float[cols];
            for (int r = 0; r < rows; r++) {
                System.arraycopy(data, r * cols, row, 0, cols);
                w.writeRows(row, 1);
            }
        }
        assertArrayEquals(data, Npy.read(a).data());
        assertArrayEquals(data, Npy.read(b).data());
    }

    // ---- interoperability with real numpy, skipped when python3/numpy are missing ----

    private static boolean numpyAvailable() {
        try {
            Process p = new ProcessBuilder("python3", "-c", "import numpy").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private static List<String> python(String script, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("python3", "-c", script));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "python timed out");
        assertEquals(0, p.exitValue(), out);
        return out.lines().toList();
    }

    @Test
    void numpyLoadsWhatJavaWrites() throws Exception {
        Assumptions.assumeTrue(numpyAvailable(), "python3 with numpy not available");
        float[] m = randomFloats(1234 * 17, 5);
        Npy.writeFloat32(dir.resolve("m.npy"), m, 1234, 17);
        try (Npy.Writer w = Npy.Writer.open(dir.resolve("s.npy"), 1234, 17)) {
            w.writeRows(m, 1234);
        }
        float[] v = randomFloats(10, 6);
        Npy.writeFloat32(dir.resolve("v.npy"), v);
        int[] ids = {3, -7, 1 << 30};
        NpyInts.writeInt32(dir.resolve("i.npy"), ids);

        String script = "import sys, numpy as np\n"
                + "for p in sys.argv[1:]:\n"
                + "    a = np.load(p)\n"
                + "    assert a.flags.c_contiguous\n"
                + "    print(a.shape, a.dtype.str, repr(float(a.astype(np.float64).sum())))\n";
        List<String> out = python(script, Stream.of("m.npy", "s.npy", "v.npy", "i.npy")
                .map(n -> dir.resolve(n).toString()).toArray(String[]::new));
        assertEquals(4, out.size(), out.toString());
        double sumM = 0;
        for (float x : m) {
            sumM += x;
        }
        double sumV = 0;
        for (float x : v) {
            sumV += x;
        }
        assertLine(out.get(0), "(1234, 17) <f4", sumM);
        assertLine(out.get(1), "(1234, 17) <f4", sumM);
        assertLine(out.get(2), "(10,) <f4", sumV);
        assertLine(out.get(3), "(3,) <i4", 3 - 7 + (1 << 30));
    }

    private static void assertLine(String line, String prefix, double sum) {
        assertTrue(line.startsWith(prefix + " "), line);
        double pySum = Double.parseDouble(line.substring(prefix.length() + 1));
        assertEquals(sum, pySum, 1e-9 * Math.max(1, Math.abs(sum)), line);
    }

    @Test
    void javaReadsWhatNumpyWrites() throws Exception {
        Assumptions.assumeTrue(numpyAvailable(), "python3 with numpy not available");
        String script = "import sys, os, numpy as np\n"
                + "d = sys.argv[1]\n"
                + "a = np.arange(12).reshape(3, 4)\n"
                + "np.save(os.path.join(d, 'f4.npy'), (a * 0.5).astype('<f4'))\n"
                + "np.save(os.path.join(d, 'f8.npy'), a * 0.25)\n"
                + "np.save(os.path.join(d, 'i4.npy'), a.astype('<i4'))\n"
                + "np.save(os.path.join(d, 'i8.npy'), np.arange(5, dtype='<i8') - 2)\n"
                + "np.save(os.path.join(d, 'u1.npy'), (a * 20).astype('u1'))\n"
                + "np.save(os.path.join(d, 'fortran.npy'), np.asfortranarray(a.astype('<f4')))\n"
                + "np.save(os.path.join(d, 'big.npy'), np.zeros((70000, 3), dtype='<f4'))\n"
                + "print('ok')\n";
        assertEquals(List.of("ok"), python(script, dir.toString()));
        float[] base = new float[12];
        for (int i = 0; i < 12; i++) {
            base[i] = i;
        }
        check(dir.resolve("f4.npy"), new int[] {3, 4}, base, 0.5f);
        check(dir.resolve("f8.npy"), new int[] {3, 4}, base, 0.25f);
        check(dir.resolve("i4.npy"), new int[] {3, 4}, base, 1f);
        check(dir.resolve("u1.npy"), new int[] {3, 4}, base, 20f);
        assertArrayEquals(new float[] {-2, -1, 0, 1, 2}, Npy.read(dir.resolve("i8.npy")).data());
        assertArrayEquals(new int[] {70000, 3}, Npy.read(dir.resolve("big.npy")).shape());
        DataFormatException e = assertThrows(DataFormatException.class, () -> Npy.read(dir.resolve("fortran.npy")));
        assertTrue(e.getMessage().contains("fortran_order"), e.getMessage());
    }

    private static void check(Path f, int[] shape, float[] base, float scale) {
        Npy.NpyArray a = Npy.read(f);
        assertArrayEquals(shape, a.shape(), f.toString());
        for (int i = 0; i < base.length; i++) {
            assertEquals(base[i] * scale, a.data()[i], 0f, f + " [" + i + "]");
        }
    }
}
