package org.atlas4j.model;

import static org.atlas4j.model.OnnxGraphs.f;
import static org.atlas4j.model.OnnxGraphs.i;
import static org.atlas4j.model.OnnxGraphs.ints;
import static org.atlas4j.model.OnnxGraphs.s;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;

import org.atlas4j.attribution.CamHead;
import org.atlas4j.model.OnnxGraphs.A;
import org.atlas4j.util.UserError;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import onnx.Onnx;

/** ONNX models built in Java: the imported graph against plain-loop references, gradients against finite differences. */
@org.atlas4j.UnitTest
class OnnxImportTest {

    /** A conv stack: asymmetric pads, strides, dilation, folded and standalone BN, depthwise, grouped, SAME_UPPER, Gemm. */
    record ConvNet(Onnx.ModelProto model, java.util.function.Function<A, A> reference) {
    }

    static ConvNet convNet() {
        OnnxGraphs g = new OnnxGraphs(3);
        double[] w1 = g.init("stem.conv:weight/0", 0.5, 6, 4, 3, 2);
        double[] b1 = g.init("stem.conv.bias", 0.2, 6);
        double[] bnS = g.init("bn.scale", 1, 6);
        double[] bnB = g.init("bn.B", 0.3, 6);
        double[] bnM = g.init("bn.mean", 0.3, 6);
        double[] bnV = positive(g.init("bn.var.tmp", 1, 6));
        g.init("bn.var", bnV, 6);
        double[] wd = g.init("dw.weight", 0.6, 12, 1, 3, 3);
        g.init("zero", new double[] {0});
        g.init("six", new double[] {6});
        double[] wg = g.init("pw.weight", 0.5, 6, 4, 1, 1);
        double[] bg = g.init("pw.bias", 0.2, 6);
        double[] addC = g.init("add.c", 0.5, 6, 1, 1);
        double[] s2 = g.init("bn2.scale", 1, 6);
        double[] b2 = g.init("bn2.B", 0.3, 6);
        double[] m2 = g.init("bn2.mean", 0.3, 6);
        double[] v2 = positive(g.init("bn2.var.tmp", 1, 6));
        g.init("bn2.var", v2, 6);
        double[] wh = g.init("head.weight", 0.4, 5, 6, 3, 3);
        double[] bh = g.init("head.bias", 0.2, 5);
        double[] wf = g.init("fc.weight", 0.5, 3, 5);
        double[] bf = g.init("fc.bias", 0.5, 3);
        g.node("Conv", "/stem/conv/Conv", List.of("x", "stem.conv:weight/0", "stem.conv.bias"), List.of("c1"),
                ints("strides", 2, 1), ints("pads", 1, 0, 2, 1), ints("dilations", 1, 2), ints("kernel_shape", 3, 2));
        g.node("BatchNormalization", "/stem/bn/BatchNormalization", List.of("c1", "bn.scale", "bn.B", "bn.mean", "bn.var"),
                List.of("bn1"), f("epsilon", 1e-3));
        g.node("LeakyRelu", "/stem/act/LeakyRelu", List.of("bn1"), List.of("a1"), f("alpha", 0.1));
        g.node("Conv", "/blocks/blocks.0/dw/Conv", List.of("a1", "dw.weight"), List.of("dw"), i("group", 6),
                ints("pads", 1, 1, 1, 1));
        g.node("Clip", "/blocks/blocks.0/act/Clip", List.of("dw", "zero", "six"), List.of("r6"));
        g.node("Conv", "/blocks/blocks.0/pw/Conv", List.of("r6", "pw.weight", "pw.bias"), List.of("pw"), i("group", 3));
        g.node("Add", "/blocks/blocks.0/Add", List.of("pw", "add.c"), List.of("sum"));
        g.node("BatchNormalization", "/blocks/blocks.0/bn/BatchNormalization",
                List.of("sum", "bn2.scale", "bn2.B", "bn2.mean", "bn2.var"), List.of("bn2"));
        g.node("Conv", "/head/conv/Conv", List.of("bn2", "head.weight", "head.bias"), List.of("hc"), s("auto_pad", "SAME_UPPER"),
                ints("strides", 2, 2));
        g.node("Relu", "/head/relu/Relu", List.of("hc"), List.of("hr"));
        g.node("GlobalAveragePool", "/pool/GlobalAveragePool", List.of("hr"), List.of("gp"));
        g.node("Flatten", "/Flatten", List.of("gp"), List.of("flat"));
        g.node("Gemm", "/fc/Gemm", List.of("flat", "fc.weight", "fc.bias"), List.of("logits"), i("transB", 1), f("alpha", 0.7),
                f("beta", 1.3));
        Onnx.ModelProto m = g.model("x", new long[] {1, 4, 7, 9}, "logits");
        return new ConvNet(m, x -> {
            A y = OnnxGraphs.conv(x, new A(w1, 6, 4, 3, 2), b1, new int[] {2, 1}, new int[] {1, 0, 2, 1}, new int[] {1, 2}, 1);
            double[][] bn = OnnxGraphs.bn(bnS, bnB, bnM, bnV, 1e-3);
            y = OnnxGraphs.channelAffine(y, bn[0], bn[1]).map(v -> v > 0 ? v : 0.1 * v);
            y = OnnxGraphs.conv(y, new A(wd, 12, 1, 3, 3), null, new int[] {1, 1}, new int[] {1, 1, 1, 1}, new int[] {1, 1}, 6)
                    .map(v -> Math.min(6, Math.max(0, v)));
            y = OnnxGraphs.conv(y, new A(wg, 6, 4, 1, 1), bg, new int[] {1, 1}, new int[4], new int[] {1, 1}, 3);
            y = OnnxGraphs.channelAffine(y, new double[] {1, 1, 1, 1, 1, 1}, addC);
            double[][] bn2 = OnnxGraphs.bn(s2, b2, m2, v2, 1e-5);
            y = OnnxGraphs.channelAffine(y, bn2[0], bn2[1]);
            // SAME_UPPER, stride 2, kernel 3 on 4×8: one extra row and column at the end
            y = OnnxGraphs.conv(y, new A(wh, 5, 6, 3, 3), bh, new int[] {2, 2}, new int[] {0, 0, 1, 1}, new int[] {1, 1}, 1)
                    .map(v -> Math.max(0, v));
            A gp = OnnxGraphs.gap(y);
            double[] w = OnnxGraphs.transpose(wf, 3, 5);
            for (int k = 0; k < w.length; k++) w[k] *= 0.7;
            double[] b = bf.clone();
            for (int k = 0; k < b.length; k++) b[k] *= 1.3;
            return OnnxGraphs.dense(gp, w, 5, 3, b);
        });
    }

