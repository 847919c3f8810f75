package org.atlas4j.render;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;

import org.atlas4j.TinyNets;
import org.atlas4j.model.NativeChain;
import org.atlas4j.model.NetGraph;
import org.atlas4j.model.SameDiffConverter;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/**
 * The native op chain (render's fast path) against the SameDiff graph, whose input gradients are themselves checked
 * against finite differences (RenderGradientTest, RenderChainGradientTest): same objective values, same input
 * gradients, with and without the receptive-field crop, on padding/stride/pooling variants including the shapes where
 * the transposed convolution cannot be used.
 */
@org.atlas4j.UnitTest
class NativeChainRenderTest {

    /** conv(k, same or truncate+pad, stride) → BN → ReLU → pool → conv → ReLU, GAP head. */
    static MultiLayerNetwork net(long seed, int channels, int size, ConvolutionMode mode, int stride, int pad,
            PoolingType pool) {
        var b = new NeuralNetConfiguration.Builder().seed(seed).weightInit(WeightInit.XAVIER).list();
        b.layer(new ConvolutionLayer.Builder(3, 3).nOut(6).stride(stride, stride).padding(pad, pad).convolutionMode(mode)
                .activation(Activation.IDENTITY).name("c1").build());
        b.layer(new BatchNormalization.Builder().name("bn1").build());
        b.layer(new ActivationLayer.Builder().activation(Activation.RELU).name("r1").build());
        b.layer(new SubsamplingLayer.Builder(pool == PoolingType.MAX ? SubsamplingLayer.PoolingType.MAX : SubsamplingLayer.PoolingType.AVG, new int[] {2, 2}, new int[] {2, 2}).convolutionMode(mode).name("p1").build());
        b.layer(new ConvolutionLayer.Builder(3, 3).nOut(5).convolutionMode(mode).padding(pad, pad)
                .activation(Activation.RELU).name("c2").build());
        b.layer(new GlobalPoolingLayer.Builder(PoolingType.AVG).build());
        b.layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(3).activation(Activation.SOFTMAX).build());
        b.setInputType(InputType.convolutional(size, size, channels));
        MultiLayerNetwork n = new MultiLayerNetwork(b.build());
        n.init();
        TinyNets.randomizeBatchNorm(n, seed + 1);
        return n;
    }

    /** Max |native − SameDiff| relative to the largest reference component, for values and gradients. */
    static double[] compare(NetGraph g, String layer, int channels, int size, boolean crop, Boolean expectCropped) {
        NativeChain.Compiled c = NativeChain.compile(g, layer, channels, size, size, crop);
        assertNull(c.unsupported(), "chain refused: " + c.unsupported());
        NativeChain chain = c.chain();
        if (expectCropped != null) assertEquals(expectCropped, chain.cropped(), "cropped");
        String v = g.layer(layer).variable();
        long[] map = g.forward(Nd4j.zeros(DataType.FLOAT, 1, channels, size, size), v).get(v).shape();
        assertTrue(chain.matches(map), "chain geometry differs from the graph's map " + java.util.Arrays.toString(map));
        int b = 3;
        int d = chain.layerChannels();
        Random r = new Random(5);
        float[] x = new float[b * channels * size * size];
        for (int i = 0; i < x.length; i++) x[i] = r.nextFloat();
        float[] wh = new float[b * d];
        float[] raw = new float[b * d];
        for (int i = 0; i < wh.length; i++) {
            raw[i] = (float) Math.abs(r.nextGaussian()) + 0.05f; // positive: the cos term is active, both branches of max
            wh[i] = (float) r.nextGaussian();
        }
        NativeChain.Session s = chain.session(b);
        float[] dc = new float[b * d];
        double[] values = DirectionObjective.objective(s.forward(x), wh, raw, b, d, 4, dc);
        float[] grad = new float[x.length];
        s.backward(dc, grad);

        INDArray mask = DirectionObjective.centreMask((int) map[2], (int) map[3], DataType.FLOAT);
        Renderer.Objective ref = Renderer.sameDiffObjective(new DirectionObjective(g, layer, 4), b,
                new int[] {channels, size, size}, wh, raw, mask);
        double[] refValues = ref.values(x);
        float[] refGrad = new float[x.length];
        ref.gradient(x, refGrad);
        double vScale = 0, vErr = 0, gScale = 0, gErr = 0;
        for (int i = 0; i < b; i++) {
            vScale = Math.max(vScale, Math.abs(refValues[i]));
            vErr = Math.max(vErr, Math.abs(refValues[i] - values[i]));
        }
        for (int i = 0; i < grad.length; i++) {
            gScale = Math.max(gScale, Math.abs(refGrad[i]));
            gErr = Math.max(gErr, Math.abs(refGrad[i] - grad[i]));
        }
        assertTrue(vScale > 0 && gScale > 0, "degenerate reference (all zero)");
        // a second call reuses every buffer: same answer
        float[] grad2 = new float[x.length];
        DirectionObjective.objective(s.forward(x), wh, raw, b, d, 4, dc);
        s.backward(dc, grad2);
        assertTrue(java.util.Arrays.equals(grad, grad2), "buffers reused across calls changed the result");
        return new double[] {vErr / vScale, gErr / gScale};
    }

    @Test
    void sameModeChainMatchesSameDiffCroppedAndWhole() {
        NetGraph g = SameDiffConverter.convert(net(1, 1, 16, ConvolutionMode.Same, 1, 0, PoolingType.MAX),
                new int[] {1, 16, 16}, DataType.FLOAT);
        for (boolean crop : new boolean[] {true, false}) {
            double[] e = compare(g, "c2", 1, 16, crop, crop);
            assertTrue(e[0] < 1e-5 && e[1] < 1e-5, "crop=" + crop + ": value error " + e[0] + ", gradient error " + e[1]);
        }
        // an earlier layer and an RGB model
        double[] e = compare(g, "r1", 1, 16, true, true);
        assertTrue(e[0] < 1e-5 && e[1] < 1e-5, "r1: " + e[0] + ", " + e[1]);
        NetGraph rgb = SameDiffConverter.convert(net(2, 3, 12, ConvolutionMode.Same, 1, 0, PoolingType.AVG),
                new int[] {3, 12, 12}, DataType.FLOAT);
        e = compare(rgb, "c2", 3, 12, true, null);
        assertTrue(e[0] < 1e-5 && e[1] < 1e-5, "rgb avg-pool: " + e[0] + ", " + e[1]);
    }

    @Test
    void croppedGradientMatchesFiniteDifferencesDirectly() {
        // independent of SameDiff: central differences of Σ objective through the native chain itself (float32)
        NetGraph g = SameDiffConverter.convert(net(6, 1, 16, ConvolutionMode.Same, 1, 0, PoolingType.MAX),
                new int[] {1, 16, 16}, DataType.FLOAT);
        NativeChain chain = NativeChain.compile(g, "c2", 1, 16, 16).chain();
        assertTrue(chain.cropped());
        int b = 2;
        int d = chain.layerChannels();
        Random r = new Random(9);
        float[] x = new float[b * 256];
        for (int i = 0; i < x.length; i++) x[i] = r.nextFloat();
        float[] wh = new float[b * d];
        float[] raw = new float[b * d];
        for (int i = 0; i < wh.length; i++) {
            raw[i] = (float) Math.abs(r.nextGaussian()) + 0.05f;
            wh[i] = (float) r.nextGaussian();
        }
        NativeChain.Session s = chain.session(b);
        float[] dc = new float[b * d];
        DirectionObjective.objective(s.forward(x), wh, raw, b, d, 4, dc);
        float[] grad = new float[x.length];
        s.backward(dc, grad);
        double gmax = 0;
        for (float v : grad) gmax = Math.max(gmax, Math.abs(v));
        double floor = 0.01 * gmax;
        double eps = 1e-3; // small enough to rarely cross a ReLU or max-pool switch, large against float32 rounding
        java.util.List<Double> errors = new java.util.ArrayList<>();
        int[] win = chain.inputWindow();
        int checked = 0;
        for (int t = 0; t < 40 && checked < 12; t++) {
            int i = r.nextInt(b) * 256 + (win[0] + r.nextInt(win[1])) * 16 + win[2] + r.nextInt(win[3]);
            if (Math.abs(grad[i]) < floor) continue;
            float orig = x[i];
            x[i] = (float) (orig + eps);
            double plus = java.util.Arrays.stream(DirectionObjective.objective(s.forward(x), wh, raw, b, d, 4, null)).sum();
            x[i] = (float) (orig - eps);
            double minus = java.util.Arrays.stream(DirectionObjective.objective(s.forward(x), wh, raw, b, d, 4, null)).sum();
            x[i] = orig;
            double fd = (plus - minus) / (2 * eps);
            errors.add(Math.abs(fd - grad[i]) / Math.max(Math.abs(fd) + Math.abs(grad[i]), floor));
            checked++;
        }
        assertTrue(checked >= 6, "too few pixels with a measurable gradient: " + checked);
        // a step can cross a ReLU or max-pool switch, where the difference quotient is not the derivative: one such
        // pixel is tolerated; the rest must agree closely
        java.util.Collections.sort(errors);
        assertTrue(errors.get(errors.size() / 2) < 1e-3, "median relative error " + errors);
        assertTrue(errors.get(errors.size() - 2) < 1e-2, "more than one pixel disagrees with finite differences: " + errors);
        // pixels outside the receptive field get exactly zero
        for (int y = 0; y < 16; y++) {
            for (int xx = 0; xx < 16; xx++) {
                boolean inside = y >= win[0] && y < win[0] + win[1] && xx >= win[2] && xx < win[2] + win[3];
                if (!inside) assertEquals(0f, grad[y * 16 + xx], "gradient outside the window at " + y + "," + xx);
            }
        }
    }

    @Test
    void receptiveFieldReachingThePaddingComputesTheWholeMap() {
        // 6×6 input: the centre's window at c1 reaches the border, so no crop — and still the same numbers
        NetGraph g = SameDiffConverter.convert(net(3, 1, 6, ConvolutionMode.Same, 1, 0, PoolingType.MAX),
                new int[] {1, 6, 6}, DataType.FLOAT);
        double[] e = compare(g, "c2", 1, 6, true, false);
        assertTrue(e[0] < 1e-5 && e[1] < 1e-5, e[0] + ", " + e[1]);
    }

    @Test
    void stridedAndExplicitlyPaddedConvolutionsMatch() {
        // stride 2 with SAME on an odd size: the transposed convolution's size differs, conv2d_bp is used
        NetGraph odd = SameDiffConverter.convert(net(4, 1, 15, ConvolutionMode.Same, 2, 0, PoolingType.MAX),
                new int[] {1, 15, 15}, DataType.FLOAT);
        for (boolean crop : new boolean[] {true, false}) {
            double[] e = compare(odd, "c2", 1, 15, crop, null);
            assertTrue(e[0] < 1e-5 && e[1] < 1e-5, "odd stride-2 crop=" + crop + ": " + e[0] + ", " + e[1]);
        }
        // truncate mode with explicit padding 1
        NetGraph padded = SameDiffConverter.convert(net(5, 1, 14, ConvolutionMode.Truncate, 1, 1, PoolingType.MAX),
                new int[] {1, 14, 14}, DataType.FLOAT);
        for (boolean crop : new boolean[] {true, false}) {
            double[] e = compare(padded, "c2", 1, 14, crop, null);
            assertTrue(e[0] < 1e-5 && e[1] < 1e-5, "explicit pad crop=" + crop + ": " + e[0] + ", " + e[1]);
        }
    }

    @Test
    void cropComputesFarLessThanTheWholeMap() {
        NetGraph g = SameDiffConverter.convert(net(1, 1, 32, ConvolutionMode.Same, 1, 0, PoolingType.MAX),
                new int[] {1, 32, 32}, DataType.FLOAT);
        NativeChain crop = NativeChain.compile(g, "c2", 1, 32, 32, true).chain();
        NativeChain whole = NativeChain.compile(g, "c2", 1, 32, 32, false).chain();
        assertTrue(crop.cropped());
        assertFalse(whole.cropped());
        // c2's centre needs a 3×3 window of p1 = 6×6 of r1 = 8×8 input pixels: a sixteenth of the 32×32 input
        assertEquals(8, crop.inputWindow()[1]);
        assertEquals(8, crop.inputWindow()[3]);
        assertArrayEquals(new int[] {0, 32, 0, 32}, whole.inputWindow());
    }

    @Test
    void unsupportedOpsAreNamedAndLeftToSameDiff() {
        // RenderChainGradientTest's net has tanh and softplus: not covered, the renderer keeps SameDiff
        NetGraph g = SameDiffConverter.convert(RenderChainGradientTest.net(1), new int[] {1, 8, 8}, DataType.FLOAT);
        NativeChain.Compiled c = NativeChain.compile(g, "act", 1, 8, 8);
        assertNull(c.chain());
        assertNotNull(c.unsupported());
        assertTrue(c.unsupported().contains("softplus") || c.unsupported().contains("tanh"), c.unsupported());
    }
}
