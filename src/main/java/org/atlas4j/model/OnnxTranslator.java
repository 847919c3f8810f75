package org.atlas4j.model;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.atlas4j.util.UserError;
import org.nd4j.autodiff.samediff.SDIndex;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.layers.convolution.Pooling2D;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.Conv2DConfig;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.PaddingMode;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.Pooling2DConfig;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import onnx.Onnx;

/**
 * One translation of an {@link OnnxModel} into SameDiff, from the model input or (for a tail) from any tensor.
 * Shapes are tracked statically per sample (the batch stays dynamic), which lets pooling padding be computed exactly
 * as PyTorch does. The op vocabulary is deliberately small (conv2d, depthwise_conv2d, pad, maxpool2d, avgpool2d,
 * reduce_mean, relu/relu6/clip, add/mul, concat, reshape, mmul, softmax) so a native engine can run the same graphs.
 */
final class OnnxTranslator {
    private final OnnxModel model;
    private final DataType dt;
    private final Map<String, INDArray> overrides;
    private final SameDiff sd = SameDiff.create();
    private final Map<String, SDVariable> vars = new HashMap<>();
    /** Per-sample shapes of the tensors in {@link #vars}. */
    private final Map<String, long[]> shapes = new HashMap<>();
    private final Map<String, INDArray> consts = new HashMap<>();
    private final Set<String> names = new HashSet<>(Set.of(SameDiffConverter.INPUT, "output", NetGraph.CLASS_WEIGHTS,
            NetGraph.CLASS_LOSS, "tail_input_gain", "input_gain"));
    private boolean needTrainable;
    private boolean tail;

    OnnxTranslator(OnnxModel model, DataType dataType, Map<String, INDArray> overrides) {
        this.model = model;
        this.dt = dataType;
        this.overrides = overrides;
    }

    /**
     * @param start the tensor fed by the placeholder (the model input, or a layer's output for a tail)
     * @param shape its per-sample shape
     */
    NetGraph translate(String start, long[] shape, boolean isTail) {
        this.tail = isTail;
        long[] ph = new long[shape.length + 1];
        ph[0] = -1;
        for (int k = 0; k < shape.length; k++) ph[k + 1] = shape.length == 3 && k > 0 ? -1 : shape[k];
        SDVariable x = sd.placeHolder(SameDiffConverter.INPUT, dt, ph);
        // SameDiff only builds gradient ops on paths back to a trainable variable. When the input feeds exactly one
        // Conv that is also the first op (the torchvision case), that conv's weights become the variable, as in
        // SameDiffConverter (the same op chain for NativeChain); otherwise (a tail, Pad or pooling first, branches
        // on the input) one scalar variable multiplies the input
        needTrainable = !isTail && convFirst(start, shape);
        if (!needTrainable) x = x.mul(sd.var(isTail ? "tail_input_gain" : "input_gain", Nd4j.scalar(dt, 1.0)));
        vars.put(start, x);
        shapes.put(start, shape.clone());
        for (Onnx.NodeProto n : model.graph().getNodeList()) {
            if (n.getOpType().equals("Constant")) {
                consts.put(n.getOutput(0), constantAttr(n));
                continue;
            }
            boolean downstream = n.getInputList().stream().anyMatch(vars::containsKey);
            if (!downstream) {
                if (n.getOpType().equals("Identity") && constantOrNull(n.getInput(0)) != null) {
                    consts.put(n.getOutput(0), constantOrNull(n.getInput(0)));
                }
                continue; // upstream of a tail's start, or computed from constants only (its consumers will say)
            }
            if (n.getOutputList().stream().allMatch(vars::containsKey)) continue; // a BatchNormalization folded into its conv
            node(n);
        }
        if (needTrainable) {
            throw new UserError("ONNX model " + model.label() + " has no Conv, Gemm or MatMul with weights: nothing to differentiate");
        }
        String out = model.graph().getOutput(0).getName();
        SDVariable o = vars.get(out);
        if (o == null) throw new SameDiffConverter.UnsupportedLayerException("the graph output " + out + " does not follow " + start);
        String logitsT = model.logitsTensor();
        SDVariable logits = vars.get(logitsT);
        SDVariable output = o;
        if (logitsT.equals(out) && shapes.get(out).length == 1) output = sd.nn().softmax("output", o, 1);
        List<NetGraph.Node> nodes = new ArrayList<>();
        for (var e : model.layerTensors().entrySet()) {
            SDVariable v = vars.get(e.getValue());
            if (v != null) nodes.add(new NetGraph.Node(nodes.size(), e.getKey(), model.layerType(e.getKey()), v.name()));
        }
        Map<String, NetGraph.Node> aliases = new HashMap<>();
        for (var e : model.aliasTensors().entrySet()) {
            SDVariable v = vars.get(e.getValue());
            if (v != null) aliases.put(e.getKey(), new NetGraph.Node(-1, e.getKey(), model.layerType(e.getKey()), v.name()));
        }
        NetGraph g = new NetGraph(sd, SameDiffConverter.INPUT, Arrays.stream(shape).mapToInt(v -> (int) v).toArray(), nodes,
                logits == null ? null : logits.name(), output.name());
        g.setAliases(aliases);
        return g;
    }

