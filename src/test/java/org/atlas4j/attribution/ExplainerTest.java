package org.atlas4j.attribution;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.atlas4j.TinyNets;
import org.atlas4j.model.NetGraph;
import org.atlas4j.model.SameDiffConverter;
import org.atlas4j.util.UserError;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

@org.atlas4j.UnitTest
class ExplainerTest {
    static MultiLayerNetwork net;
    static NetGraph graph;
    static float[] images;
    static final int B = 4;
    static final Method CAM = Method.parse("cam");
    static final Method GRAD_CAM = Method.parse("gradcam");
    static final Method GRAD_CAM_PP = Method.parse("gradcam++");
    static final Method SALIENCY = Method.parse("saliency");

    @BeforeAll
    static void setUp() {
        net = TinyNets.cnn(7, DataType.DOUBLE);
        graph = SameDiffConverter.convert(net, new int[] {1, 9, 9}, DataType.DOUBLE);
        images = new TinyNets.RandomImages(B, 1, 9, 9, 3, 0).batch(0, B);
    }

    static Explainer explainer(List<Method> methods) {
        CamHead cam = methods.contains(CAM) ? CamHead.find(net, "r2") : null;
        return new Explainer(graph, "r2", cam, new Explainer.Options(methods, 8, 0.15, 1, 3));
    }

    static long[] keys(int n) {
        long[] k = new long[n];
        for (int i = 0; i < n; i++) k[i] = i;
        return k;
    }

    @Test
    void camEqualsGradCamUpToScaleOnGapDenseHead() {
        Explainer e = explainer(List.of(CAM, GRAD_CAM));
        int informative = 0;
        for (int target : new int[] {0, 1, 2, Explainer.TOP1}) {
            int[] t = new int[B];
            java.util.Arrays.fill(t, target);
            for (Explainer.Result r : e.explain(images, B, t, keys(B))) {
                float[] cam = r.maps().get(CAM);
                float[] gc = r.maps().get(GRAD_CAM);
                // Grad-CAM's weights are w/Z on such a head: CAM = Z · Grad-CAM exactly (Z = 81 positions)
                if (AttributionMaps.max(cam) > 0) informative++; // a class with only negative evidence gives 0 = 0
                for (int p = 0; p < cam.length; p++) assertEquals(cam[p], 81 * gc[p], 1e-4 * (1 + Math.abs(cam[p])));
                assertArrayEquals(AttributionMaps.normalized(cam), AttributionMaps.normalized(gc), 1e-5f);
            }
        }
        assertTrue(informative >= 8, "too few non-zero maps to test: " + informative);
    }

    /** Every method's maps from the native graph engine equal SameDiff's (per-image classes, SmoothGrad batches). */
    @Test
    void nativeEngineGivesSameDiffsMaps() {
        List<Method> methods = List.of(CAM, GRAD_CAM, GRAD_CAM_PP, SALIENCY, Method.parse("smoothgrad"), Method.parse("smooth-gradcam++"));
        CamHead cam = CamHead.find(net, "r2");
        Explainer.Options o = new Explainer.Options(methods, 5, 0.15, 1, 3);
        Explainer fast = new Explainer(graph, "r2", cam, o);
        Explainer slow = new Explainer(graph, "r2", cam, o, false);
        assertTrue(fast.isNative(), fast.engine());
        assertFalse(slow.isNative());
        int[] t = {0, 2, Explainer.TOP1, 1};
        // one image first: a one-image session, which the passes of 3 below replace (and free)
        int len = images.length / B;
        Explainer.Result one = fast.explain(java.util.Arrays.copyOf(images, len), 1, new int[] {2}, keys(1)).get(0);
        Explainer.Result oneRef = slow.explain(java.util.Arrays.copyOf(images, len), 1, new int[] {2}, keys(1)).get(0);
        assertArrayEquals(oneRef.maps().get(GRAD_CAM), one.maps().get(GRAD_CAM), 1e-4f * Math.max(1e-6f, AttributionMaps.max(oneRef.maps().get(GRAD_CAM))));
        List<Explainer.Result> a = fast.explain(images, B, t, keys(B)); // 4 images in passes of 3: a short last pass
        List<Explainer.Result> b = slow.explain(images, B, t, keys(B));
        for (int i = 0; i < B; i++) {
            assertEquals(b.get(i).target(), a.get(i).target());
            assertArrayEquals(b.get(i).scores(), a.get(i).scores(), 1e-5f);
            for (Method m : methods) {
                float[] x = a.get(i).maps().get(m);
                float[] y = b.get(i).maps().get(m);
                float scale = Math.max(1e-6f, AttributionMaps.max(y));
                for (int p = 0; p < x.length; p++) assertEquals(y[p], x[p], 1e-4 * scale, m.id() + " image " + i + " pixel " + p);
            }
        }
        fast.close();
    }