    private static double[] positive(double[] v) {
        for (int k = 0; k < v.length; k++) v[k] = 0.2 + Math.abs(v[k]);
        return v;
    }

    static A randomInput(long seed, int... d) {
        A x = A.zeros(d);
        Random r = new Random(seed);
        for (int k = 0; k < x.v().length; k++) x.v()[k] = r.nextGaussian() * 2;
        return x;
    }

    static INDArray nd(A a, DataType dt) {
        return Nd4j.createFromArray(a.v()).reshape(java.util.Arrays.stream(a.d()).asLongStream().toArray()).castTo(dt);
    }

    static void assertClose(A expected, INDArray actual, double tol, String what) {
        assertArrayEquals(java.util.Arrays.stream(expected.d()).asLongStream().toArray(), actual.shape(), what + " shape");
        double[] got = actual.castTo(DataType.DOUBLE).dup('c').data().asDouble();
        double worst = 0;
        for (int k = 0; k < got.length; k++) worst = Math.max(worst, Math.abs(got[k] - expected.v()[k]));
        assertTrue(worst <= tol, what + ": max abs difference " + worst + " > " + tol);
    }

    @Test
    void convolutionsBatchNormAndGemmMatchLoops() {
        ConvNet c = convNet();
        NetGraph g = OnnxModel.of(c.model()).toNetGraph(new int[] {4, 7, 9}, DataType.DOUBLE);
        A x = randomInput(1, 2, 4, 7, 9);
        A ref = c.reference().apply(x);
        assertClose(ref, g.forward(nd(x, DataType.DOUBLE), g.logits()).get(g.logits()), 1e-7, "logits");
        // the graph has no softmax: one is added for the probabilities
        INDArray p = g.forward(nd(x, DataType.DOUBLE), g.output()).get(g.output());
        assertEquals(1.0, p.sum(1).getDouble(0), 1e-12);
        // float graph within float rounding
        NetGraph gf = OnnxModel.of(c.model()).toNetGraph(new int[] {4, 7, 9}, DataType.FLOAT);
        assertClose(ref, gf.forward(nd(x, DataType.FLOAT), gf.logits()).get(gf.logits()), 1e-4, "float logits");
    }

