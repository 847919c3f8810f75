package org.atlas4j.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import org.atlas4j.TinyNets;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.graph.MergeVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DepthwiseConvolution2D;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SeparableConvolution2D;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.conf.layers.ZeroPaddingLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.weights.WeightInit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.layers.convolution.Pooling2D;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.Conv2DConfig;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.PaddingMode;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.Pooling2DConfig;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/**
 * The native graph engine against SameDiff (values and input gradients, float) and against central finite differences
 * (double), on small graphs with every op family the translators emit: branches joined by concatenation and residual
 * addition, strided / dilated / SAME-with-odd-size convolutions, depthwise with multiplier 2, separable, folded and
 * stand-alone BN, ReLU6 / leaky ReLU / tanh / sigmoid / clip, padded pools, zero padding, global pooling, dense.
 */
@org.atlas4j.UnitTest
class NativeGraphTest {
    /** 3×11×11 input; layer names below are the vertices the tests reach. */
    static ComputationGraph branchyNet(long seed, DataType dt) {
        var b = new NeuralNetConfiguration.Builder().seed(seed).weightInit(WeightInit.XAVIER).dataType(dt)
                .convolutionMode(ConvolutionMode.Same).graphBuilder().addInputs("in")
                .setInputTypes(InputType.convolutional(11, 11, 3));
        // SAME, stride 2 on an odd size (11 → 6), then a BN the converter folds into it
        b.addLayer("stem", new ConvolutionLayer.Builder(3, 3).stride(2, 2).nOut(6).activation(Activation.IDENTITY).build(), "in");
        b.addLayer("stem_bn", new BatchNormalization.Builder().build(), "stem");
        b.addLayer("stem_act", new ActivationLayer.Builder().activation(Activation.RELU6).build(), "stem_bn");
        // inverted-residual-like block: depthwise ×2 → pointwise → add
        b.addLayer("dw", new DepthwiseConvolution2D.Builder(3, 3).depthMultiplier(2).nOut(12).activation(Activation.LEAKYRELU).build(), "stem_act");
        b.addLayer("pw", new ConvolutionLayer.Builder(1, 1).nOut(6).activation(Activation.IDENTITY).build(), "dw");
        b.addVertex("res", new ElementWiseVertex(ElementWiseVertex.Op.Add), "pw", "stem_act");
        // branch A: dilated conv → zero padding → max pool without padding (7 → 3)
        // (dilated convolutions fail inside libnd4j's oneDNN conv2d on this build, in SameDiff too: "could not
        // create a descriptor for a dilated convolution", so none here)
        b.addLayer("dil", new ConvolutionLayer.Builder(3, 3).padding(1, 1).convolutionMode(ConvolutionMode.Truncate)
                .nOut(4).activation(Activation.TANH).build(), "res");
        b.addLayer("zp", new ZeroPaddingLayer.Builder(1, 0, 0, 1).build(), "dil");
        b.addLayer("mpA", new SubsamplingLayer.Builder(PoolingType.MAX).kernelSize(3, 3).stride(2, 2)
                .convolutionMode(ConvolutionMode.Truncate).build(), "zp");
        // branch B: separable (multiplier 2) → average pool with explicit padding (6 → 3)
        b.addLayer("sep", new SeparableConvolution2D.Builder(3, 3).depthMultiplier(2).nOut(5).activation(Activation.RELU).build(), "res");
        b.addLayer("apB", new SubsamplingLayer.Builder(PoolingType.AVG).kernelSize(3, 3).stride(2, 2).padding(1, 1)
                .convolutionMode(ConvolutionMode.Truncate).build(), "sep");
        // branch C: strided convolution with explicit padding (6 → 3)
        b.addLayer("convC", new ConvolutionLayer.Builder(3, 3).stride(2, 2).padding(1, 1).nOut(3)
                .convolutionMode(ConvolutionMode.Truncate).activation(Activation.RELU).build(), "res");
        // branch D: SAME max pool (6 → 3)
        b.addLayer("mpD", new SubsamplingLayer.Builder(PoolingType.MAX).kernelSize(3, 3).stride(2, 2).build(), "res");
        // branch E: strided depthwise, multiplier 1, SAME on an even size (6 → 3)
        // then a BN the converter leaves as multiply/add (it folds only into standard convolutions): the engine folds it
        b.addLayer("dwE", new DepthwiseConvolution2D.Builder(3, 3).stride(2, 2).depthMultiplier(1).nOut(6)
                .activation(Activation.IDENTITY).build(), "res");
        b.addLayer("dwE_bn", new BatchNormalization.Builder().build(), "dwE");
        b.addLayer("dwE_act", new ActivationLayer.Builder().activation(Activation.RELU).build(), "dwE_bn");
        b.addVertex("merge", new MergeVertex(), "mpA", "apB", "convC", "mpD", "dwE_act");
        // a BN that cannot fold (after a merge): per-channel affine mul/add
        b.addLayer("bn2", new BatchNormalization.Builder().build(), "merge");
        b.addLayer("act2", new ActivationLayer.Builder().activation(Activation.SIGMOID).build(), "bn2");
        b.addLayer("gap", new GlobalPoolingLayer.Builder(PoolingType.AVG).build(), "act2");
        b.addLayer("out", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(4).activation(Activation.SOFTMAX).build(), "gap");
        b.setOutputs("out");
        ComputationGraph g = new ComputationGraph(b.build());
        g.init();
        TinyNets.randomizeBatchNorm(g.getLayers(), seed + 1);
        return g;
    }

