package org.atlas4j.model;

import static org.atlas4j.model.NativeGraphTest.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.Test;
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
 * The attribution passes on the native graph: forward to the logits keeping an intermediate layer, one backward pass
 * seeded with a per-sample one-hot (each sample its own class), the gradient read at the layer (partial pass) and at
 * the input (full pass). Against SameDiff's class-score gradients (float) and central finite differences (double), on
 * the DL4J branchy graph (branches, concat, residual add, depthwise, ReLU6, pools, BN, dense) and on an ONNX-style head
 * (Gemm as matmul + bias, flatten of a spatial map, global average pooling, two heads added).
 */
@org.atlas4j.UnitTest
class NativeGraphLogitsTest {
    /** conv+bias → relu → {depthwise → relu6, SAME max pool} concat → + 1×1 conv → "layer" → {gap, flatten} → gemm → add. */
    static NetGraph onnxHead(DataType dt) {
        SameDiff sd = SameDiff.create();
        Nd4j.getRandom().setSeed(21);
        SDVariable x = sd.placeHolder("input", dt, -1, 3, 7, 7);
        Conv2DConfig same3 = Conv2DConfig.builder().kH(3).kW(3).sH(1).sW(1).paddingMode(PaddingMode.SAME).dataFormat("NCHW").build();
        SDVariable c1 = sd.cnn().conv2d("c1", x, sd.var("w1", Nd4j.randn(dt, 3, 3, 3, 4).muli(0.4)) /* a VARIABLE: SameDiff differentiates only graphs with one */, same3);
        SDVariable b1 = sd.nn().biasAdd("b1", c1, sd.constant("bias1", Nd4j.randn(dt, 4).muli(0.1)), true);
        SDVariable r1 = sd.nn().relu("r1", b1, 0);
        SDVariable dw = sd.cnn().depthWiseConv2d("dw", r1, sd.constant("dww", Nd4j.randn(dt, 3, 3, 4, 1).muli(0.5)), same3);
        SDVariable r6 = sd.nn().relu6("r6", dw, 0);
        SDVariable mp = sd.cnn().maxPooling2d("mp", r1, Pooling2DConfig.builder().kH(3).kW(3).sH(1).sW(1)
                .paddingMode(PaddingMode.SAME).isNHWC(false).type(Pooling2D.Pooling2DType.MAX).build());
        SDVariable cat = sd.concat("cat", 1, r6, mp); // 8 × 7 × 7
        Conv2DConfig one = Conv2DConfig.builder().kH(1).kW(1).sH(1).sW(1).paddingMode(PaddingMode.VALID).dataFormat("NCHW").build();
        SDVariable pw = sd.cnn().conv2d("pw", r1, sd.constant("pww", Nd4j.randn(dt, 1, 1, 4, 8).muli(0.5)), one);
        SDVariable layer = cat.add("layer", pw);
        SDVariable gap = sd.mean("gap", layer, false, 2, 3);
        SDVariable g1 = gap.mmul("g1", sd.constant("fc1", Nd4j.randn(dt, 8, 5).muli(0.5))).add("gemm1", sd.constant("fb1", Nd4j.randn(dt, 1, 5)));
        SDVariable flat = sd.reshape("flat", layer, -1, 8 * 49);
        SDVariable g2 = flat.mmul("g2", sd.constant("fc2", Nd4j.randn(dt, 8 * 49, 5).muli(0.05)));
        SDVariable logits = g1.add("logits", g2);
        sd.nn().softmax("probs", logits, 1);
        List<NetGraph.Node> nodes = List.of(new NetGraph.Node(0, "r1", "op", "r1"), new NetGraph.Node(1, "layer", "op", "layer"),
                new NetGraph.Node(2, "logits", "op", "logits"));
        return new NetGraph(sd, "input", new int[] {3, 7, 7}, nodes, "logits", "probs");
    }

    static NativeGraph toLogits(NetGraph g, String layer) {
        int[] in = g.inputShape();
        NativeGraph.Compiled c = NativeGraph.compileVariables(g, g.logits(), List.of(g.layer(layer).variable()), in[0], in[1], in[2]);
        assertNull(c.unsupported(), c.unsupported());
        return c.engine();
    }

    static INDArray oneHot(int b, int classes, int[] cls, DataType dt) {
        INDArray w = Nd4j.zeros(dt, b, classes);
        for (int i = 0; i < b; i++) w.putScalar(i, cls[i], 1.0);
        return w;
    }