    @Test
    void camRefusesOtherHeadsAndSuggestsGradCam() {
        UserError e = assertThrows(UserError.class, () -> CamHead.find(net, "r1"));
        assertTrue(e.getMessage().contains("global average pooling"), e.getMessage());
        assertTrue(e.getMessage().contains("gradcam"), e.getMessage());
        assertTrue(e.getMessage().contains("ConvolutionLayer"), e.getMessage());
    }

    /** Central finite differences of y_c with respect to the layer activations, through the tail network. */
    static double[] layerGradientFd(float[] act, int i, int cls, int per) {
        NetGraph tail = graph.tailAfter("r2");
        double[] a = new double[per];
        for (int q = 0; q < per; q++) a[q] = act[i * per + q];
        double[] g = new double[per];
        double eps = 1e-6;
        for (int q = 0; q < per; q++) {
            double keep = a[q];
            a[q] = keep + eps;
            double up = score(tail, a, cls);
            a[q] = keep - eps;
            double down = score(tail, a, cls);
            a[q] = keep;
            g[q] = (up - down) / (2 * eps);
        }
        return g;
    }

    static double score(NetGraph g, double[] x, int cls) {
        int[] s = g.inputShape();
        INDArray in = Nd4j.create(x, new long[] {1, s[0], s[1], s[2]}, 'c');
        return g.forward(in, g.logits()).get(g.logits()).getDouble(0, cls);
    }

    @Test
    void gradCamPlusPlusUsesGradientsThatMatchFiniteDifferences() {
        Explainer e = explainer(List.of(GRAD_CAM_PP, GRAD_CAM));
        INDArray x = e.input(images, B);
        Explainer.Pass p = e.forward(x);
        int per = e.channels() * e.mapHeight() * e.mapWidth();
        int[] cls = {0, 1, 2, 1};
        float[] g = e.layerGradient(x, p.activations(), B, cls);
        List<Explainer.Result> results = e.explain(images, B, cls, keys(B));
        int informative = 0;
        for (int i = 0; i < B; i++) {
            double[] fd = layerGradientFd(p.activations(), i, cls[i], per);
            double scale = 0;
            for (double v : fd) scale = Math.max(scale, Math.abs(v));
            float[] fdf = new float[per];
            for (int q = 0; q < per; q++) {
                assertEquals(fd[q], g[i * per + q], 1e-4 * scale, "layer gradient " + q);
                fdf[q] = (float) fd[q];
            }
            // the whole Grad-CAM++ map from finite-difference gradients equals ours
            int area = e.mapHeight() * e.mapWidth();
            float[] act = java.util.Arrays.copyOfRange(p.activations(), i * per, (i + 1) * per);
            float[] expected = AttributionMaps.upsample(AttributionMaps.weightedReluSum(act, 0,
                    AttributionMaps.gradCamPlusPlusWeights(act, fdf, 0, e.channels(), area), area), 9, 9, 9, 9);
            float[] got = results.get(i).maps().get(GRAD_CAM_PP);
            if (AttributionMaps.max(expected) > 0) informative++;
            assertArrayEquals(AttributionMaps.normalized(expected), AttributionMaps.normalized(got), 1e-3f);
        }
        assertTrue(informative >= 2, "too few non-zero maps to test: " + informative);
    }

