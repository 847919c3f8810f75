package org.atlas4j.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.layers.convolution.Pooling2D;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.Conv2DConfig;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.PaddingMode;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.Pooling2DConfig;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The receptive-field crop of the native graph: the centre position's values and input gradient equal the whole map's
 * (and SameDiff's, and finite differences), through branches joined by concatenation, residual additions, strided,
 * dilated and depthwise convolutions, SAME and explicit padding on odd sizes, max and average pools with padding and
 * zero-padding ops — at layers whose window meets the border and at layers whose window does not.
 */
@org.atlas4j.UnitTest
public class GraphCropTest {
    static Conv2DConfig conv(int k, int s, int p, int d, boolean same) {
        return Conv2DConfig.builder().kH(k).kW(k).sH(s).sW(s).pH(p).pW(p).dH(d).dW(d)
                .paddingMode(same ? PaddingMode.SAME : PaddingMode.VALID).dataFormat("NCHW").build();
    }

    static Pooling2DConfig pool(boolean max, int k, int s, int p, boolean same, boolean includePad) {
        var b = Pooling2DConfig.builder().kH(k).kW(k).sH(s).sW(s).pH(p).pW(p)
                .paddingMode(same ? PaddingMode.SAME : PaddingMode.VALID).isNHWC(false)
                .type(max ? Pooling2D.Pooling2DType.MAX : Pooling2D.Pooling2DType.AVG);
        // libnd4j's avgpool2d reads the divisor mode from "extra" (iArgs[9]: 0 excludes the padding, 1 includes it);
        // the builder's divisor(...) does not reach the op
        if (!max) b.extra(includePad ? 1 : 0);
        return b.build();
    }

    static SDVariable w(SameDiff sd, String name, DataType dt, long... shape) {
        return sd.var(name, Nd4j.randn(dt, shape).muli(0.5)); // variables: SameDiff differentiates only towards those
    }

    /**
     * 3×H×W input (odd, non-square by default). Layers: stem (3×3 s2 explicit p1), inc (4 branches: 1×1, depthwise
     * SAME, max pool 3/1/p1, avg pool SAME incl. padding → concat), res (1×1 + stem), dil (dilated depthwise 3×3 d2 p2),
     * zp (zero pad 1,2), down (strided depthwise SAME), mp (max pool 3/2 SAME), c5 (5×5 VALID), late (conv 3 s2 p1).
     */
    public static NetGraph net(DataType dt, int h, int w, boolean excludePadAvg) {
        SameDiff sd = SameDiff.create();
        Nd4j.getRandom().setSeed(31);
        SDVariable x = sd.placeHolder("input", dt, -1, 3, h, w);
        SDVariable stem = sd.nn().relu("stem", sd.cnn().conv2d("stem_c", x, w(sd, "w0", dt, 3, 3, 3, 6), conv(3, 2, 1, 1, false)), 0);
        SDVariable b1 = sd.nn().relu("b1", sd.cnn().conv2d("b1_c", stem, w(sd, "w1", dt, 1, 1, 6, 3), conv(1, 1, 0, 1, false)), 0);
        SDVariable b2 = sd.nn().relu6("b2", sd.cnn().depthWiseConv2d("b2_c", stem, w(sd, "w2", dt, 3, 3, 6, 1), conv(3, 1, 0, 1, true)), 0);
        // on the convolution's output, before its ReLU: negative values, so a zero in place of the ignored padding
        // would win the border windows
        SDVariable b3 = sd.cnn().maxPooling2d("b3", sd.getVariable("stem_c"), pool(true, 3, 1, 1, false, false));
        SDVariable b4 = sd.cnn().avgPooling2d("b4", stem, pool(false, 3, 1, 1, true, !excludePadAvg));
        SDVariable inc = sd.concat("inc", 1, b1, b2, b3, b4); // 3 + 6 + 6 + 6 = 21
        SDVariable proj = sd.cnn().conv2d("proj", inc, w(sd, "wp", dt, 1, 1, 21, 6), conv(1, 1, 0, 1, false));
        SDVariable res = sd.math().tanh("res", proj.add(stem));
        SDVariable dil = sd.nn().relu("dil", sd.cnn().depthWiseConv2d("dil_c", res, w(sd, "wd", dt, 3, 3, 6, 2), conv(3, 1, 2, 2, false)), 0);
        SDVariable zp = sd.nn().pad("zp", dil, sd.constant("zpads", Nd4j.createFromArray(new int[][] {{0, 0}, {0, 0}, {1, 2}, {2, 1}})), 0.0);
        // tanh, not ReLU, before the max pool: ties between zeros would leave SameDiff's and oneDNN's max-pool
        // gradients free to pick different (equally valid) positions
        SDVariable down = sd.math().tanh("down", sd.cnn().depthWiseConv2d("down_c", zp, w(sd, "wdn", dt, 3, 3, 12, 1), conv(3, 2, 0, 1, true)));
        SDVariable mp = sd.cnn().maxPooling2d("mp", down, pool(true, 3, 2, 0, true, false));
        SDVariable c5 = sd.nn().sigmoid("c5", sd.cnn().conv2d("c5_c", down, w(sd, "w5", dt, 5, 5, 12, 4), conv(5, 1, 0, 1, false)));
        sd.nn().relu("late", sd.cnn().conv2d("late_c", mp, w(sd, "wl", dt, 3, 3, 12, 5), conv(3, 2, 1, 1, false)), 0);
        List<NetGraph.Node> nodes = new ArrayList<>();
        int i = 0;
        for (String n : new String[] {"stem", "inc", "res", "dil", "zp", "down", "mp", "c5", "late"}) {
            nodes.add(new NetGraph.Node(i++, n, "op", n));
        }
        return new NetGraph(sd, "input", new int[] {3, h, w}, nodes, null, null);
    }

    static final int H = 41, W = 37;

    /** The centre's values and the input gradient of Σ dCentre·centre through a session's float[] API. */
    record Pass(float[] centre, float[] grad) {
    }

    static Pass pass(NativeGraph e, float[] x, float[] dc, int b) {
        NativeGraph.Session s = e.session(b);
        float[] centre = s.forward(x).clone();
        float[] g = new float[x.length];
        java.util.Arrays.fill(g, Float.NaN); // the crop must write zeros outside its window
        System.arraycopy(dc, 0, s.centreGradBuffer(), 0, dc.length);
        s.backward(dc, g);
        s.close();
        return new Pass(centre, g);
    }

    static float[] randoms(int n, long seed) {
        Random r = new Random(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) r.nextGaussian();
        return v;
    }

    static void assertClose(float[] want, float[] got, double rel, String what) {
        double scale = 0, err = 0;
        for (int i = 0; i < want.length; i++) {
            scale = Math.max(scale, Math.abs(want[i]));
            err = Math.max(err, Math.abs(want[i] - got[i]));
        }
        assertTrue(scale > 0, what + ": all-zero reference");
        assertTrue(err <= rel * scale, what + ": max |diff| " + err + " vs scale " + scale);
    }

    @ParameterizedTest
    @ValueSource(strings = {"stem", "inc", "res", "dil", "zp", "down", "mp", "c5", "late"})
    void croppedCentreEqualsTheWholeMapAndSameDiff(String layer) {
        NetGraph g = net(DataType.FLOAT, H, W, false);
        for (boolean channelsLast : new boolean[] {true, false}) {
            NativeGraph whole = NativeGraphTest.compiled(g, layer, 3, H, W, channelsLast);
            NativeGraph.Crop crop = whole.cropToCentre();
            assertNotNull(crop.engine(), layer + ": " + crop.wholeMapReason());
            assertTrue(crop.croppedMacs() < crop.wholeMacs(), layer + ": the crop saves work");
            int b = 2, c = whole.layerChannels(), len = 3 * H * W;
            float[] x = randoms(b * len, 1);
            float[] dc = randoms(b * c, 2);
            Pass w = pass(whole, x, dc, b);
            Pass k = pass(crop.engine(), x, dc, b);
            assertClose(w.centre(), k.centre(), 1e-5, layer + " centre values");
            assertClose(w.grad(), k.grad(), 1e-5, layer + " input gradient");
            int[] win = crop.inputWindow();
            // outside the window the gradient is exactly zero (the whole map's too: nothing else reaches the centre)
            for (int i = 0; i < x.length; i++) {
                int r = (i / W) % H, col = i % W;
                if (r < win[0] || r >= win[0] + win[1] || col < win[2] || col >= win[2] + win[3]) {
                    assertEquals(0f, k.grad()[i], layer + " outside the window at " + i);
                    assertEquals(0f, w.grad()[i], layer + " whole map's gradient outside the window at " + i);
                }
            }
            // and against SameDiff: the centre one-hot of dc on the layer's map. Not at "late": there SameDiff's own
            // input gradient (3×3 stride-2 pad-1 conv on a 6×6 map) disagrees with central finite differences by 3%
            // (checked in double at the worst pixel: SameDiff 0.5356, finite differences 0.5827, native 0.5827);
            // croppedGradientEqualsFiniteDifferencesInDouble covers "late" instead
            if (layer.equals("late")) continue;
            String v = g.layer(layer).variable();
            INDArray xi = Nd4j.create(x, new long[] {b, 3, H, W}, 'c');
            long[] sh = g.forward(xi, v).get(v).shape();
            INDArray d = Nd4j.zeros(DataType.FLOAT, sh);
            for (int i = 0; i < b; i++) {
                for (int ch = 0; ch < c; ch++) d.putScalar(new long[] {i, ch, sh[2] / 2, sh[3] / 2}, dc[i * c + ch]);
            }
            INDArray want = NativeGraphTest.sameDiffGradient(g, layer, xi, d);
            assertClose(want.dup('c').data().asFloat(), k.grad(), 1e-4, layer + " input gradient vs SameDiff");
        }
    }

    /**
     * Small inputs, crops forced however little they save: every window meets the map's borders, so every op's padding
     * arithmetic (explicit, SAME before/after, pad ops, max pools' ignored padding) decides the result.
     */
    @ParameterizedTest
    @org.junit.jupiter.params.provider.CsvSource({"inc, 9, 11", "res, 12, 9", "zp, 13, 13", "down, 10, 14", "mp, 15, 12",
            "late, 13, 16", "c5, 16, 17"})
    void windowsMeetingEveryBorder(String layer, int h, int w) {
        NetGraph g = net(DataType.FLOAT, h, w, false);
        NativeGraph whole = NativeGraphTest.compiled(g, layer, 3, h, w, true);
        NativeGraph.Crop crop = GraphCrop.centre(whole, 1.0);
        assertNotNull(crop.engine(), layer + ": " + crop.wholeMapReason());
        int b = 2, c = whole.layerChannels(), len = 3 * h * w;
        float[] x = randoms(b * len, 12);
        float[] dc = randoms(b * c, 13);
        Pass pw = pass(whole, x, dc, b);
        Pass pk = pass(crop.engine(), x, dc, b);
        assertClose(pw.centre(), pk.centre(), 1e-5, layer + " " + h + "×" + w + " centre");
        assertClose(pw.grad(), pk.grad(), 1e-5, layer + " " + h + "×" + w + " input gradient");
    }

    /** Windows that meet the border on one side only (an off-centre map) and a second step on the same session. */
    @ParameterizedTest
    @ValueSource(ints = {20, 23, 30})
    void evenAndOddSizesAndRepeatedSteps(int size) {
        NetGraph g = net(DataType.FLOAT, size, size + 3, false);
        NativeGraph whole = NativeGraphTest.compiled(g, "mp", 3, size, size + 3, true);
        NativeGraph.Crop crop = whole.cropToCentre();
        assertNotNull(crop.engine(), crop.wholeMapReason());
        int b = 3, c = whole.layerChannels(), len = 3 * size * (size + 3);
        NativeGraph.Session sw = whole.session(b), sk = crop.engine().session(b);
        for (int round = 0; round < 2; round++) {
            float[] x = randoms(b * len, 10 + round);
            float[] dc = randoms(b * c, 20 + round);
            assertClose(sw.forward(x).clone(), sk.forward(x).clone(), 1e-5, size + " centre, round " + round);
            float[] gw = new float[x.length], gk = new float[x.length];
            sw.backward(dc, gw);
            sk.backward(dc, gk);
            assertClose(gw, gk, 1e-5, size + " gradient, round " + round);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"res", "late"})
    void croppedGradientEqualsFiniteDifferencesInDouble(String layer) {
        NetGraph g = net(DataType.DOUBLE, H, W, false);
        NativeGraph whole = NativeGraphTest.compiled(g, layer, 3, H, W, true);
        NativeGraph.Crop crop = whole.cropToCentre();
        assertNotNull(crop.engine(), crop.wholeMapReason());
        int c = whole.layerChannels(), len = 3 * H * W;
        float[] x = randoms(len, 5);
        float[] dc = randoms(c, 6);
        NativeGraph.Session s = crop.engine().session(1);
        s.forward(x);
        float[] grad = new float[len];
        s.backward(dc, grad);
        int[] win = crop.inputWindow();
        double scale = 0;
        for (float v : grad) scale = Math.max(scale, Math.abs(v));
        assertTrue(scale > 0);
        // inputs inside the window, several on its border rows/columns (where the padding arithmetic matters)
        Random rnd = new Random(3);
        double[] xd = new double[len];
        for (int i = 0; i < len; i++) xd[i] = x[i];
        String v = g.layer(layer).variable();
        double eps = 1e-6;
        for (int k = 0; k < 30; k++) {
            int r = win[0] + (k % 3 == 0 ? 0 : rnd.nextInt(win[1])), col = win[2] + (k % 3 == 1 ? win[3] - 1 : rnd.nextInt(win[3]));
            int i = (rnd.nextInt(3) * H + r) * W + col;
            double keep = xd[i];
            xd[i] = keep + eps;
            double up = centreObjective(g, v, xd, dc);
            xd[i] = keep - eps;
            double down = centreObjective(g, v, xd, dc);
            xd[i] = keep;
            assertEquals((up - down) / (2 * eps), grad[i], 1e-5 * scale, layer + " input " + i);
        }
    }

    private static double centreObjective(NetGraph g, String v, double[] x, float[] dc) {
        INDArray map = g.forward(Nd4j.createFromArray(x).reshape(1, 3, H, W), v).get(v);
        long[] s = map.shape();
        double sum = 0;
        for (int ch = 0; ch < dc.length; ch++) sum += dc[ch] * map.getDouble(0, ch, s[2] / 2, s[3] / 2);
        return sum;
    }

    /**
     * An average pool dividing by the cells inside the map (libnd4j's extraParam0 = 0): exact inside the map, and where
     * the window meets the border through the pool's own padding (it reads its input's whole window there); a
     * window reading a slice of its input with zeros would change the divisor, so that keeps the whole map.
     */
    @ParameterizedTest
    @org.junit.jupiter.params.provider.CsvSource({"inc, 41, 37", "late, 13, 16", "c5, 16, 17"})
    void averagePoolsExcludingTheirPadding(String layer, int h, int w) {
        NetGraph g = net(DataType.FLOAT, h, w, true);
        if (layer.equals("inc")) {
            // at "late" on 41×37 the window reads a slice of the pool's input that meets its border: whole map
            NativeGraph.Crop no = GraphCrop.centre(NativeGraphTest.compiled(g, "late", 3, h, w, true), 1.0);
            assertNull(no.engine());
            assertTrue(no.wholeMapReason().contains("average pool b4"), no.wholeMapReason());
        }
        NativeGraph whole = NativeGraphTest.compiled(g, layer, 3, h, w, true);
        NativeGraph.Crop crop = GraphCrop.centre(whole, 1.0);
        assertNotNull(crop.engine(), layer + ": " + crop.wholeMapReason());
        int c = whole.layerChannels();
        float[] x = randoms(2 * 3 * h * w, 8);
        float[] dc = randoms(2 * c, 9);
        Pass pw = pass(whole, x, dc, 2), pk = pass(crop.engine(), x, dc, 2);
        assertClose(pw.centre(), pk.centre(), 1e-5, layer + ", exclude-padding pool, centre");
        assertClose(pw.grad(), pk.grad(), 1e-5, layer + ", exclude-padding pool, input gradient");
    }

    @Test
    void aReceptiveFieldCoveringTheWholeInputKeepsTheWholeMap() {
        NetGraph g = net(DataType.FLOAT, 13, 13, false);
        // 13 → stem 7 → zp 10 → down 5 → c5 (5×5 VALID) 1×1: its one position reads every input pixel
        NativeGraph.Crop crop = NativeGraphTest.compiled(g, "c5", 3, 13, 13, true).cropToCentre();
        assertNull(crop.engine(), "13×13: the centre of 'c5' depends on every position");
        assertTrue(crop.wholeMapReason().contains("multiply-adds"), crop.wholeMapReason());
    }

    @Test
    void opsReadingTheWholeMapAreNamed() {
        NativeGraph e = NativeGraphTest.compiled(NativeGraphTest.onnxLike(DataType.FLOAT), "fc", 3, 9, 9, true);
        NativeGraph.Crop crop = e.cropToCentre();
        assertNull(crop.engine());
        assertTrue(crop.wholeMapReason().contains("not a spatial map"), crop.wholeMapReason());
    }
}