    /** Whether {@code start} feeds exactly one node, a Conv with constant weights that adds no op before itself. */
    private boolean convFirst(String start, long[] shape) {
        List<Onnx.NodeProto> c = model.consumers(start);
        if (c.size() != 1 || !c.get(0).getOpType().equals("Conv") || shape.length != 3) return false;
        Onnx.NodeProto n = c.get(0);
        if (!n.getInput(0).equals(start) || n.getInputCount() < 2 || model.initializer(n.getInput(1)) == null) return false;
        var dims = model.initializer(n.getInput(1)).getDimsList();
        if (dims.size() != 4) return false;
        if (attrInt(n, "group", 1) != 1 && !(attrInt(n, "group", 1) == shape[0] && dims.get(1) == 1)) return false; // split
        long[] k = {dims.get(2), dims.get(3)};
        long[] p = pads(n, shape, k, attrInts(n, "strides", new long[] {1, 1}), attrInts(n, "dilations", new long[] {1, 1}));
        return p[0] == p[2] && p[1] == p[3];
    }

    // ---- one node ----

    private void node(Onnx.NodeProto n) {
        switch (n.getOpType()) {
            case "Conv" -> conv(n);
            case "BatchNormalization" -> batchNorm(n);
            case "Relu" -> put(n, sd.nn().relu(name(n), in(n, 0), 0.0), shapeOf(n, 0));
            case "LeakyRelu" -> put(n, sd.nn().leakyRelu(name(n), in(n, 0), attrFloat(n, "alpha", 0.01)), shapeOf(n, 0));
            case "Sigmoid" -> put(n, sd.nn().sigmoid(name(n), in(n, 0)), shapeOf(n, 0));
            case "Tanh" -> put(n, sd.math().tanh(name(n), in(n, 0)), shapeOf(n, 0));
            case "Clip" -> clip(n);
            case "HardSigmoid" -> put(n, hardSigmoid(name(n), in(n, 0), attrFloat(n, "alpha", 0.2), attrFloat(n, "beta", 0.5)),
                    shapeOf(n, 0));
            case "HardSwish" -> put(n, in(n, 0).mul(name(n), hardSigmoid(null, in(n, 0), 1 / 6.0, 0.5)), shapeOf(n, 0));
            case "MaxPool" -> pool(n, true);
            case "AveragePool" -> pool(n, false);
            case "GlobalAveragePool" -> spatialMean(n, true);
            case "GlobalMaxPool" -> spatialMean(n, false);
            case "ReduceMean" -> reduceMean(n);
            case "Add", "Sub", "Mul", "Div" -> binary(n);
            case "Concat" -> concat(n);
            case "Flatten" -> flatten(n);
            case "Reshape" -> reshape(n);
            case "Gemm" -> gemm(n);
            case "MatMul" -> matmul(n);
            case "Dropout", "Identity" -> {
                if (n.getOutputCount() > 1 && !n.getOutput(1).isEmpty() && !model.consumers(n.getOutput(1)).isEmpty()) {
                    throw fail(n, "its mask output is used; only inference (identity) is supported");
                }
                alias(n, n.getInput(0));
            }
            case "Pad" -> pad(n);
            case "Softmax" -> softmax(n);
            default -> throw new UserError("ONNX node '" + n.getName() + "' (op " + n.getOpType() + ") is not supported; "
                    + "supported: " + String.join(", ", OnnxModel.SUPPORTED)
                    + ". Export the model without it (e.g. torchvision classifiers in eval mode, opset 13) or use a DL4J/Keras model.");
        }
    }