    @Test
    void saliencyMatchesFiniteDifferencesOfTheInput() {
        Explainer e = explainer(List.of(SALIENCY));
        int[] cls = {2, 0, 1, 2};
        List<Explainer.Result> results = e.explain(images, B, cls, keys(B));
        double eps = 1e-6;
        for (int i = 0; i < B; i++) {
            double[] x = new double[81];
            for (int q = 0; q < 81; q++) x[q] = images[i * 81 + q];
            float[] map = results.get(i).maps().get(SALIENCY);
            double scale = 0;
            double[] fd = new double[81];
            for (int q = 0; q < 81; q++) {
                double keep = x[q];
                x[q] = keep + eps;
                double up = score(graph, x, cls[i]);
                x[q] = keep - eps;
                double down = score(graph, x, cls[i]);
                x[q] = keep;
                fd[q] = Math.abs((up - down) / (2 * eps));
                scale = Math.max(scale, fd[q]);
            }
            assertTrue(scale > 0);
            for (int q = 0; q < 81; q++) assertEquals(fd[q], map[q], 1e-4 * scale, "pixel " + q);
        }
    }

    @Test
    void gradCamPlusPlusClosedFormByHand() {
        // one channel, two positions: A = (1, 3), g = (2, -1) → ΣA = 4; α_0 = 4 / (8 + 4·8) = 0.1; g_1 < 0 contributes 0
        float[] a = {1, 3};
        float[] g = {2, -1};
        double[] w = AttributionMaps.gradCamPlusPlusWeights(a, g, 0, 1, 2);
        assertEquals(0.1 * 2, w[0], 1e-12);
        // denominator 0: g = 1, ΣA = -2 → 2 + (-2)·1 = 0 → α = 0, no NaN
        double[] z = AttributionMaps.gradCamPlusPlusWeights(new float[] {-1, -1}, new float[] {1, 0}, 0, 1, 2);
        assertEquals(0, z[0]);
        // Grad-CAM weights are the spatial mean
        assertEquals(0.5, AttributionMaps.gradCamWeights(g, 0, 1, 2)[0], 1e-12);
    }

    @Test
    void allZeroMapStaysZeroNotNaN() {
        // negative evidence everywhere: ReLU(Σ w A) = 0, and division by the max must not produce NaN
        float[] m = AttributionMaps.weightedReluSum(new float[] {1, 2, 3, 4}, 0, new double[] {-1}, 4);
        assertEquals(0, AttributionMaps.max(m));
        float[] n = AttributionMaps.normalized(m);
        for (float v : n) assertEquals(0f, v);
        float[] up = AttributionMaps.normalized(AttributionMaps.upsample(m, 2, 2, 7, 5));
        for (float v : up) assertFalse(Float.isNaN(v));
    }

    @Test
    void upsampleIsHalfPixelBilinear() {
        // 2 → 4: output centres at source coordinates -0.25, 0.25, 0.75, 1.25 (clamped)
        float[] up = AttributionMaps.upsample(new float[] {0, 1}, 1, 2, 1, 4);
        assertArrayEquals(new float[] {0, 0.25f, 0.75f, 1}, up, 1e-6f);
        // constant stays constant
        float[] c = AttributionMaps.upsample(new float[] {2, 2, 2, 2}, 2, 2, 5, 3);
        for (float v : c) assertEquals(2f, v, 1e-6f);
    }