    static NetGraph branchy(DataType dt) {
        return SameDiffConverter.convert(branchyNet(7, dt), new int[] {3, 11, 11}, dt);
    }

    /** Adds Σ layer·R (R a placeholder) as the graph's loss, once per layer. */
    static String lossFor(NetGraph g, String layer) {
        SameDiff sd = g.sameDiff();
        String var = g.layer(layer).variable();
        String loss = "loss_" + var;
        if (!sd.hasVariable(loss)) {
            SDVariable v = sd.getVariable(var);
            long[] s = g.shape(layer).shape();
            long[] ph = new long[s.length + 1];
            ph[0] = -1;
            System.arraycopy(s, 0, ph, 1, s.length);
            SDVariable r = sd.placeHolder("R_" + var, v.dataType(), ph);
            sd.sum(loss, v.mul(r));
        }
        if (!sd.getLossVariables().equals(List.of(loss))) sd.setLossVariables(loss);
        return loss;
    }

    static INDArray sameDiffGradient(NetGraph g, String layer, INDArray x, INDArray r) {
        lossFor(g, layer);
        Map<String, INDArray> ph = new HashMap<>();
        ph.put(g.input(), x);
        ph.put("R_" + g.layer(layer).variable(), r);
        return g.gradients(ph, g.input()).get(g.input());
    }

    static void assertClose(INDArray want, INDArray got, double rel, String what) {
        assertArrayEquals(want.shape(), got.shape(), what + ": shape");
        double scale = want.castTo(DataType.DOUBLE).amaxNumber().doubleValue();
        double err = want.castTo(DataType.DOUBLE).sub(got.castTo(DataType.DOUBLE)).amaxNumber().doubleValue();
        assertTrue(scale > 0, what + ": all-zero reference");
        assertTrue(err <= rel * scale, what + ": max |diff| " + err + " vs scale " + scale);
    }

    static NativeGraph compiled(NetGraph g, String layer, int c, int h, int w, boolean channelsLast) {
        NativeGraph.Compiled cg = NativeGraph.compile(g, layer, c, h, w, channelsLast);
        assertNull(cg.unsupported(), layer + ": " + cg.unsupported());
        return cg.engine();
    }