    @Test
    void scopesBecomeLayersAndTailsAndCamHeadsWork() {
        ConvNet c = convNet();
        OnnxModel m = OnnxModel.of(c.model());
        NetGraph g = m.toNetGraph(new int[] {4, 7, 9}, DataType.DOUBLE);
        List<String> names = g.nodes().stream().map(NetGraph.Node::name).toList();
        assertEquals(List.of("stem.conv", "stem.bn", "stem.act", "stem", "blocks.0.dw", "blocks.0.act", "blocks.0.pw",
                "blocks.0.bn", "blocks.0", "blocks", "head.conv", "head.relu", "head", "pool", "fc"), names);
        assertArrayEquals(new long[] {6, 4, 8}, g.shape("blocks.0").shape());
        assertArrayEquals(new long[] {5, 2, 4}, g.shape("head").shape());
        // raw node names and tensor names are accepted, not listed
        assertEquals(g.layer("blocks.0").variable(), g.layer("/blocks/blocks.0/bn/BatchNormalization").variable());
        assertArrayEquals(new long[] {6, 4, 8}, g.shape("sum").shape());
        assertThrows(NetGraph.UnknownLayerException.class, () -> g.layer("blocks.1"));

        A x = randomInput(2, 3, 4, 7, 9);
        INDArray in = nd(x, DataType.DOUBLE);
        Map<String, INDArray> out = g.forward(in, g.logits(), g.layer("blocks.0").variable(), g.layer("head").variable());
        for (String layer : List.of("blocks.0", "head")) {
            NetGraph tail = g.tailAfter(layer);
            assertNotNull(tail, "tail after " + layer);
            INDArray t = tail.forward(out.get(g.layer(layer).variable()), tail.logits()).get(tail.logits());
            assertEquals(0, t.sub(out.get(g.logits())).amaxNumber().doubleValue(), 1e-12, "tail after " + layer);
        }
        // the pre-BN conv output of a residual-free chain is cut-able too; a raw tensor inside a block as well
        assertNotNull(g.tailAfter("sum"));

        // CAM: head → GAP → Flatten → Gemm(alpha 0.7, transB): logits = Σ_k w_kc·mean_k + b_c
        CamHead cam = CamHead.find(m, "head", Map.of());
        assertEquals(5, cam.channels());
        assertEquals(3, cam.classes());
        INDArray act = out.get(g.layer("head").variable());
        INDArray gap = act.mean(2, 3);
        for (int cl = 0; cl < 3; cl++) {
            double[] w = cam.classWeights(cl);
            double s0 = 0;
            double s1 = 0;
            for (int k = 0; k < 5; k++) {
                s0 += w[k] * gap.getDouble(0, k);
                s1 += w[k] * gap.getDouble(1, k);
            }
            double bias0 = out.get(g.logits()).getDouble(0, cl) - s0;
            assertEquals(bias0, out.get(g.logits()).getDouble(1, cl) - s1, 1e-5, "the same bias for every sample");
        }
        UserError e = assertThrows(UserError.class, () -> CamHead.find(m, "blocks.0", Map.of()));
        assertTrue(e.getMessage().contains("Conv '/head/conv/Conv'"), e.getMessage());
    }