    @Test
    void mapsDoNotDependOnBatchComposition() {
        List<Method> all = List.of(GRAD_CAM, GRAD_CAM_PP, SALIENCY, Method.parse("smoothgrad"), Method.parse("smooth-gradcam"));
        Explainer e = explainer(all);
        int[] top = {Explainer.TOP1, Explainer.TOP1, Explainer.TOP1, Explainer.TOP1};
        List<Explainer.Result> together = e.explain(images, B, top, keys(B));
        for (int i = 0; i < B; i++) {
            float[] one = java.util.Arrays.copyOfRange(images, i * 81, (i + 1) * 81);
            Explainer.Result alone = e.explain(one, 1, new int[] {Explainer.TOP1}, new long[] {i}).get(0);
            assertEquals(together.get(i).target(), alone.target());
            for (Method m : all) {
                assertArrayEquals(together.get(i).maps().get(m), alone.maps().get(m), 1e-5f, m + " image " + i);
            }
        }
    }

    @Test
    void smoothGradAveragesNoisyMapsAndIsSeeded() {
        Method sg = Method.parse("smoothgrad");
        Explainer e = explainer(List.of(SALIENCY, sg));
        int[] t = {0, 0, 0, 0};
        List<Explainer.Result> a = e.explain(images, B, t, keys(B));
        List<Explainer.Result> b = e.explain(images, B, t, keys(B));
        for (int i = 0; i < B; i++) {
            assertArrayEquals(a.get(i).maps().get(sg), b.get(i).maps().get(sg), "same seed, same map");
            assertFalse(java.util.Arrays.equals(a.get(i).maps().get(sg), a.get(i).maps().get(SALIENCY)), "noise changed nothing");
        }
        // one noisy copy with tiny σ ≈ the plain map
        Explainer tiny = new Explainer(graph, "r2", null, new Explainer.Options(List.of(SALIENCY, sg), 1, 1e-7, 1, 4));
        for (Explainer.Result r : tiny.explain(images, B, t, keys(B))) {
            assertArrayEquals(r.maps().get(SALIENCY), r.maps().get(sg), 1e-4f);
        }
    }

    @Test
    void classesGetDifferentMaps() {
        Explainer e = explainer(List.of(GRAD_CAM, SALIENCY));
        List<Explainer.Result> top1 = e.explain(images, B, new int[] {-1, -1, -1, -1}, keys(B));
        List<Explainer.Result> top2 = e.explain(images, B, new int[] {-2, -2, -2, -2}, keys(B));
        for (int i = 0; i < B; i++) {
            assertNotEquals(top1.get(i).target(), top2.get(i).target());
            for (Method m : List.of(GRAD_CAM, SALIENCY)) {
                double rho = Sanity.spearman(top1.get(i).maps().get(m), top2.get(i).maps().get(m));
                assertTrue(rho < 0.99, m + " maps of two classes are the same (ρ = " + rho + ")");
            }
        }
    }

    @Test
    void methodNamesParseAndBadNamesListTheValidOnes() {
        assertEquals(Method.all(), Method.parseList(List.of("all")));
        assertEquals(List.of(GRAD_CAM_PP, Method.parse("smoothgrad")), Method.parseList(List.of("gradcampp,smoothgrad")));
        assertEquals("smooth-gradcam++", Method.parse("smooth-gradcam++").id());
        assertEquals("smooth-gradcampp", Method.parse("smooth-gradcam++").fileId());
        UserError e = assertThrows(UserError.class, () -> Method.parse("guided-backprop"));
        assertTrue(e.getMessage().contains("gradcam++"), e.getMessage());
        assertThrows(UserError.class, () -> Method.parse("smooth-cam"));
        assertThrows(UserError.class, () -> new Explainer.Options(List.of(GRAD_CAM), 0, 0.1, 1, 1));
        assertThrows(UserError.class, () -> new Explainer.Options(List.of(GRAD_CAM), 5, 0, 1, 1));
    }

    @Test
    void outOfRangeClassIsAClearError() {
        Explainer e = explainer(List.of(GRAD_CAM));
        UserError err = assertThrows(UserError.class, () -> e.explain(images, B, new int[] {5, 5, 5, 5}, keys(B)));
        assertTrue(err.getMessage().contains("3 classes"), err.getMessage());
    }
}