    @ParameterizedTest
    @ValueSource(strings = {"res", "merge", "act2", "gap", "out"})
    void valuesAndInputGradientsEqualSameDiffs(String layer) {
        NetGraph g = branchy(DataType.FLOAT);
        for (boolean channelsLast : new boolean[] {true, false}) {
            NativeGraph e = compiled(g, layer, 3, 11, 11, channelsLast);
            Nd4j.getRandom().setSeed(3);
            INDArray x = Nd4j.randn(DataType.FLOAT, 3, 3, 11, 11);
            INDArray want = g.forward(x, g.layer(layer).variable()).get(g.layer(layer).variable());
            NativeGraph.Session s = e.session(3);
            assertClose(want, s.forward(x).dup(), 1e-5, layer + " forward");
            INDArray r = Nd4j.randn(DataType.FLOAT, want.shape());
            INDArray gw = sameDiffGradient(g, layer, x, r);
            assertClose(gw, s.backward(r).dup(), 1e-4, layer + " input gradient, channelsLast " + channelsLast);
            // a second step with other data reuses every buffer and gives the new answers
            INDArray x2 = Nd4j.randn(DataType.FLOAT, 3, 3, 11, 11);
            assertClose(g.forward(x2, g.layer(layer).variable()).get(g.layer(layer).variable()), s.forward(x2).dup(), 1e-5,
                    layer + " second forward");
            assertClose(sameDiffGradient(g, layer, x2, r), s.backward(r).dup(), 1e-4, layer + " second gradient");
            // the forward-only session (recycled buffers, in-place activations) computes the same map
            assertClose(want, e.inferenceSession(3).forward(x).dup(), 1e-5, layer + " inference session");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"res", "merge"})
    void centreStepsReuseTheSessionsBuffersAndForgetTheLastSeed(String layer) {
        NetGraph g = branchy(DataType.FLOAT);
        NativeGraph e = compiled(g, layer, 3, 11, 11, true);
        Nd4j.getRandom().setSeed(7);
        INDArray x = Nd4j.randn(DataType.FLOAT, 2, 3, 11, 11);
        NativeGraph.Session s = e.session(2);
        float[] centre = s.forward(x.dup().data().asFloat()).clone();
        INDArray map = g.forward(x, g.layer(layer).variable()).get(g.layer(layer).variable());
        long[] sh = map.shape();
        int c = (int) sh[1];
        for (int i = 0; i < 2; i++) {
            for (int k = 0; k < c; k++) {
                assertEquals(map.getFloat(i, k, sh[2] / 2, sh[3] / 2), centre[i * c + k], 1e-5f, "centre " + i + "," + k);
            }
        }
        // a full-map pass first fills the whole seed buffer; the centre steps must start from zeros again
        s.backward(Nd4j.randn(DataType.FLOAT, sh));
        for (int round = 0; round < 2; round++) {
            float[] dc = s.centreGradBuffer();
            Random rnd = new Random(round);
            for (int k = 0; k < dc.length; k++) dc[k] = (float) rnd.nextGaussian();
            INDArray d = Nd4j.zeros(DataType.FLOAT, sh);
            for (int i = 0; i < 2; i++) {
                for (int k = 0; k < c; k++) d.putScalar(new long[] {i, k, sh[2] / 2, sh[3] / 2}, dc[i * c + k]);
            }
            float[] got = new float[(int) x.length()];
            s.forward(x.dup().data().asFloat());
            s.backward(dc, got);
            assertClose(sameDiffGradient(g, layer, x, d), Nd4j.create(got, x.shape(), 'c'), 1e-4, layer + " centre gradient " + round);
        }
    }

    @Test
    void batchNormAfterADepthwiseConvolutionIsFoldedIntoIt() {
        NetGraph g = branchy(DataType.FLOAT);
        boolean converterLeftIt = g.sameDiff().ops().length > 0 && java.util.Arrays.stream(g.sameDiff().ops())
                .anyMatch(f -> f.opName().equals("multiply") || f.opName().equals("mul"));
        assertTrue(converterLeftIt, "the fixture should contain an unfolded BN");
        NativeGraph e = compiled(g, "merge", 3, 11, 11, true);
        assertTrue(e.ops().stream().noneMatch(op -> op instanceof NativeGraph.Binary bi && bi.b() < 0),
                "a per-channel multiply/add by a constant is left: " + e.ops());
        // "act2" ends in the BN after the merge, which follows no convolution: it stays
        assertTrue(compiled(g, "act2", 3, 11, 11, true).ops().stream().anyMatch(op -> op instanceof NativeGraph.Binary bi && bi.b() < 0));
    }