    @Test
    void randomizationReplacesTopWeightsSeeded() {
        OnnxModel m = OnnxModel.of(convNet().model());
        assertEquals(List.of("fc", "head.conv", "blocks.0.bn", "blocks.0.pw", "blocks.0.dw", "stem.bn", "stem.conv"),
                m.parameterizedLayersTopDown());
        A x = randomInput(4, 2, 4, 7, 9);
        int[] shape = {4, 7, 9};
        NetGraph g = m.toNetGraph(shape, DataType.DOUBLE);
        INDArray base = g.forward(nd(x, DataType.DOUBLE), g.layer("blocks.0").variable()).get(g.layer("blocks.0").variable());
        var r1 = m.randomizeTop(2, 9, shape, DataType.DOUBLE);
        var r2 = m.randomizeTop(2, 9, shape, DataType.DOUBLE);
        var r3 = m.randomizeTop(3, 9, shape, DataType.DOUBLE);
        INDArray l1 = r1.graph().forward(nd(x, DataType.DOUBLE), r1.graph().logits()).get(r1.graph().logits());
        INDArray l2 = r2.graph().forward(nd(x, DataType.DOUBLE), r2.graph().logits()).get(r2.graph().logits());
        assertEquals(l1, l2, "seeded");
        // two steps leave blocks.0 as trained; three re-initialize its BN (to the identity)
        INDArray k1 = r1.graph().forward(nd(x, DataType.DOUBLE), r1.graph().layer("blocks.0").variable())
                .get(r1.graph().layer("blocks.0").variable());
        assertEquals(0, k1.sub(base).amaxNumber().doubleValue(), 1e-12);
        INDArray k3 = r3.graph().forward(nd(x, DataType.DOUBLE), r3.graph().layer("blocks.0").variable())
                .get(r3.graph().layer("blocks.0").variable());
        assertTrue(k3.sub(base).amaxNumber().doubleValue() > 1e-3);
        assertEquals(r1.overrides().get("fc.weight"), r3.overrides().get("fc.weight"), "step 3 re-draws the same top weights");
        assertTrue(CamHead.find(m, "head", r1.overrides()).weights()[0] != CamHead.find(m, "head", Map.of()).weights()[0]);
    }

    @Test
    void inputGradientsMatchFiniteDifferences() {
        ConvNet c = convNet();
        NetGraph g = OnnxModel.of(c.model()).toNetGraph(new int[] {4, 7, 9}, DataType.DOUBLE);
        assertTrue(g.sameDiff().hasVariable("input_gain"), "asymmetric padding puts a pad op first: gradients need the gain");
        checkGradient(g, randomInput(5, 2, 4, 7, 9), 3);
        PoolNet p = poolNet();
        NetGraph gp = OnnxModel.of(p.model()).toNetGraph(new int[] {3, 8, 8}, DataType.DOUBLE);
        checkGradient(gp, randomInput(6, 1, 3, 8, 8), (int) gp.classCount());
    }

    private static void checkGradient(NetGraph g, A x, int classes) {
        Random r = new Random(11);
        int n = x.d()[0];
        INDArray w = Nd4j.zeros(DataType.DOUBLE, n, classes);
        for (int b = 0; b < n; b++) {
            for (int k = 0; k < classes; k++) w.putScalar(b, k, r.nextGaussian());
        }
        INDArray in = nd(x, DataType.DOUBLE);
        INDArray grad = g.classScoreGradient(in, w, g.input());
        double eps = 1e-6;
        double worst = 0;
        int checked = 0;
        for (int k = 0; k < x.v().length; k += 3) {
            double[] plus = x.v().clone();
            double[] minus = x.v().clone();
            plus[k] += eps;
            minus[k] -= eps;
            double fp = score(g, new A(plus, x.d()), w);
            double fm = score(g, new A(minus, x.d()), w);
            double numeric = (fp - fm) / (2 * eps);
            double analytic = grad.dup('c').data().getDouble(k);
            worst = Math.max(worst, Math.abs(numeric - analytic) / Math.max(1, Math.abs(numeric)));
            checked++;
        }
        assertTrue(checked >= Math.min(50, x.v().length / 3));
        assertTrue(worst < 1e-5, "input gradient vs finite differences: worst relative error " + worst);
        assertTrue(grad.norm2Number().doubleValue() > 0, "a zero gradient proves nothing");
    }

    private static double score(NetGraph g, A x, INDArray w) {
        INDArray l = g.forward(nd(x, DataType.DOUBLE), g.logits()).get(g.logits());
        return l.mul(w).sumNumber().doubleValue();
    }

    record PoolNet(Onnx.ModelProto model, java.util.function.Function<A, A> reference) {
    }

