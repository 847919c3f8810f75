package org.atlas4j.render;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.Random;

import javax.imageio.ImageIO;

import org.atlas4j.model.GraphCropTest;
import org.atlas4j.model.NetGraph;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Render through the native graph's receptive-field crop gives the icons the whole map gives: the objective reads the
 * layer's centre, and the crop computes exactly what that position depends on.
 */
@org.atlas4j.UnitTest
class RenderCropTest {
    static final int SIZE = 33;
    static final String LAYER = "mp";

    @Test
    void iconsAreTheSameWithAndWithoutTheCrop(@TempDir Path dir) throws Exception {
        NetGraph g = GraphCropTest.net(DataType.FLOAT, SIZE, SIZE, false);
        String v = g.layer(LAYER).variable();
        long[] map = g.forward(Nd4j.zeros(DataType.FLOAT, 1, 3, SIZE, SIZE), v).get(v).shape();
        int d = (int) map[1], cells = 3;
        var o = new Renderer.Options(LAYER, 12, 0.05, 4, 0, 4, false, true, 1);

        Renderer.Engine cropped = Renderer.Engine.choose(g, o, 3, SIZE, SIZE, map);
        assertNull(cropped.chain(), "a branchy network is not a chain");
        assertNotNull(cropped.dag());
        assertTrue(cropped.describe().startsWith("native op graph, receptive field "), cropped.describe());
        assertNull(cropped.dagWhole());
        Renderer.Engine whole;
        System.setProperty(Renderer.WHOLE_MAP_PROPERTY, "true");
        try {
            whole = Renderer.Engine.choose(g, o, 3, SIZE, SIZE, map);
        } finally {
            System.clearProperty(Renderer.WHOLE_MAP_PROPERTY);
        }
        assertEquals("native op graph, whole map", whole.describe());

        // one step's values and gradients
        Random r = new Random(3);
        float[] x = new float[cells * 3 * SIZE * SIZE];
        for (int i = 0; i < x.length; i++) x[i] = r.nextFloat();
        float[] wh = new float[cells * d], raw = new float[cells * d];
        for (int i = 0; i < wh.length; i++) {
            raw[i] = (float) Math.abs(r.nextGaussian()) + 0.05f;
            wh[i] = (float) r.nextGaussian();
        }
        var mask = DirectionObjective.centreMask((int) map[2], (int) map[3], DataType.FLOAT);
        Renderer.Objective a = whole.objective(cells, wh, raw, mask), b = cropped.objective(cells, wh, raw, mask);
        double[] va = a.values(x), vb = b.values(x);
        for (int i = 0; i < cells; i++) assertEquals(va[i], vb[i], 1e-5 * Math.max(1, Math.abs(va[i])), "value " + i);
        float[] ga = new float[x.length], gb = new float[x.length];
        a.gradient(x, ga);
        b.gradient(x, gb);
        double scale = 0;
        for (float f : ga) scale = Math.max(scale, Math.abs(f));
        assertTrue(scale > 0);
        for (int i = 0; i < x.length; i++) assertEquals(ga[i], gb[i], 1e-5 * scale, "gradient " + i);
        whole.close();
        cropped.close();

        // whole renders: the same objectives and the same tiles (to one grey level of rounding)
        float[] vectors = new float[cells * d];
        for (int i = 0; i < vectors.length; i++) vectors[i] = r.nextFloat() + 0.05f;
        Renderer.Result rc = Renderer.run(g, vectors, cells, null, o, dir.resolve("cropped"));
        Renderer.Result rw;
        System.setProperty(Renderer.WHOLE_MAP_PROPERTY, "true");
        try {
            rw = Renderer.run(g, vectors, cells, null, o, dir.resolve("whole"));
        } finally {
            System.clearProperty(Renderer.WHOLE_MAP_PROPERTY);
        }
        assertTrue(rc.engine().contains("receptive field"), rc.engine());
        assertEquals("native op graph, whole map", rw.engine());
        for (int k = 0; k < cells; k++) {
            double want = rw.results().get(k).finalObjective();
            assertEquals(want, rc.results().get(k).finalObjective(), 1e-4 * Math.max(1, Math.abs(want)), "cell " + k);
            BufferedImage p = ImageIO.read(dir.resolve("whole").resolve(rw.results().get(k).tile()).toFile());
            BufferedImage q = ImageIO.read(dir.resolve("cropped").resolve(rc.results().get(k).tile()).toFile());
            for (int y = 0; y < SIZE; y++) {
                for (int xx = 0; xx < SIZE; xx++) {
                    for (int band = 0; band < 3; band++) {
                        assertTrue(Math.abs(p.getRaster().getSample(xx, y, band) - q.getRaster().getSample(xx, y, band)) <= 1,
                                "cell " + k + " pixel " + xx + "," + y);
                    }
                }
            }
        }
    }
}