    private void conv(Onnx.NodeProto n) {
        SDVariable x = in(n, 0);
        long[] s = shapeOf(n, 0);
        if (s.length != 3) throw fail(n, "only 2-D convolutions on N×C×H×W input are supported (input rank " + (s.length + 1) + ")");
        INDArray w = constIn(n, 1, "weights").castTo(DataType.DOUBLE);
        long oc = w.size(0);
        long icg = w.size(1);
        int group = (int) attrInt(n, "group", 1);
        INDArray b = n.getInputCount() > 2 && !n.getInput(2).isEmpty() ? constIn(n, 2, "bias").castTo(DataType.DOUBLE).reshape(-1)
                : null;
        long[] k = {w.size(2), w.size(3)};
        long[] st = attrInts(n, "strides", new long[] {1, 1});
        long[] d = attrInts(n, "dilations", new long[] {1, 1});
        long[] p = pads(n, s, k, st, d);
        long[] shape = {oc, outSize(s[1], k[0], st[0], d[0], p[0], p[2]), outSize(s[2], k[1], st[1], d[1], p[1], p[3])};
        if (icg * group != s[0]) throw fail(n, "weights expect " + icg * group + " input channels, the input has " + s[0]);
        // a BatchNormalization consuming only this conv is folded into its weights and bias (exact; one op less)
        List<Onnx.NodeProto> cons = model.consumers(n.getOutput(0));
        Onnx.NodeProto bn = cons.size() == 1 && cons.get(0).getOpType().equals("BatchNormalization") && !isGraphOutput(n.getOutput(0))
                && bnParamsConstant(cons.get(0)) ? cons.get(0) : null;
        if (bn != null) {
            double[][] affine = bnAffine(bn);
            w = w.dup();
            double[] bias = b == null ? new double[(int) oc] : b.toDoubleVector();
            for (int o = 0; o < oc; o++) {
                w.get(NDArrayIndex.point(o)).muli(affine[0][o]);
                bias[o] = bias[o] * affine[0][o] + affine[1][o];
            }
            b = Nd4j.createFromArray(bias);
        }
        if (p[0] != p[2] || p[1] != p[3]) {
            x = padVar(x, new long[] {0, 0, p[0], p[1]}, new long[] {0, 0, p[2], p[3]}, 0.0);
            p = new long[] {0, 0, 0, 0};
        }
        if (d[0] > 1 || d[1] > 1) {
            // libnd4j's oneDNN convolutions fail on dilation ("could not create a descriptor for a dilated convolution"):
            // the same convolution with zeros between the kernel taps is exact (and rare in classifiers)
            w = dilateKernel(w, d);
            k = new long[] {w.size(2), w.size(3)};
            d = new long[] {1, 1};
        }
        Conv2DConfig cfg = Conv2DConfig.builder().kH(k[0]).kW(k[1]).sH(st[0]).sW(st[1]).pH(p[0]).pW(p[1]).dH(d[0]).dW(d[1])
                .paddingMode(PaddingMode.VALID).dataFormat("NCHW").build();
        String out = bn != null ? bn.getOutput(0) : n.getOutput(0);
        String nm = uniq(out);
        SDVariable y;
        if (group == 1) {
            SDVariable wv = weights(nm + "_W", w.permute(2, 3, 1, 0).dup('c'));
            y = b == null ? sd.cnn().conv2d(nm, x, wv, cfg) : sd.cnn().conv2d(nm, x, wv, sd.constant(nm + "_b", b.castTo(dt)), cfg);
        } else if (group == s[0] && icg == 1 && oc % group == 0) {
            // depthwise: output channel c·m + j reads input channel c; SameDiff wants [kH, kW, C, m]
            long m = oc / group;
            SDVariable wv = weights(nm + "_W", w.reshape(group, m, k[0], k[1]).permute(2, 3, 0, 1).dup('c'));
            y = b == null ? sd.cnn().depthWiseConv2d(nm, x, wv, cfg)
                    : sd.cnn().depthWiseConv2d(nm, x, wv, sd.constant(nm + "_b", b.castTo(dt)), cfg);
        } else {
            if (oc % group != 0) throw fail(n, oc + " output channels do not split into " + group + " groups");
            long og = oc / group;
            SDVariable[] parts = new SDVariable[group];
            for (int g = 0; g < group; g++) {
                SDVariable xg = x.get(SDIndex.all(), SDIndex.interval(g * icg, (g + 1) * icg));
                INDArray wg = w.get(NDArrayIndex.interval(g * og, (g + 1) * og)).permute(2, 3, 1, 0).dup('c');
                SDVariable wv = weights(nm + "_W" + g, wg);
                parts[g] = b == null ? sd.cnn().conv2d(xg, wv, cfg)
                        : sd.cnn().conv2d(xg, wv, sd.constant(nm + "_b" + g,
                                b.get(NDArrayIndex.interval(g * og, (g + 1) * og)).dup().castTo(dt)), cfg);
            }
            y = sd.concat(nm, 1, parts);
        }
        vars.put(n.getOutput(0), y);
        shapes.put(n.getOutput(0), shape);
        if (bn != null) {
            vars.put(bn.getOutput(0), y);
            shapes.put(bn.getOutput(0), shape);
        }
    }

