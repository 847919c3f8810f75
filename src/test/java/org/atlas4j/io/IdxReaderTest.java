package org.atlas4j.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.GZIPOutputStream;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

@org.atlas4j.UnitTest
class IdxReaderTest {
    private static final Path FASHION = Path.of("/usr/share/datasets/fashion-mnist");

    @TempDir
    Path dir;

    static byte[] idx(int magic, int[] dims, byte[] data) {
        ByteBuffer b = ByteBuffer.allocate(4 + 4 * dims.length + data.length); // big-endian by default
        b.putInt(magic);
        for (int d : dims) {
            b.putInt(d);
        }
        b.put(data);
        return b.array();
    }

    static byte[] gzip(byte[] raw) throws IOException {
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(bos)) {
            gz.write(raw);
        }
        return bos.toByteArray();
    }

    private Path file(String name, byte[] content) throws IOException {
        Path p = dir.resolve(name);
        Files.write(p, content);
        return p;
    }

    private static byte[] pixels(int n) {
        byte[] px = new byte[n];
        for (int i = 0; i < n; i++) {
            px[i] = (byte) (i * 37 + 5); // covers values above 127
        }
        return px;
    }

    private static void assertOneLineNaming(Exception e, Path file) {
        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void imagesRoundTrip(boolean gz) throws IOException {
        byte[] px = pixels(3 * 2 * 4);
        byte[] raw = idx(IdxReader.IMAGES_MAGIC, new int[] {3, 2, 4}, px);
        // deliberately misleading names: detection is by magic bytes
        Path f = file(gz ? "images.idx" : "images.gz", gz ? gzip(raw) : raw);
        IdxReader.IdxImages im = IdxReader.readImages(f);
        assertEquals(3, im.count());
        assertEquals(2, im.rows());
        assertEquals(4, im.cols());
        assertArrayEquals(px, im.pixels());
        float[] img1 = im.image(1);
        assertEquals(8, img1.length);
        for (int k = 0; k < 8; k++) {
            assertEquals(px[8 + k] & 0xff, img1[k]);
        }
        assertEquals(px[2 * 8 + 1 * 4 + 3] & 0xff, im.image(2)[1 * 4 + 3]);
        assertTrue(Arrays.stream(new int[] {0, 1, 2}).anyMatch(i -> {
            for (float v : im.image(i)) {
                if (v > 127) {
                    return true;
                }
            }
            return false;
        }), "test data should contain unsigned values > 127");
        assertThrows(IndexOutOfBoundsException.class, () -> im.image(3));
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void labelsRoundTrip(boolean gz) throws IOException {
        byte[] labels = {0, 9, 3, (byte) 200, 7};
        byte[] raw = idx(IdxReader.LABELS_MAGIC, new int[] {5}, labels);
        Path f = file("labels", gz ? gzip(raw) : raw);
        assertArrayEquals(new int[] {0, 9, 3, 200, 7}, IdxReader.readLabels(f));
    }

    @Test
    void emptySetIsValid() throws IOException {
        Path f = file("empty", idx(IdxReader.LABELS_MAGIC, new int[] {0}, new byte[0]));
        assertEquals(0, IdxReader.readLabels(f).length);
    }

    @Test
    void missingFile() {
        Path f = dir.resolve("nope-idx3-ubyte.gz");
        DataFormatException e = assertThrows(DataFormatException.class, () -> IdxReader.readImages(f));
        assertOneLineNaming(e, f);
        assertTrue(e.getMessage().contains("not found"), e.getMessage());
    }

    @Test
    void wrongMagic() throws IOException {
        Path f = file("weird", idx(0x12345678, new int[] {1, 1, 1}, new byte[1]));
        DataFormatException e = assertThrows(DataFormatException.class, () -> IdxReader.readImages(f));
        assertOneLineNaming(e, f);
        assertTrue(e.getMessage().contains("0x12345678"), e.getMessage());
        assertTrue(e.getMessage().contains("expected 0x00000803"), e.getMessage());
    }

    @Test
    void labelsGivenToImagesReaderAndViceVersa() throws IOException {
        Path labels = file("labels.gz", gzip(idx(IdxReader.LABELS_MAGIC, new int[] {2}, new byte[] {1, 2})));
        Path images = file("images.gz", gzip(idx(IdxReader.IMAGES_MAGIC, new int[] {1, 2, 2}, new byte[4])));

        DataFormatException e = assertThrows(DataFormatException.class, () -> IdxReader.readImages(labels));
        assertOneLineNaming(e, labels);
        assertTrue(e.getMessage().contains("0x00000801"), e.getMessage());
        assertTrue(e.getMessage().contains("expected 0x00000803"), e.getMessage());
        assertTrue(e.getMessage().contains("looks like a labels file given where an images file is expected"),
                e.getMessage());

        e = assertThrows(DataFormatException.class, () -> IdxReader.readLabels(images));
        assertOneLineNaming(e, images);
        assertTrue(e.getMessage().contains("looks like an images file given where a labels file is expected"),
                e.getMessage());
    }

    @Test
    void truncatedPayloadPlain() throws IOException {
        byte[] full = idx(IdxReader.IMAGES_MAGIC, new int[] {3, 2, 4}, pixels(24));
        Path f = file("trunc", Arrays.copyOf(full, full.length - 4));
        DataFormatException e = assertThrows(DataFormatException.class, () -> IdxReader.readImages(f));
        assertOneLineNaming(e, f);
        assertTrue(e.getMessage().contains("expected 40 bytes"), e.getMessage());
        assertTrue(e.getMessage().contains("found only 36"), e.getMessage());
    }

    @Test
    void truncatedHeader() throws IOException {
        byte[] full = idx(IdxReader.IMAGES_MAGIC, new int[] {3, 2, 4}, pixels(24));
        Path f = file("short", Arrays.copyOf(full, 10));
        DataFormatException e = assertThrows(DataFormatException.class, () -> IdxReader.readImages(f));
        assertTrue(e.getMessage().contains("expected 16 bytes"), e.getMessage());
        assertTrue(e.getMessage().contains("found only 10"), e.getMessage());

        Path empty = file("empty", new byte[0]);
        e = assertThrows(DataFormatException.class, () -> IdxReader.readLabels(empty));
        assertTrue(e.getMessage().contains("found only 0"), e.getMessage());
    }

    @Test
    void truncatedGzipContent() throws IOException {
        // a complete gzip stream whose decompressed content is too short
        byte[] full = idx(IdxReader.LABELS_MAGIC, new int[] {100}, new byte[100]);
        Path f = file("short.gz", gzip(Arrays.copyOf(full, 58)));
        DataFormatException e = assertThrows(DataFormatException.class, () -> IdxReader.readLabels(f));
        assertOneLineNaming(e, f);
        assertTrue(e.getMessage().contains("expected 108 decompressed bytes"), e.getMessage());
        assertTrue(e.getMessage().contains("found only 58"), e.getMessage());
    }

    @Test
    void truncatedGzipStream() throws IOException {
        // the compressed file itself is cut off (an interrupted download)
        byte[] px = new byte[20 * 28 * 28];
        new java.util.Random(1).nextBytes(px);
        byte[] gz = gzip(idx(IdxReader.IMAGES_MAGIC, new int[] {20, 28, 28}, px));
        for (int cut : new int[] {5, gz.length / 2, gz.length - 4}) {
            Path f = file("cut" + cut + ".gz", Arrays.copyOf(gz, cut));
            DataFormatException e = assertThrows(DataFormatException.class, () -> IdxReader.readImages(f),
                    "cut at " + cut);
            assertOneLineNaming(e, f);
            assertTrue(e.getMessage().contains("truncated"), e.getMessage());
        }
    }

    @Test
    void trailingBytesRejected() throws IOException {
        byte[] full = idx(IdxReader.LABELS_MAGIC, new int[] {3}, new byte[] {1, 2, 3, 4, 5});
        Path f = file("long", full);
        DataFormatException e = assertThrows(DataFormatException.class, () -> IdxReader.readLabels(f));
        assertOneLineNaming(e, f);
        assertTrue(e.getMessage().contains("2 unexpected trailing bytes"), e.getMessage());
    }

    @Test
    void fashionMnistTestSet() {
        Path labelsFile = FASHION.resolve("t10k-labels-idx1-ubyte.gz");
        Path imagesFile = FASHION.resolve("t10k-images-idx3-ubyte.gz");
        Assumptions.assumeTrue(Files.isReadable(labelsFile), "Fashion-MNIST not installed at " + FASHION);
        int[] labels = IdxReader.readLabels(labelsFile);
        assertEquals(10_000, labels.length);
        int[] perClass = new int[10];
        for (int l : labels) {
            assertTrue(l >= 0 && l <= 9, "label " + l);
            perClass[l]++;
        }
        for (int c : perClass) {
            assertEquals(1000, c); // the Fashion-MNIST test set is balanced
        }
        Assumptions.assumeTrue(Files.isReadable(imagesFile));
        IdxReader.IdxImages images = IdxReader.readImages(imagesFile);
        assertEquals(10_000, images.count());
        assertEquals(28, images.rows());
        assertEquals(28, images.cols());
        assertEquals(10_000 * 28 * 28, images.pixels().length);
        float max = 0;
        for (float v : images.image(0)) {
            max = Math.max(max, v);
        }
        assertTrue(max > 127 && max <= 255, "max " + max);
    }
}