    /** Max/avg pooling with ceil_mode, count_include_pad both ways, asymmetric pads; Pad with a value; Concat. */
    static PoolNet poolNet() {
        OnnxGraphs g = new OnnxGraphs(8);
        double[] w0 = g.init("mix.weight", 0.7, 3, 3, 1, 1);
        g.initLongs("pads", 0, 0, 1, 2, 0, 0, 0, 1);
        g.init("pad.value", new double[] {0.25});
        g.node("Conv", "mix", List.of("x", "mix.weight"), List.of("c"));
        String mp = g.op("MaxPool", "mp", "c", ints("kernel_shape", 3, 3), ints("strides", 2, 2), i("ceil_mode", 1));
        String ap1 = g.op("AveragePool", "ap1", "c", ints("kernel_shape", 3, 3), ints("strides", 2, 2), ints("pads", 1, 1, 1, 1),
                i("ceil_mode", 1), i("count_include_pad", 1));
        String ap0 = g.op("AveragePool", "ap0", "c", ints("kernel_shape", 3, 3), ints("strides", 2, 2), ints("pads", 1, 1, 1, 1),
                i("ceil_mode", 1), i("count_include_pad", 0));
        String mpa = g.op("MaxPool", "mpa", "c", ints("kernel_shape", 2, 2), ints("strides", 2, 2), ints("pads", 0, 1, 1, 0));
        g.node("Pad", "pad", List.of("c", "pads", "pad.value"), List.of("padded"), s("mode", "constant"));
        String ap2 = g.op("AveragePool", "ap2", "padded", ints("kernel_shape", 2, 2));
        String[] flat = new String[5];
        String[] from = {mp, ap1, ap0, mpa, ap2};
        for (int k = 0; k < 5; k++) flat[k] = g.op("Flatten", "flat" + k, from[k]);
        g.node("Concat", "cat", List.of(flat), List.of("out"), i("axis", 1));
        Onnx.ModelProto m = g.model("x", new long[] {1, 3, 8, 8}, "out");
        return new PoolNet(m, x -> {
            A c = OnnxGraphs.conv(x, new A(w0, 3, 3, 1, 1), null, new int[] {1, 1}, new int[4], new int[] {1, 1}, 1);
            int[] k3 = {3, 3};
            int[] s2 = {2, 2};
            return OnnxGraphs.concat2(
                    OnnxGraphs.flatten(OnnxGraphs.pool(c, k3, s2, new int[4], true, true, false)),
                    OnnxGraphs.flatten(OnnxGraphs.pool(c, k3, s2, new int[] {1, 1, 1, 1}, true, false, true)),
                    OnnxGraphs.flatten(OnnxGraphs.pool(c, k3, s2, new int[] {1, 1, 1, 1}, true, false, false)),
                    OnnxGraphs.flatten(OnnxGraphs.pool(c, new int[] {2, 2}, s2, new int[] {0, 1, 1, 0}, false, true, false)),
                    OnnxGraphs.flatten(OnnxGraphs.pool(OnnxGraphs.pad(c, new int[] {1, 2, 0, 1}, 0.25), new int[] {2, 2},
                            new int[] {1, 1}, new int[4], false, false, true)));
        });
    }

    @Test
    void poolingMatchesPyTorchSemantics() {
        PoolNet p = poolNet();
        OnnxModel m = OnnxModel.of(p.model());
        NetGraph g = m.toNetGraph(new int[] {3, 8, 8}, DataType.DOUBLE);
        A x = randomInput(7, 2, 3, 8, 8);
        assertClose(p.reference().apply(x), g.forward(nd(x, DataType.DOUBLE), g.logits()).get(g.logits()), 1e-12, "pools");
        assertArrayEquals(new long[] {3, 4, 4}, g.shape("mp").shape());
        assertArrayEquals(new long[] {3, 5, 5}, g.shape("ap0").shape());
        assertArrayEquals(new long[] {3, 9, 11}, g.shape("pad").shape());
        assertEquals(null, g.tailAfter("mp"), "the concat after mp needs the other branches: no tail");
    }