    /** Native layer and input gradients of each sample's own class score equal SameDiff's (float). */
    void matchesSameDiff(NetGraph g, String layer) {
        NativeGraph e = toLogits(g, layer);
        String var = g.layer(layer).variable();
        int[] in = g.inputShape();
        int b = 3;
        Nd4j.getRandom().setSeed(8);
        INDArray x = Nd4j.randn(DataType.FLOAT, b, in[0], in[1], in[2]);
        int classes = g.classCount();
        int[] cls = {0, classes - 1, 1}; // a different class per sample
        INDArray w = oneHot(b, classes, cls, DataType.FLOAT);
        NativeGraph.Session s = e.session(b);
        INDArray logits = s.forward(x).dup();
        assertClose(g.forward(x, g.logits()).get(g.logits()), logits, 1e-5, layer + " logits");
        assertClose(g.forward(x, var).get(var), s.variable(var).dup(), 1e-5, layer + " kept activation");
        INDArray wantLayer = g.classScoreGradient(x, w, var);
        INDArray wantInput = g.classScoreGradient(x, w, g.input());
        // partial pass (stops at the layer), then a full pass giving both
        assertClose(wantLayer, s.backwardTo(w, var).dup(), 1e-4, layer + " layer gradient, partial pass");
        assertClose(wantInput, s.backwardTo(w, e.inputName()).dup(), 1e-4, layer + " input gradient");
        assertClose(wantLayer, s.gradient(var).dup(), 1e-4, layer + " layer gradient, full pass");
        // the kept activation survives the backward pass (Grad-CAM++ reads it with the gradient)
        assertClose(g.forward(x, var).get(var), s.variable(var).dup(), 1e-5, layer + " kept activation after backward");
    }

    @Test
    void dl4jBranchyGraphMatchesSameDiff() {
        matchesSameDiff(NativeGraphTest.branchy(DataType.FLOAT), "merge");
    }

    @Test
    void onnxStyleHeadMatchesSameDiff() {
        matchesSameDiff(onnxHead(DataType.FLOAT), "layer");
        matchesSameDiff(onnxHead(DataType.FLOAT), "r1");
    }

    /**
     * Double precision against central differences: the input gradient directly; the layer gradient g_A through the
     * chain rule on a cut (every path from the input to the logits passes the layer): for a random direction v,
     * d logit/dv = g_A · (dA/dv), both derivatives by central differences.
     */
    void matchesFiniteDifferences(NetGraph g, String layer) {
        NativeGraph e = toLogits(g, layer);
        String var = g.layer(layer).variable();
        int[] in = g.inputShape();
        int b = 2;
        Nd4j.getRandom().setSeed(9);
        INDArray x = Nd4j.randn(DataType.DOUBLE, b, in[0], in[1], in[2]);
        int classes = g.classCount();
        int[] cls = {classes - 1, 0};
        INDArray w = oneHot(b, classes, cls, DataType.DOUBLE);
        NativeGraph.Session s = e.session(b);
        s.forward(x);
        INDArray gl = s.backwardTo(w, var).dup();
        INDArray gx = s.backwardTo(w, e.inputName()).dup();
        double eps = 1e-6;
        double scale = gx.amaxNumber().doubleValue();
        assertTrue(scale > 0);
        Random rnd = new Random(3);
        for (int k = 0; k < 30; k++) {
            long i = rnd.nextInt((int) x.length());
            double keep = x.getDouble(i);
            x.putScalar(i, keep + eps);
            double up = g.forward(x, g.logits()).get(g.logits()).mul(w).sumNumber().doubleValue();
            x.putScalar(i, keep - eps);
            double down = g.forward(x, g.logits()).get(g.logits()).mul(w).sumNumber().doubleValue();
            x.putScalar(i, keep);
            assertEquals((up - down) / (2 * eps), gx.getDouble(i), 1e-6 * scale, layer + " input " + i);
        }
        for (int k = 0; k < 4; k++) {
            INDArray v = Nd4j.randn(DataType.DOUBLE, x.shape());
            INDArray xp = x.add(v.mul(eps));
            INDArray xm = x.sub(v.mul(eps));
            INDArray dA = g.forward(xp, var).get(var).sub(g.forward(xm, var).get(var)).divi(2 * eps);
            double dL = (g.forward(xp, g.logits()).get(g.logits()).mul(w).sumNumber().doubleValue()
                    - g.forward(xm, g.logits()).get(g.logits()).mul(w).sumNumber().doubleValue()) / (2 * eps);
            double chain = gl.mul(dA).sumNumber().doubleValue();
            assertEquals(dL, chain, 1e-6 * (1 + Math.abs(dL)), layer + " layer gradient along direction " + k);
        }
    }

    @Test
    void dl4jBranchyGraphMatchesFiniteDifferencesInDouble() {
        matchesFiniteDifferences(NativeGraphTest.branchy(DataType.DOUBLE), "merge");
    }

    @Test
    void onnxStyleHeadMatchesFiniteDifferencesInDouble() {
        matchesFiniteDifferences(onnxHead(DataType.DOUBLE), "layer");
        matchesFiniteDifferences(onnxHead(DataType.DOUBLE), "r1");
    }

    @Test
    void onlyKeptVariablesCanBeRead() {
        NetGraph g = onnxHead(DataType.FLOAT);
        NativeGraph e = toLogits(g, "layer");
        NativeGraph.Session s = e.session(1);
        s.forward(Nd4j.rand(DataType.FLOAT, 1, 3, 7, 7));
        assertThrows(IllegalArgumentException.class, () -> s.backwardTo(Nd4j.ones(DataType.FLOAT, 1, 5), "r1"));
        assertThrows(IllegalArgumentException.class, () -> s.gradient("cat"));
        assertThrows(IllegalStateException.class, () -> e.inferenceSession(1).backwardTo(Nd4j.ones(DataType.FLOAT, 1, 5), "layer"));
    }
}
