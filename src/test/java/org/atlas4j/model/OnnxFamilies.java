package org.atlas4j.model;

import static org.atlas4j.model.OnnxGraphs.f;
import static org.atlas4j.model.OnnxGraphs.i;
import static org.atlas4j.model.OnnxGraphs.ints;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import onnx.Onnx;

/**
 * Small ONNX models of the four ImageNet architecture families, written with the ops and node names torchvision's
 * exports use (torch 1.13, opset 13, eval mode: BN mostly folded into the convolutions), at 3×64×64 and 10 classes,
 * with seeded random weights (He-uniform, so activations neither vanish nor explode). Each comes with a model card
 * like the real fixtures' ({@code <name>.json} beside {@code <name>.onnx}).
 *
 * <ul>
 * <li>GoogLeNet: stem, ceil-mode max pools, two inception blocks (four branches, one a ceil-mode 3×3/1 max pool,
 * concatenated).
 * <li>MobileNetV2: ReLU6 as Clip(0, 6) with Constant bounds, depthwise convolutions, inverted residuals with Add,
 * an unfolded BatchNormalization after a depthwise convolution.
 * <li>ResNet: stem with an explicit BatchNormalization, padded max pool, basic blocks with identity and strided 1×1
 * downsample shortcuts.
 * <li>InceptionV3: unpadded strided stem, InceptionA (5×5, double 3×3, Pad + AveragePool branch), a strided
 * reduction block, InceptionC with asymmetric 1×7 / 7×1 kernels and a padded count_include_pad AveragePool.
 * </ul>
 */
public final class OnnxFamilies {
    public static final int SIZE = 64;
    public static final List<String> CLASSES = List.of("apple", "boat", "cat", "dog", "egg", "fish", "goat", "hat", "ink",
            "jar");

    /** A family: its file stem, default (atlas) layer, another spatial layer, and the layer CAM applies to. */
    public enum Family {
        GOOGLENET("googlenet", "inception4a", "inception3a"),
        MOBILENET_V2("mobilenet_v2", "features.4", "features.2"),
        RESNET("resnet", "layer2", "layer1"),
        INCEPTION_V3("inception_v3", "Mixed_6b", "Mixed_5b");

        public final String stem;
        public final String defaultLayer;
        public final String otherLayer;

        Family(String stem, String defaultLayer, String otherLayer) {
            this.stem = stem;
            this.defaultLayer = defaultLayer;
            this.otherLayer = otherLayer;
        }
    }

    private OnnxFamilies() {
    }

    /** Writes {@code <dir>/<stem>.onnx} and its card {@code <stem>.json}; returns the model file. */
    public static Path write(Family family, Path dir) throws Exception {
        Files.createDirectories(dir);
        Path onnx = dir.resolve(family.stem + ".onnx");
        Files.write(onnx, build(family).toByteArray());
        new ModelCard(onnx.getFileName().toString(), new int[] {3, SIZE, SIZE}, CLASSES, family.defaultLayer, "imagenet",
                "atlas4j test builder OnnxFamilies, seeded random weights").write(dir.resolve(family.stem + ".json"));
        return onnx;
    }

    public static Onnx.ModelProto build(Family family) {
        B b = new B(family.ordinal() + 11);
        String x = "input";
        String logits = switch (family) {
            case GOOGLENET -> googlenet(b, x);
            case MOBILENET_V2 -> mobilenetV2(b, x);
            case RESNET -> resnet(b, x);
            case INCEPTION_V3 -> inceptionV3(b, x);
        };
        return b.g.model(x, new long[] {1, 3, SIZE, SIZE}, logits);
    }

    // ---- the families ----

    private static String googlenet(B b, String x) {
        String y = b.basic("conv1", x, 3, 16, 7, 7, 2, 2, 3, 3, 3, 3); // 32×32
        y = b.maxPool("maxpool1", y, 3, 2, 0, true); // 16×16 (ceil)
        y = b.basic("conv2", y, 16, 16, 1, 1, 1, 1, 0, 0, 0, 0);
        y = b.basic("conv3", y, 16, 32, 3, 3, 1, 1, 1, 1, 1, 1);
        y = b.maxPool("maxpool2", y, 3, 2, 0, true); // 8×8
        y = inceptionG(b, "inception3a", y, 32, 8, 8, 12, 4, 8, 8); // 36
        y = b.maxPool("maxpool3", y, 3, 2, 0, true); // 4×4 (ceil: 3.5 → 4)
        y = inceptionG(b, "inception4a", y, 36, 12, 8, 16, 4, 8, 12); // 48
        return b.head(y, 48);
    }

