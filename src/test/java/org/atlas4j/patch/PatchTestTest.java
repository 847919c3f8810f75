package org.atlas4j.patch;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;

import org.atlas4j.TinyNets;
import org.atlas4j.model.NetGraph;
import org.atlas4j.model.SameDiffConverter;
import org.atlas4j.util.Progress;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;

@org.atlas4j.UnitTest
class PatchTestTest {
    @Test
    void cornersAndSizes() {
        assertArrayEquals(new int[] {0, 0}, PatchTest.origin(PatchTest.Corner.TOP_LEFT, 6, 28, 28));
        assertArrayEquals(new int[] {0, 22}, PatchTest.origin(PatchTest.Corner.TOP_RIGHT, 6, 28, 28));
        assertArrayEquals(new int[] {22, 0}, PatchTest.origin(PatchTest.Corner.BOTTOM_LEFT, 6, 28, 28));
        assertArrayEquals(new int[] {22, 22}, PatchTest.origin(PatchTest.Corner.BOTTOM_RIGHT, 6, 28, 28));
        assertEquals(6, PatchTest.side(0.2, 28));
        assertEquals(11, PatchTest.side(0.4, 28));
        assertEquals(20, PatchTest.side(0.7, 28));
        assertEquals(1, PatchTest.side(0.001, 28));
        assertEquals(28, PatchTest.side(2.0, 28));
    }

    @Test
    void pasteWritesExactlyThePatchSquare() {
        int h = 5;
        int w = 6;
        float[] img = new float[2 * h * w];
        float[] patch = new float[2 * 2 * 2];
        for (int i = 0; i < patch.length; i++) patch[i] = i + 1;
        int[] o = PatchTest.origin(PatchTest.Corner.BOTTOM_RIGHT, 2, h, w);
        PatchTest.paste(img, 2, h, w, patch, 2, o[0], o[1]);
        int written = 0;
        for (float v : img) if (v != 0) written++;
        assertEquals(8, written);
        assertEquals(1f, img[(0 * h + 3) * w + 4]);
        assertEquals(4f, img[(0 * h + 4) * w + 5]);
        assertEquals(5f, img[(1 * h + 3) * w + 4]);
    }

    @Test
    void resizeToTheSameSizeIsTheIdentity() {
        float[] src = new float[3 * 4 * 4];
        for (int i = 0; i < src.length; i++) src[i] = i * 0.01f;
        assertArrayEquals(src, PatchTest.resize(src, 3, 4, 4, 4), 1e-6f);
    }

    @Test
    void reportHasTheIconAndBothControlsForEverySizeAndCorner(@TempDir Path dir) {
        Progress.setQuiet(true);
        NetGraph g = SameDiffConverter.convert(TinyNets.cnn(4, DataType.FLOAT), new int[] {1, 9, 9});
        var data = new TinyNets.RandomImages(30, 1, 9, 9, 2, 0);
        int[] imgs = new int[20];
        for (int i = 0; i < imgs.length; i++) imgs[i] = i;
        float[] icon = new float[9 * 9];
        java.util.Arrays.fill(icon, 1f);
        float[] realB = new float[81];
        data.copyImage(25, realB, 0);
        double[] sizes = {0.2, 0.7};
        var r = PatchTest.run(g, data, imgs, 1, icon, 9, realB, sizes, 1, "a", "b");
        assertEquals(2 * 4 * 3, r.rows().size());
        for (String kind : new String[] {"icon", "noise", "real image of b"}) {
            assertEquals(8, r.rows().stream().filter(x -> x.patch().equals(kind)).count(), kind);
        }
        for (var row : r.rows()) assertTrue(row.flipRate() >= 0 && row.flipRate() <= 1);
        PatchTest.write(r, sizes, dir);
        assertTrue(Files.exists(dir.resolve("patch-test.svg")) && Files.exists(dir.resolve("patch-test.txt")));
    }
}