    @ParameterizedTest
    @ValueSource(strings = {"merge", "out"})
    void inputGradientsEqualFiniteDifferencesInDouble(String layer) {
        NetGraph g = branchy(DataType.DOUBLE);
        NativeGraph e = compiled(g, layer, 3, 11, 11, true);
        Nd4j.getRandom().setSeed(5);
        INDArray x = Nd4j.randn(DataType.DOUBLE, 2, 3, 11, 11);
        String var = g.layer(layer).variable();
        INDArray r = Nd4j.randn(DataType.DOUBLE, g.forward(x, var).get(var).shape());
        NativeGraph.Session s = e.session(2);
        s.forward(x);
        INDArray grad = s.backward(r).dup();
        double scale = grad.amaxNumber().doubleValue();
        assertTrue(scale > 0);
        double eps = 1e-6;
        Random rnd = new Random(2);
        for (int k = 0; k < 40; k++) {
            long i = rnd.nextInt((int) x.length());
            double keep = x.getDouble(i);
            x.putScalar(i, keep + eps);
            double up = g.forward(x, var).get(var).mul(r).sumNumber().doubleValue();
            x.putScalar(i, keep - eps);
            double down = g.forward(x, var).get(var).mul(r).sumNumber().doubleValue();
            x.putScalar(i, keep);
            assertEquals((up - down) / (2 * eps), grad.getDouble(i), 1e-6 * scale, layer + " input " + i);
        }
    }

    /** The ops an ONNX translation emits, built directly: biasAdd, clip, pad, padded pools, concat, add, mean, reshape, mmul, softmax. */
    static NetGraph onnxLike(DataType dt) {
        SameDiff sd = SameDiff.create();
        Nd4j.getRandom().setSeed(11);
        SDVariable x = sd.placeHolder("input", dt, -1, 3, 9, 9);
        SDVariable w1 = sd.var("w1", Nd4j.randn(dt, 3, 3, 3, 4).muli(0.4));
        Conv2DConfig s2 = Conv2DConfig.builder().kH(3).kW(3).sH(2).sW(2).pH(1).pW(1).paddingMode(PaddingMode.VALID).dataFormat("NCHW").build();
        SDVariable c1 = sd.cnn().conv2d("c1", x, w1, s2); // 9 → 5
        SDVariable b1 = sd.nn().biasAdd("b1", c1, sd.constant("bias1", Nd4j.randn(dt, 4)), true);
        SDVariable r1 = sd.math().clipByValue("r1", b1, 0, 0.8);
        SDVariable p = sd.nn().pad("p", r1, sd.constant("pads", Nd4j.createFromArray(new int[][] {{0, 0}, {0, 0}, {1, 1}, {1, 1}})), 0.0); // 7
        SDVariable mp = sd.cnn().maxPooling2d("mp", p, Pooling2DConfig.builder().kH(3).kW(3).sH(2).sW(2).pH(1).pW(1)
                .paddingMode(PaddingMode.VALID).isNHWC(false).type(Pooling2D.Pooling2DType.MAX).build()); // 4
        Conv2DConfig dwc = Conv2DConfig.builder().kH(2).kW(2).sH(1).sW(1).paddingMode(PaddingMode.VALID).dataFormat("NCHW").build();
        SDVariable dw = sd.cnn().depthWiseConv2d("dw", r1, sd.constant("dww", Nd4j.randn(dt, 2, 2, 4, 1)), dwc); // 4
        SDVariable r6 = sd.nn().relu6("r6", dw, 0);
        SDVariable ap = sd.cnn().avgPooling2d("ap", r1, Pooling2DConfig.builder().kH(3).kW(3).sH(1).sW(1).pH(1).pW(1)
                .paddingMode(PaddingMode.SAME).isNHWC(false).type(Pooling2D.Pooling2DType.AVG)
                .divisor(Pooling2D.Divisor.INCLUDE_PADDING).build()); // 5
        SDVariable apc = sd.cnn().avgPooling2d("apc", ap, Pooling2DConfig.builder().kH(2).kW(2).sH(1).sW(1)
                .paddingMode(PaddingMode.VALID).isNHWC(false).type(Pooling2D.Pooling2DType.AVG).build()); // 4
        SDVariable cat = sd.concat("cat", 1, mp, r6, apc); // 12 × 4 × 4
        SDVariable add = cat.add("add", sd.concat("cat2", 1, r6, apc, mp));
        sd.mean("gap", add, false, 2, 3);
        SDVariable flat = sd.reshape("flat", add, -1, 12 * 16);
        SDVariable fc = flat.mmul("fc", sd.constant("fcw", Nd4j.randn(dt, 12 * 16, 5).muli(0.1)));
        sd.nn().softmax("sm", fc, 1);
        List<NetGraph.Node> nodes = new java.util.ArrayList<>();
        int i = 0;
        for (String n : new String[] {"r1", "mp", "cat", "add", "gap", "flat", "fc", "sm"}) nodes.add(new NetGraph.Node(i++, n, "op", n));
        return new NetGraph(sd, "input", new int[] {3, 9, 9}, nodes, "fc", "sm");
    }