    @Test
    void denseChainWithConstantsAndActivations() {
        OnnxGraphs g = new OnnxGraphs(12);
        double[] w1 = g.init("g.w", 0.5, 12, 6);
        double[] c1 = g.init("g.c", 0.3, 1, 6);
        double[] w2 = g.init("mm.w", 0.6, 6, 4);
        double[] a2 = g.init("add.c", 0.3, 4);
        g.init("half", new double[] {0.5});
        g.init("sub.c", new double[] {0.3});
        g.initLongs("shape", 2, -1);
        double[] k = {0.5, -1.5, 2.0, 1.0};
        g.node("Reshape", "r", List.of("x", "shape"), List.of("r_out"));
        g.node("Gemm", "gemm", List.of("r_out", "g.w", "g.c"), List.of("g_out"));
        String r1 = g.op("Relu", "relu", "g_out");
        g.node("MatMul", "mm", List.of(r1, "mm.w"), List.of("mm_out"));
        g.node("Add", "add", List.of("mm_out", "add.c"), List.of("add_out"));
        g.node("Mul", "mul", List.of("half", "add_out"), List.of("mul_out"));
        String id = g.op("Identity", "id", "mul_out");
        String dr = g.op("Dropout", "drop", id);
        String sg = g.op("Sigmoid", "sig", dr);
        g.node("Constant", "k", List.of(), List.of("k_out"), OnnxGraphs.t("value", OnnxGraphs.tensor("kv", k, false, 4)));
        g.node("Mul", "mulk", List.of(sg, "k_out"), List.of("mulk_out"));
        g.node("Sub", "sub", List.of("mulk_out", "sub.c"), List.of("sub_out"));
        String th = g.op("Tanh", "tanh", "sub_out");
        String hs = g.op("HardSigmoid", "hs", th, f("alpha", 0.3), f("beta", 0.4));
        String hw = g.op("HardSwish", "hsw", hs);
        String lr = g.op("LeakyRelu", "lrelu", hw);
        g.node("Softmax", "softmax", List.of(lr), List.of("prob"), i("axis", -1));
        NetGraph net = OnnxModel.of(g.model("x", new long[] {2, 3, 2, 2}, "prob")).toNetGraph(new int[] {3, 2, 2},
                DataType.DOUBLE);
        A x = randomInput(13, 3, 3, 2, 2); // batch 3 although the export said 2: the batch stays dynamic
        A y = OnnxGraphs.dense(OnnxGraphs.flatten(x), w1, 12, 6, c1).map(v -> Math.max(0, v));
        y = OnnxGraphs.dense(y, w2, 6, 4, a2).map(v -> 0.5 * v).map(v -> 1 / (1 + Math.exp(-v)));
        double[] z = y.v().clone();
        for (int q = 0; q < z.length; q++) {
            double v = Math.tanh(z[q] * k[q % 4] - 0.3);
            v = Math.max(0, Math.min(1, 0.3 * v + 0.4));
            v = v * Math.max(0, Math.min(1, v / 6 + 0.5));
            z[q] = v > 0 ? v : 0.01 * v;
        }
        A logits = new A(z, 3, 4);
        assertClose(logits, net.forward(nd(x, DataType.DOUBLE), net.logits()).get(net.logits()), 1e-6, "logits (float attributes)");
        INDArray p = net.forward(nd(x, DataType.DOUBLE), net.output()).get(net.output());
        assertEquals(1.0, p.sum(1).getDouble(2), 1e-12);
        assertEquals("t_prob", net.output().substring(0, 6));
        // clip_by_value (HardSigmoid α 0.3, HardSwish), matmul, broadcast constants: gradients too
        checkGradient(net, x, 4);
    }

    @Test
    void unsupportedOpNamesTheNode() {
        OnnxGraphs g = new OnnxGraphs(1);
        g.init("w", 0.5, 2, 3, 1, 1);
        g.node("Conv", "/blk/conv/Conv", List.of("x", "w"), List.of("c"));
        g.node("Foo", "/blk/Foo", List.of("c"), List.of("y"));
        OnnxModel m = OnnxModel.of(g.model("x", new long[] {1, 3, 4, 4}, "y"));
        UserError e = assertThrows(UserError.class, () -> m.toNetGraph(new int[] {3, 4, 4}, DataType.FLOAT));
        assertTrue(e.getMessage().startsWith("ONNX node '/blk/Foo' (op Foo) is not supported; supported: Conv, "), e.getMessage());
    }