    /** torchvision's Inception block: 1×1 | 1×1 → 3×3 | 1×1 → 3×3 | 3×3/1 ceil max pool → 1×1, concatenated. */
    private static String inceptionG(B b, String s, String x, int cin, int c1, int r3, int c3, int r5, int c5, int cp) {
        String b1 = b.basic(s + ".branch1", x, cin, c1, 1, 1, 1, 1, 0, 0, 0, 0);
        String b2 = b.basic(s + ".branch2.0", x, cin, r3, 1, 1, 1, 1, 0, 0, 0, 0);
        b2 = b.basic(s + ".branch2.1", b2, r3, c3, 3, 3, 1, 1, 1, 1, 1, 1);
        String b3 = b.basic(s + ".branch3.0", x, cin, r5, 1, 1, 1, 1, 0, 0, 0, 0);
        b3 = b.basic(s + ".branch3.1", b3, r5, c5, 3, 3, 1, 1, 1, 1, 1, 1);
        String b4 = b.maxPool(s + ".branch4.0", x, 3, 1, 1, true);
        b4 = b.basic(s + ".branch4.1", b4, cin, cp, 1, 1, 1, 1, 0, 0, 0, 0);
        return b.concat(s, b1, b2, b3, b4);
    }

    private static String mobilenetV2(B b, String x) {
        String y = b.clip6("features.0.2", b.conv("features.0.0", x, 3, 16, 3, 3, 2, 2, 1, 1, 1, 1, 1, true)); // 32×32
        // features.1: expansion 1 — depthwise (its BN left unfolded, as a training-mode export keeps it) + project
        String d = b.conv("features.1.conv.0.0", y, 16, 16, 3, 3, 1, 1, 1, 1, 1, 1, 16, false);
        d = b.clip6("features.1.conv.0.2", b.bn("features.1.conv.0.1", d, 16));
        y = b.conv("features.1.conv.1", d, 16, 8, 1, 1, 1, 1, 0, 0, 0, 0, 1, true);
        y = inverted(b, "features.2", y, 8, 48, 12, 2); // 16×16
        y = inverted(b, "features.3", y, 12, 72, 12, 1); // residual
        y = inverted(b, "features.4", y, 12, 72, 16, 2); // 8×8
        y = b.clip6("features.5.2", b.conv("features.5.0", y, 16, 64, 1, 1, 1, 1, 0, 0, 0, 0, 1, true));
        return b.head(y, 64);
    }

    private static String inverted(B b, String s, String x, int cin, int hidden, int cout, int stride) {
        String y = b.clip6(s + ".conv.0.2", b.conv(s + ".conv.0.0", x, cin, hidden, 1, 1, 1, 1, 0, 0, 0, 0, 1, true));
        y = b.clip6(s + ".conv.1.2", b.conv(s + ".conv.1.0", y, hidden, hidden, 3, 3, stride, stride, 1, 1, 1, 1, hidden, true));
        y = b.conv(s + ".conv.2", y, hidden, cout, 1, 1, 1, 1, 0, 0, 0, 0, 1, true);
        return stride == 1 && cin == cout ? b.add(s, x, y) : y;
    }

    private static String resnet(B b, String x) {
        String y = b.conv("conv1", x, 3, 16, 7, 7, 2, 2, 3, 3, 3, 3, 1, false); // 32×32
        y = b.relu("relu", b.bn("bn1", y, 16));
        y = b.maxPool("maxpool", y, 3, 2, 1, false); // 16×16
        y = basicBlock(b, "layer1.0", y, 16, 16, 1);
        y = basicBlock(b, "layer2.0", y, 16, 32, 2); // 8×8
        y = basicBlock(b, "layer2.1", y, 32, 32, 1);
        return b.head(y, 32);
    }

    private static String basicBlock(B b, String s, String x, int cin, int cout, int stride) {
        String y = b.relu(s + ".relu", b.conv(s + ".conv1", x, cin, cout, 3, 3, stride, stride, 1, 1, 1, 1, 1, true));
        y = b.conv(s + ".conv2", y, cout, cout, 3, 3, 1, 1, 1, 1, 1, 1, 1, true);
        String shortcut = stride == 1 && cin == cout ? x
                : b.conv(s + ".downsample.0", x, cin, cout, 1, 1, stride, stride, 0, 0, 0, 0, 1, true);
        return b.relu(s + ".relu_1", b.add(s, y, shortcut));
    }