    /**
     * The stems of ImageNet networks (few input channels: their input gradient is one GEMM per image and a col2im):
     * GoogLeNet/ResNet 7×7 stride 2 pad 3, InceptionV3 3×3 stride 2 unpadded, MobileNetV2 3×3 stride 2 pad 1, a
     * greyscale 5×5 stride 1 SAME, each against SameDiff's input gradient, twice (buffers reused).
     */
    @ParameterizedTest
    @org.junit.jupiter.params.provider.CsvSource({"3, 7, 2, 3, false, 23", "3, 3, 2, 0, false, 20", "3, 3, 2, 1, false, 16",
            "1, 5, 1, 0, true, 9", "4, 3, 3, 1, false, 14"})
    void fewChannelStemGradientsEqualSameDiffs(int cin, int k, int stride, int pad, boolean same, int size) {
        SameDiff sd = SameDiff.create();
        Nd4j.getRandom().setSeed(21);
        SDVariable x = sd.placeHolder("input", DataType.FLOAT, -1, cin, size, size);
        Conv2DConfig cfg = Conv2DConfig.builder().kH(k).kW(k).sH(stride).sW(stride).pH(pad).pW(pad)
                .paddingMode(same ? PaddingMode.SAME : PaddingMode.VALID).dataFormat("NCHW").build();
        SDVariable c = sd.cnn().conv2d("stem", x, sd.var("w", Nd4j.randn(DataType.FLOAT, k, k, cin, 8).muli(0.3)), cfg);
        sd.nn().relu("act", c, 0);
        NetGraph g = new NetGraph(sd, "input", new int[] {cin, size, size},
                List.of(new NetGraph.Node(0, "stem", "op", "stem"), new NetGraph.Node(1, "act", "op", "act")), null, null);
        NativeGraph e = compiled(g, "act", cin, size, size, true);
        NativeGraph.Session s = e.session(3);
        for (int round = 0; round < 2; round++) {
            INDArray xi = Nd4j.randn(DataType.FLOAT, 3, cin, size, size);
            INDArray want = g.forward(xi, "act").get("act");
            assertClose(want, s.forward(xi).dup(), 1e-5, "forward");
            INDArray r = Nd4j.randn(DataType.FLOAT, want.shape());
            assertClose(sameDiffGradient(g, "act", xi, r), s.backward(r).dup(), 1e-4, "input gradient, round " + round);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"mp", "add", "gap", "sm"})
    void onnxStyleOpsEqualSameDiffAndFiniteDifferences(String layer) {
        NetGraph g = onnxLike(DataType.FLOAT);
        NativeGraph e = compiled(g, layer, 3, 9, 9, true);
        INDArray x = Nd4j.randn(DataType.FLOAT, 2, 3, 9, 9);
        INDArray want = g.forward(x, layer).get(layer);
        NativeGraph.Session s = e.session(2);
        assertClose(want, s.forward(x).dup(), 1e-5, layer + " forward");
        INDArray r = Nd4j.randn(DataType.FLOAT, want.shape());
        assertClose(sameDiffGradient(g, layer, x, r), s.backward(r).dup(), 1e-4, layer + " input gradient");

        NetGraph gd = onnxLike(DataType.DOUBLE);
        NativeGraph ed = compiled(gd, layer, 3, 9, 9, true);
        INDArray xd = x.castTo(DataType.DOUBLE);
        INDArray rd = r.castTo(DataType.DOUBLE);
        NativeGraph.Session sd = ed.session(2);
        sd.forward(xd);
        INDArray grad = sd.backward(rd).dup();
        double scale = grad.amaxNumber().doubleValue();
        double eps = 1e-6;
        Random rnd = new Random(4);
        for (int k = 0; k < 30; k++) {
            long i = rnd.nextInt((int) xd.length());
            double keep = xd.getDouble(i);
            xd.putScalar(i, keep + eps);
            double up = gd.forward(xd, layer).get(layer).mul(rd).sumNumber().doubleValue();
            xd.putScalar(i, keep - eps);
            double down = gd.forward(xd, layer).get(layer).mul(rd).sumNumber().doubleValue();
            xd.putScalar(i, keep);
            assertEquals((up - down) / (2 * eps), grad.getDouble(i), 1e-6 * scale, layer + " input " + i);
        }
    }

