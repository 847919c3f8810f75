package org.atlas4j.attribution;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.atlas4j.TinyNets;
import org.atlas4j.model.NetGraph;
import org.atlas4j.model.SameDiffConverter;
import org.atlas4j.util.Progress;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

@org.atlas4j.UnitTest
class SanityTest {
    @Test
    void spearmanUsesAverageRanksForTies() {
        assertArrayEquals(new double[] {1.5, 1.5, 3, 4}, Sanity.ranks(new float[] {0, 0, 2, 5}), 1e-12);
        assertEquals(1, Sanity.spearman(new float[] {0, 0, 2, 5}, new float[] {1, 1, 4, 100}), 1e-12);
        assertEquals(-1, Sanity.spearman(new float[] {1, 2, 3}, new float[] {9, 4, 1}), 1e-12);
        // hand value: x = (1,2,3,4), y = (1,3,2,4) → ρ = 1 − 6·2/(4·15) = 0.8
        assertEquals(0.8, Sanity.spearman(new float[] {1, 2, 3, 4}, new float[] {1, 3, 2, 4}), 1e-12);
        assertEquals(0, Sanity.spearman(new float[] {0, 0, 0}, new float[] {1, 2, 3}));
        assertEquals(1, Sanity.spearman(new float[] {0, 0, 0}, new float[] {0, 0, 0}));
    }

    @Test
    void sobelFindsAVerticalEdge() {
        float[] img = new float[5 * 6];
        for (int y = 0; y < 5; y++) {
            for (int x = 3; x < 6; x++) img[y * 6 + x] = 1;
        }
        float[] s = Sanity.sobelMagnitude(img, 5, 6);
        for (int y = 0; y < 5; y++) {
            assertEquals(0, s[y * 6], 1e-6);
            assertEquals(4, s[y * 6 + 2], 1e-6); // kernel column sums 1+2+1 on each side of the step
            assertEquals(4, s[y * 6 + 3], 1e-6);
            assertEquals(0, s[y * 6 + 5], 1e-6);
        }
    }

    @Test
    void randomizingTheModelDecorrelatesGradientMapsAndKeepsTheOriginalIntact() {
        Progress.setQuiet(true);
        MultiLayerNetwork net = TinyNets.cnn(11, DataType.FLOAT);
        NetGraph graph = SameDiffConverter.convert(net, new int[] {1, 9, 9});
        float[] before = net.params().dup().data().asFloat();
        int n = 12;
        float[] images = new TinyNets.RandomImages(n, 1, 9, 9, 5, 0).batch(0, n);
        long[] keys = new long[n];
        for (int i = 0; i < n; i++) keys[i] = i;
        List<Method> methods = List.of(Method.parse("gradcam"), Method.parse("saliency"));
        Sanity.Report r = Sanity.run(net, graph, "r2", new Explainer.Options(methods, 4, 0.15, 3, 8), images, n, keys);
        assertEquals(List.of("out", "c2", "bn1", "c1"), ModelRandomizer.parameterizedLayersTopDown(net));
        assertEquals(5, r.cascade().size());
        assertEquals(List.of("out", "c2", "bn1", "c1"), r.cascade().get(4).randomized());
        for (Method m : methods) {
            double last = r.cascade().get(4).meanRho().get(m.id());
            assertTrue(last < 0.5, m + ": maps of a fully re-initialized model still correlate, ρ = " + last);
        }
        // only Grad-CAM here: on this random 3-class net |∂y_c/∂x| is nearly the same for the top two classes
        // (measured ρ = 0.999; the absolute value hides opposite-signed gradients), a real weakness of saliency
        assertTrue(r.classSensitivityRho().get("gradcam") < 0.9, "gradcam is not class sensitive");
        assertArrayEquals(before, net.params().data().asFloat(), "the trained model was modified");
    }

    @Test
    void randomizationIsSeededAndCascades() {
        MultiLayerNetwork net = TinyNets.cnn(11, DataType.FLOAT);
        var a = (MultiLayerNetwork) ModelRandomizer.randomizeTop(net, 2, 5);
        var b = (MultiLayerNetwork) ModelRandomizer.randomizeTop(net, 2, 5);
        var c = (MultiLayerNetwork) ModelRandomizer.randomizeTop(net, 3, 5);
        assertEquals(a.params(), b.params());
        // step 3 re-initializes the same top two layers identically, plus one more
        assertEquals(a.getLayer(6).params(), c.getLayer(6).params());
        assertEquals(a.getLayer(3).params(), c.getLayer(3).params());
        assertTrue(!a.getLayer(6).params().equals(net.getLayer(6).params()), "output layer unchanged");
        assertEquals(net.getLayer(0).params(), a.getLayer(0).params());
        assertTrue(!c.getLayer(1).params().equals(net.getLayer(1).params()), "bn1 unchanged at step 3");
        Nd4j.getRandom().setSeed(0);
    }
}