    private static String inceptionV3(B b, String x) {
        String y = b.basic("Conv2d_1a_3x3", x, 3, 16, 3, 3, 2, 2, 0, 0, 0, 0); // 31×31
        y = b.basic("Conv2d_2a_3x3", y, 16, 16, 3, 3, 1, 1, 0, 0, 0, 0); // 29×29
        y = b.maxPool("maxpool1", y, 3, 2, 0, false); // 14×14
        // Mixed_5b (InceptionA): avg-pool branch exported as Pad + AveragePool (count_include_pad)
        String s = "Mixed_5b";
        String a1 = b.basic(s + ".branch1x1", y, 16, 8, 1, 1, 1, 1, 0, 0, 0, 0);
        String a5 = b.basic(s + ".branch5x5_1", y, 16, 6, 1, 1, 1, 1, 0, 0, 0, 0);
        a5 = b.basic(s + ".branch5x5_2", a5, 6, 8, 5, 5, 1, 1, 2, 2, 2, 2);
        String a3 = b.basic(s + ".branch3x3dbl_1", y, 16, 8, 1, 1, 1, 1, 0, 0, 0, 0);
        a3 = b.basic(s + ".branch3x3dbl_2", a3, 8, 12, 3, 3, 1, 1, 1, 1, 1, 1);
        a3 = b.basic(s + ".branch3x3dbl_3", a3, 12, 12, 3, 3, 1, 1, 1, 1, 1, 1);
        String ap = b.avgPool(s, b.pad(s, y, 1), 3, 0, true);
        ap = b.basic(s + ".branch_pool", ap, 16, 4, 1, 1, 1, 1, 0, 0, 0, 0);
        y = b.concat(s, a1, a5, a3, ap); // 32 × 14×14
        // Mixed_6a (InceptionB): strided reduction
        s = "Mixed_6a";
        String r3 = b.basic(s + ".branch3x3", y, 32, 16, 3, 3, 2, 2, 0, 0, 0, 0); // 6×6
        String rd = b.basic(s + ".branch3x3dbl_1", y, 32, 8, 1, 1, 1, 1, 0, 0, 0, 0);
        rd = b.basic(s + ".branch3x3dbl_2", rd, 8, 8, 3, 3, 1, 1, 1, 1, 1, 1);
        rd = b.basic(s + ".branch3x3dbl_3", rd, 8, 8, 3, 3, 2, 2, 0, 0, 0, 0);
        String rp = b.maxPool(s, y, 3, 2, 0, false);
        y = b.concat(s, r3, rd, rp); // 56 × 6×6
        // Mixed_6b (InceptionC): asymmetric kernels, padded AveragePool with count_include_pad
        s = "Mixed_6b";
        String c1 = b.basic(s + ".branch1x1", y, 56, 12, 1, 1, 1, 1, 0, 0, 0, 0);
        String c7 = b.basic(s + ".branch7x7_1", y, 56, 8, 1, 1, 1, 1, 0, 0, 0, 0);
        c7 = b.basic(s + ".branch7x7_2", c7, 8, 8, 1, 7, 1, 1, 0, 3, 0, 3);
        c7 = b.basic(s + ".branch7x7_3", c7, 8, 12, 7, 1, 1, 1, 3, 0, 3, 0);
        String cp = b.avgPool(s, y, 3, 1, true);
        cp = b.basic(s + ".branch_pool", cp, 56, 12, 1, 1, 1, 1, 0, 0, 0, 0);
        y = b.concat(s, c1, c7, cp); // 36 × 6×6
        return b.head(y, 36);
    }

    // ---- the ops, named as torch 1.13 names them ----

    /** Graph under construction: nodes named by module scope, weights He-uniform from a seeded generator. */
    static final class B {
        final OnnxGraphs g;
        final Random random;
        int constants;

        B(long seed) {
            g = new OnnxGraphs(seed);
            random = new Random(seed * 31 + 7);
        }

        /** "layer1.0.conv1" → "/layer1/layer1.0/layer1.0.conv1/Conv" (OnnxModel reads it back as the module path). */
        static String nodeName(String module, String op) {
            StringBuilder sb = new StringBuilder();
            String[] parts = module.split("\\.");
            String cur = "";
            for (String p : parts) {
                cur = cur.isEmpty() ? p : cur + "." + p;
                sb.append('/').append(cur);
            }
            return sb.append('/').append(op).toString();
        }

        String node(String op, String module, List<String> in, Onnx.AttributeProto... attrs) {
            String name = nodeName(module, op);
            String out = name + "_output_0";
            g.node(op, name, in, List.of(out), attrs);
            return out;
        }