    @Test
    void tfjsFunctionalCnnRunsNatively() throws Exception {
        Path fixture = Path.of("src/test/resources/fixtures/tfjs-keras/functional-cnn");
        LoadedModel m = LoadedModel.load(fixture, null);
        NetGraph g = m.graph();
        int[] in = g.inputShape();
        INDArray x = KerasImportTest.reference("functional-cnn").nchw();
        int covered = 0;
        for (NetGraph.LayerShape ls : g.shapes()) {
            String layer = ls.node().name();
            NativeGraph.Compiled c = NativeGraph.compile(g, layer, in[0], in[1], in[2]);
            assertNull(c.unsupported(), layer + ": " + c.unsupported());
            String var = ls.node().variable();
            INDArray want = g.forward(x, var).get(var);
            NativeGraph.Session s = c.engine().session((int) x.size(0));
            assertClose(want, s.forward(x).dup(), 1e-5, layer + " forward");
            INDArray r = Nd4j.randn(DataType.FLOAT, want.shape());
            assertClose(sameDiffGradient(g, layer, x, r), s.backward(r).dup(), 1e-4, layer + " input gradient");
            covered++;
        }
        assertTrue(covered >= 5, "layers checked: " + covered);
    }

    @Test
    void inferenceSessionsRecycleBuffersAndTrainingSessionsKeepWhatBackwardNeeds() {
        NetGraph g = branchy(DataType.FLOAT);
        NativeGraph e = compiled(g, "act2", 3, 11, 11, true);
        long inference = e.inferenceSession(8).bufferBytes();
        long training = e.session(8).bufferBytes();
        assertTrue(inference * 2 < training, "inference " + inference + " B vs training " + training + " B");
    }

    @Test
    void unsupportedOpsAreNamedSoCallersFallBack() {
        SameDiff sd = SameDiff.create();
        SDVariable x = sd.placeHolder("input", DataType.FLOAT, -1, 2, 5, 5);
        SDVariable c = sd.cnn().conv2d("c", x, sd.var("w", Nd4j.randn(DataType.FLOAT, 3, 3, 2, 2)),
                Conv2DConfig.builder().kH(3).kW(3).paddingMode(PaddingMode.SAME).dataFormat("NCHW").build());
        sd.nn().swish("sw", c);
        NetGraph g = new NetGraph(sd, "input", new int[] {2, 5, 5}, List.of(new NetGraph.Node(0, "sw", "op", "sw")), null, null);
        NativeGraph.Compiled cg = NativeGraph.compile(g, "sw", 2, 5, 5);
        assertNull(cg.engine());
        assertNotNull(cg.unsupported());
        assertTrue(cg.unsupported().contains("swish") && cg.unsupported().contains("sw"), cg.unsupported());
    }
}