    @Test
    void scopeNamesFollowPyTorchModulePaths() {
        assertEquals(List.of("features", "features.13", "features.13.conv", "features.13.conv.2"),
                OnnxModel.scopes("/features/features.13/conv/conv.2/Conv"));
        assertEquals(List.of("layer3", "layer3.5", "layer3.5.relu_2"), OnnxModel.scopes("/layer3/layer3.5/relu_2/Relu"));
        assertEquals(List.of("inception4c"), OnnxModel.scopes("/inception4c/Concat"));
        assertEquals(List.of(), OnnxModel.scopes("/Flatten"));
    }

    /** The committed torch export (tests/fixtures/onnx/small.onnx, made by make_onnx_fixtures.py) against torch's logits. */
    @Test
    void smallTorchExportMatchesTorch(@TempDir Path dir) throws Exception {
        for (String f : List.of("small.onnx", "small.json")) {
            try (var in = getClass().getResourceAsStream("/fixtures/onnx/" + f)) {
                Files.copy(in, dir.resolve(f));
            }
        }
        LoadedModel m = LoadedModel.load(dir.resolve("small.onnx"), null);
        assertEquals(LoadedModel.Format.ONNX, m.format());
        float[] x;
        float[] ref;
        int[] xs;
        try (var in = getClass().getResourceAsStream("/fixtures/onnx/small-inputs.npy")) {
            Path p = dir.resolve("in.npy");
            Files.copy(in, p);
            var a = org.atlas4j.io.Npy.read(p);
            x = a.data();
            xs = a.shape();
        }
        try (var in = getClass().getResourceAsStream("/fixtures/onnx/small-logits.npy")) {
            Path p = dir.resolve("logits.npy");
            Files.copy(in, p);
            ref = org.atlas4j.io.Npy.read(p).data();
        }
        NetGraph g = m.graph();
        // conv first: its weights are the trainable variable and the first op is conv2d (SameDiffConverter's chain)
        assertEquals(false, g.sameDiff().hasVariable("input_gain"));
        assertEquals("conv2d", g.sameDiff().ops()[0].opName());
        INDArray in = Nd4j.create(x, new long[] {xs[0], xs[1], xs[2], xs[3]}, 'c');
        INDArray logits = g.forward(in, g.logits()).get(g.logits());
        double worst = 0;
        float[] got = logits.castTo(DataType.FLOAT).dup('c').data().asFloat();
        for (int k = 0; k < ref.length; k++) worst = Math.max(worst, Math.abs(got[k] - ref[k]));
        assertTrue(worst < 1e-5, "small torch export: max abs logit difference " + worst);
        assertTrue(g.shape("act").spatial());
        assertEquals("act", m.resolveLayer(null), "the card's default layer");
        CamHead cam = CamHead.find(m, "act");
        assertEquals(10, cam.classes());
        assertThrows(UserError.class, () -> m.dl4jOutput(in));
        // a tail after the last spatial layer reproduces the logits
        String v = g.layer("act").variable();
        NetGraph tail = g.tailAfter("act");
        INDArray t = tail.forward(g.forward(in, v).get(v), tail.logits()).get(tail.logits());
        assertEquals(0, t.sub(logits).amaxNumber().doubleValue(), 1e-5);
        assertEquals(null, g.tailAfter("dw"), "the residual Add after dw needs the block input: no tail");

        // the sanity cascade re-draws the ONNX weights top-down; fully randomized, CAM and Grad-CAM maps decorrelate
        org.atlas4j.util.Progress.setQuiet(true);
        var methods = List.of(org.atlas4j.attribution.Method.parse("cam"), org.atlas4j.attribution.Method.parse("gradcam"));
        long[] keys = {0, 1, 2};
        var r = org.atlas4j.attribution.Sanity.run(m, "act", new org.atlas4j.attribution.Explainer.Options(methods, 4, 0.15, 3, 8),
                x, 3, keys);
        List<String> order = m.onnx().parameterizedLayersTopDown();
        assertEquals("fc", order.get(0));
        assertEquals(order.size() + 1, r.cascade().size());
        assertEquals(order, r.cascade().get(order.size()).randomized());
        for (var method : methods) {
            double last = r.cascade().get(order.size()).meanRho().get(method.id());
            assertTrue(last < 0.6, method + ": maps of the fully re-initialized model still correlate, ρ = " + last);
        }
    }
}