        /** Conv with (folded-BN) bias: weights He-uniform over the fan-in, bias small. */
        String conv(String m, String x, int cin, int cout, int kh, int kw, int sh, int sw, int pt, int pl, int pb, int pr,
                int groups, boolean bias) {
            double fanIn = (double) cin / groups * kh * kw;
            String w = "onnx::Conv_" + m + ".weight";
            g.init(w, Math.sqrt(6 / fanIn), cout, cin / groups, kh, kw);
            List<String> in = new ArrayList<>(List.of(x, w));
            if (bias) {
                g.init(m + ".bias", 0.1, cout);
                in.add(m + ".bias");
            }
            List<Onnx.AttributeProto> a = new ArrayList<>(List.of(ints("dilations", 1, 1), i("group", groups),
                    ints("kernel_shape", kh, kw), ints("pads", pt, pl, pb, pr), ints("strides", sh, sw)));
            return node("Conv", m, in, a.toArray(Onnx.AttributeProto[]::new));
        }

        /** BasicConv2d of GoogLeNet/InceptionV3: conv (BN folded) + ReLU. */
        String basic(String m, String x, int cin, int cout, int kh, int kw, int sh, int sw, int pt, int pl, int pb, int pr) {
            return relu(m, conv(m + ".conv", x, cin, cout, kh, kw, sh, sw, pt, pl, pb, pr, 1, true));
        }

        /** Inference BatchNormalization with seeded, randomised statistics. */
        String bn(String m, String x, int c) {
            double[] scale = new double[c];
            double[] shift = new double[c];
            double[] mean = new double[c];
            double[] var = new double[c];
            for (int k = 0; k < c; k++) {
                scale[k] = 0.5 + random.nextDouble();
                shift[k] = 0.2 * random.nextGaussian();
                mean[k] = 0.2 * random.nextGaussian();
                var[k] = 0.5 + random.nextDouble();
            }
            g.init(m + ".weight", scale, c);
            g.init(m + ".bias", shift, c);
            g.init(m + ".running_mean", mean, c);
            g.init(m + ".running_var", var, c);
            return node("BatchNormalization", m, List.of(x, m + ".weight", m + ".bias", m + ".running_mean", m + ".running_var"),
                    f("epsilon", 1e-5), f("momentum", 0.9));
        }

        String relu(String m, String x) {
            return node("Relu", m, List.of(x));
        }

        /** ReLU6 as torch exports it at opset 13: Clip with its bounds from Constant nodes. */
        String clip6(String m, String x) {
            String lo = constant(0);
            String hi = constant(6);
            return node("Clip", m, List.of(x, lo, hi));
        }

        private String constant(double v) {
            String name = "/Constant_" + constants++;
            String out = name + "_output_0";
            g.node("Constant", name, List.of(), List.of(out),
                    OnnxGraphs.t("value", Onnx.TensorProto.newBuilder().setDataType(Onnx.TensorProto.DataType.FLOAT_VALUE)
                            .addFloatData((float) v).build()));
            return out;
        }

        String maxPool(String m, String x, int k, int s, int p, boolean ceil) {
            return node("MaxPool", m, List.of(x), i("ceil_mode", ceil ? 1 : 0), ints("kernel_shape", k, k),
                    ints("pads", p, p, p, p), ints("strides", s, s));
        }

        String avgPool(String m, String x, int k, int p, boolean countIncludePad) {
            return node("AveragePool", m, List.of(x), i("ceil_mode", 0), i("count_include_pad", countIncludePad ? 1 : 0),
                    ints("kernel_shape", k, k), ints("pads", p, p, p, p), ints("strides", 1, 1));
        }

        /** Opset-13 Pad: pads as an int64 input tensor, constant mode, value 0. */
        String pad(String m, String x, int p) {
            String pads = "/" + m + "/Constant_pads_output_0";
            g.initLongs(pads, 0, 0, p, p, 0, 0, p, p);
            return node("Pad", m, List.of(x, pads), OnnxGraphs.s("mode", "constant"));
        }

        String concat(String m, String... xs) {
            return node("Concat", m, Arrays.asList(xs), i("axis", 1));
        }

        String add(String m, String a, String b) {
            return node("Add", m, List.of(a, b));
        }

        /** GlobalAveragePool → Flatten → Gemm (fc, transB), as torchvision's classifiers end. */
        String head(String x, int channels) {
            String y = node("GlobalAveragePool", "avgpool", List.of(x));
            y = node("Flatten", "flatten", List.of(y), i("axis", 1));
            g.init("fc.weight", Math.sqrt(6.0 / channels), CLASSES.size(), channels);
            g.init("fc.bias", 0.1, CLASSES.size());
            return node("Gemm", "fc", List.of(y, "fc.weight", "fc.bias"), f("alpha", 1), f("beta", 1), i("transB", 1));
        }
    }
}