    /** [O, I, kH, kW] → [O, I, d(kH−1)+1, d(kW−1)+1] with the taps spread out and zeros between. */
    private static INDArray dilateKernel(INDArray w, long[] d) {
        long kh = w.size(2);
        long kw = w.size(3);
        INDArray out = Nd4j.zeros(DataType.DOUBLE, w.size(0), w.size(1), d[0] * (kh - 1) + 1, d[1] * (kw - 1) + 1);
        for (long u = 0; u < kh; u++) {
            for (long v = 0; v < kw; v++) {
                out.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.point(u * d[0]), NDArrayIndex.point(v * d[1]))
                        .assign(w.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.point(u), NDArrayIndex.point(v)));
            }
        }
        return out;
    }

    private static long outSize(long in, long k, long s, long d, long pb, long pe) {
        return (in + pb + pe - (d * (k - 1) + 1)) / s + 1;
    }

    private boolean isGraphOutput(String t) {
        return model.graph().getOutputList().stream().anyMatch(o -> o.getName().equals(t));
    }

    private boolean bnParamsConstant(Onnx.NodeProto bn) {
        for (int i = 1; i < 5; i++) {
            if (bn.getInputCount() <= i || constantOrNull(bn.getInput(i)) == null) return false;
        }
        return true;
    }

    /** Inference BatchNormalization as y = x·scale + shift per channel: {scale, shift}. */
    private double[][] bnAffine(Onnx.NodeProto bn) {
        double eps = attrFloat(bn, "epsilon", 1e-5);
        double[] g = constIn(bn, 1, "scale").castTo(DataType.DOUBLE).reshape(-1).toDoubleVector();
        double[] beta = constIn(bn, 2, "B").castTo(DataType.DOUBLE).reshape(-1).toDoubleVector();
        double[] mean = constIn(bn, 3, "mean").castTo(DataType.DOUBLE).reshape(-1).toDoubleVector();
        double[] var = constIn(bn, 4, "var").castTo(DataType.DOUBLE).reshape(-1).toDoubleVector();
        double[] sc = new double[g.length];
        double[] sh = new double[g.length];
        for (int c = 0; c < g.length; c++) {
            sc[c] = g[c] / Math.sqrt(var[c] + eps);
            sh[c] = beta[c] - mean[c] * sc[c];
        }
        return new double[][] {sc, sh};
    }

    private void batchNorm(Onnx.NodeProto n) {
        if (!bnParamsConstant(n)) throw fail(n, "scale, B, mean and var must be constants");
        long[] s = shapeOf(n, 0);
        double[][] a = bnAffine(n);
        long[] b = new long[s.length + 1];
        Arrays.fill(b, 1);
        b[1] = a[0].length;
        String nm = uniq(n.getOutput(0));
        SDVariable sc = sd.constant(nm + "_scale", Nd4j.createFromArray(a[0]).castTo(dt).reshape(b));
        SDVariable sh = sd.constant(nm + "_shift", Nd4j.createFromArray(a[1]).castTo(dt).reshape(b));
        put(n, in(n, 0).mul(sc).add(nm, sh), s);
    }

    private void clip(Onnx.NodeProto n) {
        double lo = Double.NEGATIVE_INFINITY;
        double hi = Double.POSITIVE_INFINITY;
        if (model.opset() < 11) {
            lo = attrFloat(n, "min", lo);
            hi = attrFloat(n, "max", hi);
        } else {
            if (n.getInputCount() > 1 && !n.getInput(1).isEmpty()) lo = constIn(n, 1, "min").getDouble(0);
            if (n.getInputCount() > 2 && !n.getInput(2).isEmpty()) hi = constIn(n, 2, "max").getDouble(0);
        }
        SDVariable x = in(n, 0);
        String nm = name(n);
        SDVariable y;
        if (lo == 0 && hi == 6) y = sd.nn().relu6(nm, x, 0.0);
        else if (lo == 0 && hi == Double.POSITIVE_INFINITY) y = sd.nn().relu(nm, x, 0.0);
        else y = sd.math().clipByValue(nm, x, Math.max(lo, -Double.MAX_VALUE), Math.min(hi, Double.MAX_VALUE));
        put(n, y, shapeOf(n, 0));
    }

    /** ONNX HardSigmoid: max(0, min(1, αx + β)); SameDiff's own op is the α = 0.2, β = 0.5 case. */
    private SDVariable hardSigmoid(String nm, SDVariable x, double alpha, double beta) {
        if (alpha == 0.2 && beta == 0.5) return sd.nn().hardSigmoid(nm, x);
        return sd.math().clipByValue(nm, x.mul(alpha).add(beta), 0.0, 1.0);
    }

    /** Explicit begin/end paddings per spatial axis [top, left, bottom, right], auto_pad resolved. */
    private static long[] pads(Onnx.NodeProto n, long[] s, long[] k, long[] st, long[] d) {
        String auto = attrString(n, "auto_pad", "NOTSET");
        switch (auto) {
            case "NOTSET", "" -> {
                long[] p = attrInts(n, "pads", new long[] {0, 0, 0, 0});
                if (p.length != 4) throw fail(n, "pads must have 4 values for a 2-D op, got " + Arrays.toString(p));
                return p;
            }
            case "VALID" -> {
                return new long[] {0, 0, 0, 0};
            }
            case "SAME_UPPER", "SAME_LOWER" -> {
                long[] p = new long[4];
                for (int i = 0; i < 2; i++) {
                    long out = (s[i + 1] + st[i] - 1) / st[i];
                    long total = Math.max((out - 1) * st[i] + d[i] * (k[i] - 1) + 1 - s[i + 1], 0);
                    long small = total / 2;
                    p[i] = auto.equals("SAME_UPPER") ? small : total - small;
                    p[i + 2] = total - p[i];
                }
                return p;
            }
            default -> throw fail(n, "unknown auto_pad " + auto);
        }
    }

    /**
     * Max and average pooling as PyTorch computes them: ceil_mode adds end padding (windows that would start in it
     * are dropped); max pooling pads with −∞, average pooling with zeros and then rescales each output by
     * k²/divisor, the divisor being the window clipped to the padded input (count_include_pad) or to the input.
     */
    private void pool(Onnx.NodeProto n, boolean max) {
        long[] s = shapeOf(n, 0);
        if (s.length != 3) throw fail(n, "only 2-D pooling on N×C×H×W input is supported");
        if (n.getOutputCount() > 1 && !n.getOutput(1).isEmpty() && !model.consumers(n.getOutput(1)).isEmpty()) {
            throw fail(n, "its Indices output is used");
        }
        long[] k = attrInts(n, "kernel_shape", null);
        if (k == null || k.length != 2) throw fail(n, "kernel_shape must have 2 values");
        long[] st = attrInts(n, "strides", new long[] {1, 1});
        long[] d = attrInts(n, "dilations", new long[] {1, 1});
        if (d[0] != 1 || d[1] != 1) throw fail(n, "dilated pooling is not supported");
        boolean ceil = attrInt(n, "ceil_mode", 0) == 1;
        long[] p = pads(n, s, k, st, d);
        long[] out = new long[2];
        long[] extra = new long[2];
        for (int i = 0; i < 2; i++) {
            long keff = d[i] * (k[i] - 1) + 1;
            long span = s[i + 1] + p[i] + p[i + 2] - keff;
            if (span < 0) throw fail(n, "the window " + keff + " is larger than the padded input " + (span + keff));
            out[i] = ceil ? Math.floorDiv(span + st[i] - 1, st[i]) + 1 : span / st[i] + 1;
            if (ceil && (out[i] - 1) * st[i] >= s[i + 1] + p[i]) out[i]--; // PyTorch: the last window must start inside
            extra[i] = Math.max(0, (out[i] - 1) * st[i] + keff - (s[i + 1] + p[i] + p[i + 2]));
        }
        SDVariable x = in(n, 0);
        String nm = name(n);
        Pooling2DConfig.Pooling2DConfigBuilder cfg = Pooling2DConfig.builder().kH(k[0]).kW(k[1]).sH(st[0]).sW(st[1])
                .dH(d[0]).dW(d[1]).paddingMode(PaddingMode.VALID).isNHWC(false);
        SDVariable y;
        if (max) {
            if (p[0] == p[2] && p[1] == p[3] && extra[0] == 0 && extra[1] == 0) {
                y = sd.cnn().maxPooling2d(nm, x, cfg.pH(p[0]).pW(p[1]).type(Pooling2D.Pooling2DType.MAX).build());
            } else {
                x = padVar(x, new long[] {0, 0, p[0], p[1]}, new long[] {0, 0, p[2] + extra[0], p[3] + extra[1]},
                        Double.NEGATIVE_INFINITY);
                y = sd.cnn().maxPooling2d(nm, x, cfg.pH(0).pW(0).type(Pooling2D.Pooling2DType.MAX).build());
            }
        } else {
            boolean includePad = attrInt(n, "count_include_pad", 0) == 1;
            if (p[0] + p[1] + p[2] + p[3] + extra[0] + extra[1] > 0) {
                x = padVar(x, new long[] {0, 0, p[0], p[1]}, new long[] {0, 0, p[2] + extra[0], p[3] + extra[1]}, 0.0);
            }
            double[] factor = new double[(int) (out[0] * out[1])];
            boolean uniform = true;
            for (int oh = 0; oh < out[0]; oh++) {
                for (int ow = 0; ow < out[1]; ow++) {
                    long h0 = oh * st[0] - p[0];
                    long w0 = ow * st[1] - p[1];
                    long h1 = Math.min(h0 + k[0], s[1] + p[2]);
                    long w1 = Math.min(w0 + k[1], s[2] + p[3]);
                    long poolSize = (h1 - h0) * (w1 - w0);
                    long valid = (Math.min(h1, s[1]) - Math.max(h0, 0)) * (Math.min(w1, s[2]) - Math.max(w0, 0));
                    double f = k[0] * k[1] / (double) (includePad ? poolSize : valid);
                    factor[(int) (oh * out[1] + ow)] = f;
                    if (f != 1) uniform = false;
                }
            }
            Pooling2DConfig c = cfg.pH(0).pW(0).type(Pooling2D.Pooling2DType.AVG).divisor(Pooling2D.Divisor.INCLUDE_PADDING).build();
            if (uniform) {
                y = sd.cnn().avgPooling2d(nm, x, c);
            } else {
                SDVariable f = sd.constant(nm + "_divisor", Nd4j.createFromArray(factor).castTo(dt).reshape(1, 1, out[0], out[1]));
                y = sd.cnn().avgPooling2d(x, c).mul(nm, f);
            }
        }
        put(n, y, new long[] {s[0], out[0], out[1]});
    }

    private void spatialMean(Onnx.NodeProto n, boolean avg) {
        long[] s = shapeOf(n, 0);
        if (s.length != 3) throw fail(n, "global pooling needs N×C×H×W input");
        // followed only by a Flatten: reduce without keeping dims (one reshape less, SameDiffConverter's pattern)
        List<Onnx.NodeProto> c = model.consumers(n.getOutput(0));
        boolean flat = avg && c.size() == 1 && c.get(0).getOpType().equals("Flatten") && attrInt(c.get(0), "axis", 1) == 1
                && !isGraphOutput(n.getOutput(0));
        SDVariable x = in(n, 0);
        String nm = name(n);
        SDVariable y = avg ? sd.mean(nm, x, !flat, 2, 3) : sd.max(nm, x, true, 2, 3);
        put(n, y, flat ? new long[] {s[0]} : new long[] {s[0], 1, 1});
    }

    static boolean isGlobalAverage(Onnx.NodeProto n) {
        if (n.getOpType().equals("GlobalAveragePool")) return true;
        if (!n.getOpType().equals("ReduceMean")) return false;
        long[] axes = attrInts(n, "axes", null);
        return axes != null && axes.length == 2 && Set.of(axes[0], axes[1]).equals(Set.of(2L, 3L))
                || axes != null && axes.length == 2 && Set.of(axes[0], axes[1]).equals(Set.of(-2L, -1L));
    }

    private void reduceMean(Onnx.NodeProto n) {
        long[] s = shapeOf(n, 0);
        int rank = s.length + 1;
        long[] axes = attrInts(n, "axes", null);
        if (axes == null && n.getInputCount() > 1 && !n.getInput(1).isEmpty()) axes = constIn(n, 1, "axes").toLongVector();
        if (axes == null) throw fail(n, "reducing over all axes (including the batch) is not supported");
        boolean keep = attrInt(n, "keepdims", 1) == 1;
        int[] ax = new int[axes.length];
        List<Long> kept = new ArrayList<>();
        for (int i = 0; i < axes.length; i++) {
            ax[i] = (int) (axes[i] < 0 ? axes[i] + rank : axes[i]);
            if (ax[i] == 0) throw fail(n, "reducing over the batch axis is not supported");
        }
        Set<Integer> set = new HashSet<>();
        for (int a : ax) set.add(a);
        for (int i = 1; i < rank; i++) {
            if (!set.contains(i)) kept.add(s[i - 1]);
            else if (keep) kept.add(1L);
        }
        put(n, sd.mean(name(n), in(n, 0), keep, ax), kept.stream().mapToLong(Long::longValue).toArray());
    }

    private void binary(Onnx.NodeProto n) {
        String op = n.getOpType();
        boolean aVar = vars.containsKey(n.getInput(0));
        boolean bVar = vars.containsKey(n.getInput(1));
        if (!aVar && constantOrNull(n.getInput(0)) == null) in(n, 0); // computed before a tail's cut: says so
        if (!bVar && constantOrNull(n.getInput(1)) == null) in(n, 1);
        String nm = name(n);
        if (!aVar || !bVar) {
            int ci = aVar ? 1 : 0;
            INDArray c = constIn(n, ci, "operand");
            SDVariable x = in(n, 1 - ci);
            long[] s = shapeOf(n, 1 - ci);
            if (c.length() == 1) {
                double v = c.getDouble(0);
                SDVariable y = switch (op) {
                    case "Add" -> x.add(nm, v);
                    case "Mul" -> x.mul(nm, v);
                    case "Sub" -> ci == 1 ? x.sub(nm, v) : x.rsub(nm, v);
                    default -> ci == 1 ? x.div(nm, v) : x.rdiv(nm, v);
                };
                put(n, y, s);
                return;
            }
            long[] full = leftPad(c.shape(), s.length + 1);
            if (full.length > s.length + 1 || full[0] != 1) {
                throw fail(n, "a constant operand of shape " + Arrays.toString(c.shape()) + " would change the batch axis");
            }
            SDVariable cv = sd.constant(nm + "_c", c.castTo(dt).reshape(full));
            SDVariable a = ci == 0 ? cv : x;
            SDVariable b = ci == 0 ? x : cv;
            put(n, apply(op, nm, a, b), broadcast(s, Arrays.copyOfRange(full, 1, full.length), n));
            return;
        }
        put(n, apply(op, nm, in(n, 0), in(n, 1)), broadcast(shapeOf(n, 0), shapeOf(n, 1), n));
    }

    private static SDVariable apply(String op, String nm, SDVariable a, SDVariable b) {
        return switch (op) {
            case "Add" -> a.add(nm, b);
            case "Sub" -> a.sub(nm, b);
            case "Mul" -> a.mul(nm, b);
            default -> a.div(nm, b);
        };
    }

    private static long[] leftPad(long[] s, int rank) {
        if (s.length >= rank) return s;
        long[] out = new long[rank];
        Arrays.fill(out, 1);
        System.arraycopy(s, 0, out, rank - s.length, s.length);
        return out;
    }

    private static long[] broadcast(long[] a, long[] b, Onnx.NodeProto n) {
        int r = Math.max(a.length, b.length);
        long[] pa = leftPad(a, r);
        long[] pb = leftPad(b, r);
        long[] out = new long[r];
        for (int i = 0; i < r; i++) {
            if (pa[i] != pb[i] && pa[i] != 1 && pb[i] != 1) {
                throw fail(n, "shapes " + Arrays.toString(a) + " and " + Arrays.toString(b) + " do not broadcast");
            }
            out[i] = Math.max(pa[i], pb[i]);
        }
        return out;
    }

    private void concat(Onnx.NodeProto n) {
        long[] s0 = shapeOf(n, 0);
        int rank = s0.length + 1;
        long axis = attrInt(n, "axis", 1);
        if (axis < 0) axis += rank;
        if (axis <= 0) throw fail(n, "concatenation along the batch axis is not supported");
        SDVariable[] xs = new SDVariable[n.getInputCount()];
        long[] s = s0.clone();
        s[(int) axis - 1] = 0;
        for (int i = 0; i < xs.length; i++) {
            xs[i] = in(n, i);
            s[(int) axis - 1] += shapeOf(n, i)[(int) axis - 1];
        }
        put(n, sd.concat(name(n), (int) axis, xs), s);
    }

    private void flatten(Onnx.NodeProto n) {
        long[] s = shapeOf(n, 0);
        long axis = attrInt(n, "axis", 1);
        if (axis < 0) axis += s.length + 1;
        if (axis != 1) throw fail(n, "only Flatten(axis=1) keeps the batch axis; got axis " + axis);
        if (s.length == 1) {
            alias(n, n.getInput(0));
            return;
        }
        long p = Arrays.stream(s).reduce(1, (a, b) -> a * b);
        put(n, sd.reshape(name(n), in(n, 0), -1, p), new long[] {p});
    }

    private void reshape(Onnx.NodeProto n) {
        long[] s = shapeOf(n, 0);
        long[] target = constIn(n, 1, "shape").toLongVector();
        boolean allowZero = attrInt(n, "allowzero", 0) == 1;
        long batch = model.exportBatch();
        long[] full = new long[s.length + 1];
        full[0] = batch;
        System.arraycopy(s, 0, full, 1, s.length);
        long total = Arrays.stream(full).reduce(1, (a, b) -> a * b);
        long[] t = target.clone();
        int infer = -1;
        long known = 1;
        for (int i = 0; i < t.length; i++) {
            if (t[i] == 0 && !allowZero) t[i] = full[i];
            if (t[i] == -1) infer = i;
            else known *= t[i];
        }
        if (infer >= 0) t[infer] = total / known;
        if (t.length == 0 || t[0] != batch) {
            throw fail(n, "reshaping to " + Arrays.toString(target) + " changes the batch axis (export batch " + batch + ")");
        }
        long[] per = Arrays.copyOfRange(t, 1, t.length);
        if (Arrays.equals(per, s)) {
            alias(n, n.getInput(0));
            return;
        }
        long[] shape = new long[t.length];
        shape[0] = -1;
        System.arraycopy(per, 0, shape, 1, per.length);
        put(n, sd.reshape(name(n), in(n, 0), shape), per);
    }

    private void gemm(Onnx.NodeProto n) {
        long[] s = shapeOf(n, 0);
        if (s.length != 1) throw fail(n, "input A must be 2-D [batch, features], got rank " + (s.length + 1));
        if (attrInt(n, "transA", 0) != 0) throw fail(n, "transA=1 would mix the batch axis");
        INDArray b = constOrFail(n, 1, "B (weights)").castTo(DataType.DOUBLE);
        if (attrInt(n, "transB", 0) == 1) b = b.transpose();
        double alpha = attrFloat(n, "alpha", 1.0);
        double beta = attrFloat(n, "beta", 1.0);
        if (b.size(0) != s[0]) throw fail(n, "weights expect " + b.size(0) + " features, the input has " + s[0]);
        String nm = name(n);
        SDVariable w = weights(nm + "_W", b.mul(alpha).dup('c'));
        boolean bias = n.getInputCount() > 2 && !n.getInput(2).isEmpty();
        SDVariable z;
        if (bias) {
            INDArray c = constOrFail(n, 2, "C (bias)").castTo(DataType.DOUBLE);
            if (c.length() != b.size(1) && c.length() != 1) throw fail(n, "bias C of shape " + Arrays.toString(c.shape())
                    + " is not per output");
            INDArray cb = c.length() == 1 ? Nd4j.valueArrayOf(new long[] {1, b.size(1)}, c.getDouble(0)) : c.reshape(1, -1);
            z = in(n, 0).mmul(w).add(nm, sd.constant(nm + "_b", cb.mul(beta).castTo(dt)));
        } else {
            z = in(n, 0).mmul(nm, w);
        }
        put(n, z, new long[] {b.size(1)});
    }

    private void matmul(Onnx.NodeProto n) {
        long[] s = shapeOf(n, 0);
        if (s.length != 1) throw fail(n, "input A must be 2-D [batch, features], got rank " + (s.length + 1));
        INDArray b = constOrFail(n, 1, "B (weights)").castTo(DataType.DOUBLE);
        if (b.rank() != 2 || b.size(0) != s[0]) throw fail(n, "weights of shape " + Arrays.toString(b.shape())
                + " do not fit " + s[0] + " features");
        String nm = name(n);
        put(n, in(n, 0).mmul(nm, weights(nm + "_W", b.dup('c'))), new long[] {b.size(1)});
    }

    private void pad(Onnx.NodeProto n) {
        long[] s = shapeOf(n, 0);
        int rank = s.length + 1;
        String mode = attrString(n, "mode", "constant");
        if (!mode.equals("constant")) throw fail(n, "only mode=constant is supported, got " + mode);
        long[] p;
        double value = 0;
        if (model.opset() < 11) {
            p = attrInts(n, "pads", null);
            value = attrFloat(n, "value", 0.0);
        } else {
            p = constIn(n, 1, "pads").toLongVector();
            if (n.getInputCount() > 2 && !n.getInput(2).isEmpty()) value = constIn(n, 2, "constant_value").getDouble(0);
            if (n.getInputCount() > 3 && !n.getInput(3).isEmpty()) throw fail(n, "the axes input is not supported");
        }
        if (p == null || p.length != 2 * rank) throw fail(n, "pads must have " + 2 * rank + " values");
        long[] begin = Arrays.copyOfRange(p, 0, rank);
        long[] end = Arrays.copyOfRange(p, rank, 2 * rank);
        if (begin[0] != 0 || end[0] != 0) throw fail(n, "padding the batch axis is not supported");
        long[] out = s.clone();
        for (int i = 0; i < rank; i++) {
            if (begin[i] < 0 || end[i] < 0) throw fail(n, "negative pads (cropping) are not supported");
            if (i > 0) out[i - 1] += begin[i] + end[i];
        }
        put(n, padVar(name(n), in(n, 0), begin, end, value), out);
    }

    private SDVariable padVar(SDVariable x, long[] begin, long[] end, double value) {
        return padVar(null, x, begin, end, value);
    }

    private SDVariable padVar(String nm, SDVariable x, long[] begin, long[] end, double value) {
        int[][] p = new int[begin.length][2];
        for (int i = 0; i < begin.length; i++) {
            p[i][0] = (int) begin[i];
            p[i][1] = (int) end[i];
        }
        return sd.nn().pad(nm, x, sd.constant(Nd4j.createFromArray(p)), value);
    }

    private void softmax(Onnx.NodeProto n) {
        long[] s = shapeOf(n, 0);
        int rank = s.length + 1;
        long axis = attrInt(n, "axis", model.opset() >= 13 ? -1 : 1);
        if (axis < 0) axis += rank;
        if (axis == 0) throw fail(n, "softmax over the batch axis is not supported");
        if (model.opset() < 13 && axis != rank - 1) throw fail(n, "opset < 13 softmax over more than the last axis");
        put(n, sd.nn().softmax(name(n), in(n, 0), (int) axis), s);
    }

    // ---- inputs, outputs, constants ----

    private SDVariable in(Onnx.NodeProto n, int i) {
        String t = n.getInput(i);
        SDVariable v = vars.get(t);
        if (v != null) return v;
        if (constantOrNull(t) != null) throw fail(n, "input " + i + " ('" + t + "') is a constant; it must be an activation");
        if (tail) throw new SameDiffConverter.UnsupportedLayerException("'" + t + "' is computed before the cut");
        Onnx.NodeProto p = model.producer(t);
        throw fail(n, "its input '" + t + "' is not available" + (p == null ? "" : " (computed by unsupported constant-only node '"
                + p.getName() + "' (op " + p.getOpType() + "))"));
    }

    private long[] shapeOf(Onnx.NodeProto n, int i) {
        long[] s = shapes.get(n.getInput(i));
        if (s == null) {
            in(n, i);
            throw fail(n, "no shape for input " + i);
        }
        return s;
    }

    private INDArray constIn(Onnx.NodeProto n, int i, String what) {
        return constOrFail(n, i, what);
    }

    private INDArray constOrFail(Onnx.NodeProto n, int i, String what) {
        INDArray c = n.getInputCount() > i ? constantOrNull(n.getInput(i)) : null;
        if (c == null) throw fail(n, "its " + what + " must be a constant (initializer or Constant node)");
        return c;
    }

    /** A constant tensor in ONNX layout (overrides first, then Constant nodes, then initializers), or null. */
    INDArray constantOrNull(String name) {
        INDArray o = overrides.get(name);
        if (o != null) return o;
        INDArray c = consts.get(name);
        if (c != null) return c;
        Onnx.TensorProto t = model.initializer(name);
        if (t != null) return decode(t);
        Onnx.NodeProto p = model.producer(name); // a Constant node not reached yet (e.g. asked from outside a translation)
        return p != null && p.getOpType().equals("Constant") ? constantAttr(p) : null;
    }

    private void put(Onnx.NodeProto n, SDVariable v, long[] shape) {
        vars.put(n.getOutput(0), v);
        shapes.put(n.getOutput(0), shape);
    }

    private void alias(Onnx.NodeProto n, String from) {
        if (!vars.containsKey(from)) in(n, 0);
        vars.put(n.getOutput(0), vars.get(from));
        shapes.put(n.getOutput(0), shapes.get(from));
    }

    /** Weights are constants (the input gain is the graph's trainable variable). */
    private SDVariable weights(String nm, INDArray w) {
        INDArray a = w.castTo(dt);
        if (needTrainable) {
            needTrainable = false;
            return sd.var(nm, a);
        }
        return sd.constant(nm, a);
    }

    private String name(Onnx.NodeProto n) {
        return uniq(n.getOutput(0));
    }

    private String uniq(String tensor) {
        String base = "t" + SameDiffConverter.sanitize(tensor.startsWith("/") ? tensor : "_" + tensor);
        String nm = base;
        for (int k = 2; !names.add(nm) || sd.hasVariable(nm); k++) nm = base + "_" + k;
        return nm;
    }

    static UserError fail(Onnx.NodeProto n, String detail) {
        return new UserError("ONNX node '" + n.getName() + "' (op " + n.getOpType() + "): " + detail);
    }

    // ---- attributes and tensors ----

    private static Onnx.AttributeProto attr(Onnx.NodeProto n, String name) {
        for (var a : n.getAttributeList()) {
            if (a.getName().equals(name)) return a;
        }
        return null;
    }

    static long attrInt(Onnx.NodeProto n, String name, long def) {
        var a = attr(n, name);
        return a == null ? def : a.getI();
    }

    static double attrFloat(Onnx.NodeProto n, String name, double def) {
        var a = attr(n, name);
        return a == null ? def : a.getF();
    }

    static long[] attrInts(Onnx.NodeProto n, String name, long[] def) {
        var a = attr(n, name);
        return a == null ? def : a.getIntsList().stream().mapToLong(Long::longValue).toArray();
    }

    static String attrString(Onnx.NodeProto n, String name, String def) {
        var a = attr(n, name);
        return a == null ? def : a.getS().toStringUtf8();
    }

    private INDArray constantAttr(Onnx.NodeProto n) {
        for (var a : n.getAttributeList()) {
            switch (a.getName()) {
                case "value" -> {
                    return decode(a.getT());
                }
                case "value_float" -> {
                    return Nd4j.scalar(DataType.FLOAT, a.getF());
                }
                case "value_floats" -> {
                    float[] v = new float[a.getFloatsCount()];
                    for (int i = 0; i < v.length; i++) v[i] = a.getFloats(i);
                    return Nd4j.createFromArray(v);
                }
                case "value_int" -> {
                    return Nd4j.scalar(DataType.LONG, a.getI());
                }
                case "value_ints" -> {
                    return Nd4j.createFromArray(a.getIntsList().stream().mapToLong(Long::longValue).toArray());
                }
                default -> {
                }
            }
        }
        throw fail(n, "Constant without a value/value_float(s)/value_int(s) attribute");
    }

    /** A TensorProto as an INDArray (float, double, int64, int32; raw little-endian data or the typed lists). */
    static INDArray decode(Onnx.TensorProto t) {
        if (t.getDataLocation() == Onnx.TensorProto.DataLocation.EXTERNAL) {
            throw new UserError("ONNX tensor '" + t.getName() + "' keeps its data in an external file; re-export the model "
                    + "as one .onnx file (torch.onnx.export does for models under 2 GB)");
        }
        long[] dims = t.getDimsList().stream().mapToLong(Long::longValue).toArray();
        long n = 1;
        for (long d : dims) n *= d;
        boolean raw = !t.getRawData().isEmpty();
        ByteBuffer buf = raw ? t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN) : null;
        INDArray a;
        switch (t.getDataType()) {
            case Onnx.TensorProto.DataType.FLOAT_VALUE -> {
                float[] v = new float[(int) n];
                if (raw) buf.asFloatBuffer().get(v);
                else for (int i = 0; i < n; i++) v[i] = t.getFloatData(i);
                a = Nd4j.createFromArray(v);
            }
            case Onnx.TensorProto.DataType.DOUBLE_VALUE -> {
                double[] v = new double[(int) n];
                if (raw) buf.asDoubleBuffer().get(v);
                else for (int i = 0; i < n; i++) v[i] = t.getDoubleData(i);
                a = Nd4j.createFromArray(v);
            }
            case Onnx.TensorProto.DataType.INT64_VALUE -> {
                long[] v = new long[(int) n];
                if (raw) buf.asLongBuffer().get(v);
                else for (int i = 0; i < n; i++) v[i] = t.getInt64Data(i);
                a = Nd4j.createFromArray(v);
            }
            case Onnx.TensorProto.DataType.INT32_VALUE -> {
                int[] v = new int[(int) n];
                if (raw) buf.asIntBuffer().get(v);
                else for (int i = 0; i < n; i++) v[i] = t.getInt32Data(i);
                a = Nd4j.createFromArray(v);
            }
            default -> throw new UserError("ONNX tensor '" + t.getName() + "' has data type " + t.getDataType()
                    + "; supported: float, double, int64, int32");
        }
        if (n == 0) return a;
        return dims.length == 0 ? Nd4j.scalar(a.dataType(), a.getDouble(0)) : a.reshape('c', dims);
    }
}
