package org.atlas4j.model;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

import org.nd4j.autodiff.functions.DifferentialFunction;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.VariableType;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.api.ops.ScalarOp;
import org.nd4j.linalg.api.ops.impl.layers.convolution.Conv2D;
import org.nd4j.linalg.api.ops.impl.layers.convolution.AvgPooling2D;
import org.nd4j.linalg.api.ops.impl.layers.convolution.MaxPooling2D;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.Conv2DConfig;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.PaddingMode;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.Pooling2DConfig;
import org.nd4j.linalg.api.ops.impl.scalar.RectifiedLinear;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The network from its input to one layer as a chain of libnd4j ops called directly: render's forward +
 * input-gradient passes and collect's forward. Why: SameDiff's executor, its weight gradients (discarded) and a fresh
 * off-heap array per op and step cost most of a render step; here every buffer is allocated once per batch size,
 * activations are channels-last (faster oneDNN kernels here) and no weight gradient is computed: a stride-1
 * convolution's input gradient is a flipped-kernel convolution, a strided one's {@code deconv2d} or {@code conv2d_bp}.
 *
 * <p>The objective reads the layer at one position, so when every layer's window of that position lies inside its
 * input (no padding involved) only that window is computed: a "receptive-field crop", exact, and several times
 * cheaper than the whole map. Otherwise the whole map is computed with the layers' own padding.
 *
 * <p>Covers chains of conv2d (NCHW, any stride/dilation/padding, BatchNormalization folded in by the converter),
 * relu, identity, max/average pooling. Anything else: {@link #compile} returns null with the reason in
 * {@link Compiled#unsupported} and the caller keeps SameDiff.
 */
public final class NativeChain {
    /** One op of the chain, with the geometry a window needs. */
    sealed interface Stage permits Conv, Pool, Relu {
    }

    record Conv(INDArray weights, INDArray bias, int kH, int kW, int sH, int sW, int pH, int pW, int dH, int dW,
            boolean same, int inChannels, int outChannels) implements Stage {
    }

    /** {@code iArgs}: the op's own integer arguments (kernel, stride, padding, dilation, same, divisor, NHWC). */
    record Pool(boolean max, int kH, int kW, int sH, int sW, int pH, int pW, int dH, int dW, boolean same, long[] iArgs)
            implements Stage {
    }

    /** ReLU with cutoff 0 (other cutoffs are refused at compile time). */
    record Relu() implements Stage {
    }

    /** The chain, or the reason it could not be built. */
    public record Compiled(NativeChain chain, String unsupported) {
    }

    private final List<Stage> stages;
    private final int channels;
    private final int height;
    private final int width;
    /** Full map size at each stage boundary (index 0 = input). */
    private final int[] fullH;
    private final int[] fullW;
    private final int[] fullC;
    /** Window (inclusive start, size) of each boundary when cropping; null when the whole map is computed. */
    private final int[][] window;
    private final int centreY;
    private final int centreX;

    private NativeChain(List<Stage> stages, int channels, int height, int width, boolean allowCrop) {
        this.stages = stages;
        this.channels = channels;
        this.height = height;
        this.width = width;
        int n = stages.size();
        fullH = new int[n + 1];
        fullW = new int[n + 1];
        fullC = new int[n + 1];
        fullH[0] = height;
        fullW[0] = width;
        fullC[0] = channels;
        for (int i = 0; i < n; i++) {
            Stage s = stages.get(i);
            fullC[i + 1] = s instanceof Conv c ? c.outChannels() : fullC[i];
            fullH[i + 1] = outSize(s, fullH[i], true);
            fullW[i + 1] = outSize(s, fullW[i], false);
        }
        centreY = fullH[n] / 2;
        centreX = fullW[n] / 2;
        window = allowCrop ? cropWindows() : null;
    }

    /** The chain from the graph's input to {@code layer} for inputs of {@code channels×height×width}. */
    public static Compiled compile(NetGraph graph, String layer, int channels, int height, int width) {
        return compile(graph, layer, channels, height, width, true);
    }

    /** As above; {@code allowCrop} false always computes the whole map (for tests and the benchmark). */
    public static Compiled compile(NetGraph graph, String layer, int channels, int height, int width, boolean allowCrop) {
        SameDiff sd = graph.sameDiff();
        String target = graph.layer(layer).variable();
        List<Stage> reversed = new ArrayList<>();
        String v = target;
        while (!v.equals(graph.input())) {
            DifferentialFunction f = sd.getVariableOutputOp(v);
            if (f == null) return new Compiled(null, "variable " + v + " has no producing op");
            SDVariable[] args = f.args();
            List<SDVariable> dynamic = new ArrayList<>();
            for (SDVariable a : args) {
                if (a.getVariableType() == VariableType.ARRAY || a.getVariableType() == VariableType.PLACEHOLDER) dynamic.add(a);
            }
            if (dynamic.size() != 1) return new Compiled(null, f.opName() + " has " + dynamic.size() + " inputs (not a chain)");
            String op = f.opName();
            switch (op) {
                case "identity" -> { }
                case "relu" -> {
                    double cutoff = ((ScalarOp) f).scalar().getDouble(0);
                    if (cutoff != 0) return new Compiled(null, "relu with cutoff " + cutoff);
                    reversed.add(new Relu());
                }
                case "conv2d" -> {
                    Conv2DConfig c = ((Conv2D) f).getConfig();
                    if (c.isNHWC()) return new Compiled(null, "NHWC conv2d");
                    if (c.getWeightsFormat() != null && c.getWeightsFormat() != org.nd4j.enums.WeightsFormat.YXIO) {
                        return new Compiled(null, "conv2d weights format " + c.getWeightsFormat());
                    }
                    if (c.getPaddingMode() == PaddingMode.CAUSAL) return new Compiled(null, "causal conv2d");
                    if (args[0] != dynamic.get(0)) return new Compiled(null, "conv2d input is not its first argument");
                    INDArray w = args[1].getArr().castTo(DataType.FLOAT).dup('c');
                    INDArray b = args.length > 2 ? args[2].getArr().castTo(DataType.FLOAT).reshape(-1).dup('c') : null;
                    reversed.add(new Conv(w, b, (int) c.getKH(), (int) c.getKW(), (int) c.getSH(), (int) c.getSW(),
                            (int) c.getPH(), (int) c.getPW(), (int) c.getDH(), (int) c.getDW(),
                            c.getPaddingMode() == PaddingMode.SAME, (int) w.size(2), (int) w.size(3)));
                }
                case "maxpool2d", "avgpool2d" -> {
                    Pooling2DConfig c = f instanceof MaxPooling2D mp ? mp.getConfig() : ((AvgPooling2D) f).getConfig();
                    long[] ia = ((DynamicCustomOp) f).iArgs();
                    if (c.isNHWC() || ia.length < 11 || ia[10] != 0) return new Compiled(null, "NHWC pooling");
                    if (c.getPaddingMode() == PaddingMode.CAUSAL) return new Compiled(null, "causal pooling");
                    reversed.add(new Pool(op.equals("maxpool2d"), (int) ia[0], (int) ia[1], (int) ia[2], (int) ia[3],
                            (int) ia[4], (int) ia[5], (int) Math.max(1, ia[6]), (int) Math.max(1, ia[7]), ia[8] == 1,
                            ia.clone()));
                }
                default -> {
                    return new Compiled(null, "op " + op + " (" + f.getClass().getSimpleName() + ")");
                }
            }
            v = dynamic.get(0).name();
        }
        if (reversed.isEmpty()) return new Compiled(null, "the layer is the input");
        Collections.reverse(reversed);
        if (((Object) reversed.get(0) instanceof Conv c) && c.inChannels() != channels) {
            return new Compiled(null, "first convolution expects " + c.inChannels() + " channels, input has " + channels);
        }
        NativeChain chain = new NativeChain(List.copyOf(reversed), channels, height, width, allowCrop);
        for (int i = 0; i <= chain.stages.size(); i++) {
            if (chain.fullH[i] < 1 || chain.fullW[i] < 1) return new Compiled(null, "map size below 1 at stage " + i);
        }
        return new Compiled(chain, null);
    }

    // ---- geometry ----------------------------------------------------------------------------------------------

    private static int kernel(Stage s, boolean rows) {
        if (s instanceof Conv c) return rows ? (c.kH() - 1) * c.dH() + 1 : (c.kW() - 1) * c.dW() + 1;
        if (s instanceof Pool p) return rows ? (p.kH() - 1) * p.dH() + 1 : (p.kW() - 1) * p.dW() + 1;
        return 1;
    }

    private static int stride(Stage s, boolean rows) {
        if (s instanceof Conv c) return rows ? c.sH() : c.sW();
        if (s instanceof Pool p) return rows ? p.sH() : p.sW();
        return 1;
    }

    private static boolean same(Stage s) {
        return s instanceof Conv c ? c.same() : s instanceof Pool p && p.same();
    }

    private static int explicitPad(Stage s, boolean rows) {
        if (s instanceof Conv c) return rows ? c.pH() : c.pW();
        if (s instanceof Pool p) return rows ? p.pH() : p.pW();
        return 0;
    }

    /** libnd4j's output size: SAME = ceil(in / s), else (in + 2p − k_eff) / s + 1. */
    static int outSize(Stage s, int in, boolean rows) {
        if (s instanceof Relu) return in;
        int k = kernel(s, rows);
        int st = stride(s, rows);
        if (same(s)) return (in + st - 1) / st;
        return (in + 2 * explicitPad(s, rows) - k) / st + 1;
    }

    /** Padding before the first row/column, as libnd4j computes it for SAME (TF convention). */
    static int padBefore(Stage s, int in, boolean rows) {
        if (s instanceof Relu) return 0;
        if (!same(s)) return explicitPad(s, rows);
        int out = outSize(s, in, rows);
        return Math.max(0, ((out - 1) * stride(s, rows) + kernel(s, rows) - in) / 2);
    }

    /**
     * Windows [start, size] per boundary (rows then columns) so that the last boundary is the single centre
     * position, or null when some window would need padding (then the whole map is computed).
     */
    private int[][] cropWindows() {
        int n = stages.size();
        int[][] win = new int[n + 1][];
        int y0 = centreY, y1 = centreY, x0 = centreX, x1 = centreX;
        win[n] = new int[] {y0, 1, x0, 1};
        for (int i = n - 1; i >= 0; i--) {
            Stage s = stages.get(i);
            if (!(s instanceof Relu)) {
                int py = padBefore(s, fullH[i], true);
                int px = padBefore(s, fullW[i], false);
                int ny0 = y0 * stride(s, true) - py;
                int ny1 = y1 * stride(s, true) - py + kernel(s, true) - 1;
                int nx0 = x0 * stride(s, false) - px;
                int nx1 = x1 * stride(s, false) - px + kernel(s, false) - 1;
                if (ny0 < 0 || nx0 < 0 || ny1 >= fullH[i] || nx1 >= fullW[i]) return null;
                y0 = ny0;
                y1 = ny1;
                x0 = nx0;
                x1 = nx1;
            }
            win[i] = new int[] {y0, y1 - y0 + 1, x0, x1 - x0 + 1};
        }
        return win;
    }

    /** True when the layer's map at this input size is [C, H, W] = the given shape's last three (a [1, C, H, W] probe). */
    public boolean matches(long[] mapShape) {
        int n = stages.size();
        return mapShape.length == 4 && mapShape[1] == fullC[n] && mapShape[2] == fullH[n] && mapShape[3] == fullW[n];
    }

    /** True when only the objective's receptive field is computed. */
    public boolean cropped() {
        return window != null;
    }

    /** Input window [row, rows, column, columns] that the crop reads (the whole input when not cropped). */
    public int[] inputWindow() {
        return window != null ? window[0].clone() : new int[] {0, height, 0, width};
    }

    /** Shape [b, h, w, c] of the output of stage i as computed (channels last, see {@link Session}). */
    private long[] outShape(int stage, int b) {
        return boundaryShape(stage + 1, b);
    }

    /** Shape [b, h, w, c] of boundary i (0 = input) as computed. */
    private long[] boundaryShape(int boundary, int b) {
        if (window != null) return new long[] {b, window[boundary][1], window[boundary][3], fullC[boundary]};
        return new long[] {b, fullH[boundary], fullW[boundary], fullC[boundary]};
    }

    public int layerChannels() {
        return fullC[stages.size()];
    }

    // ---- execution ---------------------------------------------------------------------------------------------

    /** Buffers and prepared ops for one batch size (forward and backward); not thread-safe. */
    public Session session(int batch) {
        return new Session(batch, false);
    }

    /**
     * A forward-only session for whole maps (collect): ReLU runs in place, and a ReLU followed by max pooling runs
     * after it (max and ReLU commute; the ReLU then touches a quarter of the values). Same outputs, less memory traffic.
     */
    public Session inferenceSession(int batch) {
        if (window != null) throw new IllegalStateException("inference sessions compute whole maps: compile without the crop");
        List<Stage> order = new ArrayList<>(stages);
        for (int i = 0; i + 1 < order.size(); i++) {
            if (order.get(i) instanceof Relu r && order.get(i + 1) instanceof Pool p && p.max()) {
                order.set(i, p);
                order.set(i + 1, r);
                i++;
            }
        }
        return new NativeChain(List.copyOf(order), channels, height, width, false).new Session(batch, true);
    }

    /**
     * Buffers and prepared ops for one batch size. Activations are kept channels-last ([b, h, w, c]) whatever the
     * model's layout: libnd4j's oneDNN convolutions and poolings ran 1.2–2.8× faster that way here than NCHW on the
     * demo's shapes. Inputs and outputs at the boundary are converted.
     */
    public final class Session {
        private final int b;
        private final INDArray[] act; // act[i] = input of stage i; act[n] = layer output
        private final INDArray[] grad; // grad[i] = ∂obj/∂act[i]
        private final DynamicCustomOp[] fwd;
        private final DynamicCustomOp[] bwd;
        private final RectifiedLinear[] reluFwd;
        private final float[] centre;
        private final float[] centreGrad;

        Session(int b, boolean inference) {
            this.b = b;
            int n = stages.size();
            act = new INDArray[n + 1];
            grad = new INDArray[n + 1];
            for (int i = 0; i <= n; i++) {
                boolean inPlace = inference && i > 0 && stages.get(i - 1) instanceof Relu;
                act[i] = inPlace ? act[i - 1] : Nd4j.create(DataType.FLOAT, boundaryShape(i, b), 'c');
                if (!inference) grad[i] = Nd4j.create(DataType.FLOAT, boundaryShape(i, b), 'c');
            }
            fwd = new DynamicCustomOp[n];
            bwd = new DynamicCustomOp[n];
            reluFwd = new RectifiedLinear[n];
            for (int i = 0; i < n; i++) {
                Stage s = stages.get(i);
                boolean sameHere = window == null && same(s);
                if (s instanceof Conv c) {
                    int pH = window == null ? c.pH() : 0;
                    int pW = window == null ? c.pW() : 0;
                    int[] geo = {c.kH(), c.kW(), c.sH(), c.sW(), pH, pW, c.dH(), c.dW()};
                    DynamicCustomOp.DynamicCustomOpsBuilder f = DynamicCustomOp.builder("conv2d");
                    if (c.bias() != null) f.addInputs(act[i], c.weights(), c.bias());
                    else f.addInputs(act[i], c.weights());
                    fwd[i] = f.addOutputs(act[i + 1]).addIntegerArguments(concat(geo, sameHere ? 1 : 0, 1, 0)).build();
                    int effH = (c.kH() - 1) * c.dH();
                    int effW = (c.kW() - 1) * c.dW();
                    if (inference) {
                        continue;
                    } else if (c.sH() == 1 && c.sW() == 1 && (!sameHere || (effH % 2 == 0 && effW % 2 == 0))) {
                        // stride 1: the input gradient is a plain convolution of the output gradient with the kernel
                        // flipped and its channels swapped, padded by (k_eff − 1) − p. libnd4j's deconv2d computes the
                        // same thing ~30× slower here (77 ms vs 2.4 ms for the demo's conv2 at batch 128).
                        int bpH = effH - (sameHere ? effH / 2 : pH);
                        int bpW = effW - (sameHere ? effW / 2 : pW);
                        int[] bgeo = {c.kH(), c.kW(), 1, 1, bpH, bpW, c.dH(), c.dW()};
                        bwd[i] = DynamicCustomOp.builder("conv2d").addInputs(grad[i + 1], flipped(c.weights())).addOutputs(grad[i])
                                .addIntegerArguments(concat(bgeo, 0, 1, 0)).build();
                    } else if (deconvMatches(c, i, pH, pW, sameHere)) {
                        bwd[i] = DynamicCustomOp.builder("deconv2d").addInputs(grad[i + 1], c.weights()).addOutputs(grad[i])
                                .addIntegerArguments(concat(geo, sameHere ? 1 : 0, 1, 0)).build();
                    } else { // shapes a transposed convolution cannot reproduce: the full backward op (weight gradients unused)
                        INDArray gw = Nd4j.create(DataType.FLOAT, c.weights().shape(), 'c');
                        DynamicCustomOp.DynamicCustomOpsBuilder g = DynamicCustomOp.builder("conv2d_bp");
                        if (c.bias() != null) {
                            g.addInputs(act[i], c.weights(), c.bias(), grad[i + 1])
                                    .addOutputs(grad[i], gw, Nd4j.create(DataType.FLOAT, c.bias().shape(), 'c'));
                        } else {
                            g.addInputs(act[i], c.weights(), grad[i + 1]).addOutputs(grad[i], gw);
                        }
                        bwd[i] = g.addIntegerArguments(concat(geo, sameHere ? 1 : 0, 1, 0)).build();
                    }
                } else if (s instanceof Pool p) {
                    int pH = window == null ? p.pH() : 0;
                    int pW = window == null ? p.pW() : 0;
                    int[] args = new int[p.iArgs().length];
                    for (int k = 0; k < args.length; k++) args[k] = (int) p.iArgs()[k];
                    args[4] = pH;
                    args[5] = pW;
                    args[8] = sameHere ? 1 : 0;
                    args[10] = 1; // channels last
                    String name = p.max() ? "maxpool2d" : "avgpool2d";
                    fwd[i] = DynamicCustomOp.builder(name).addInputs(act[i]).addOutputs(act[i + 1]).addIntegerArguments(args).build();
                    if (inference) continue;
                    bwd[i] = DynamicCustomOp.builder(name + "_bp").addInputs(act[i], grad[i + 1]).addOutputs(grad[i])
                            .addIntegerArguments(args).build();
                } else {
                    reluFwd[i] = new RectifiedLinear(act[i], act[i + 1], 0.0);
                    if (inference) continue;
                    bwd[i] = DynamicCustomOp.builder("relu_bp").addInputs(act[i], grad[i + 1]).addOutputs(grad[i]).build();
                }
            }
            centre = new float[b * layerChannels()];
            centreGrad = new float[b * layerChannels()];
        }

        private boolean deconvMatches(Conv c, int i, int pH, int pW, boolean sameHere) {
            long[] in = boundaryShape(i, b);
            long[] out = outShape(i, b);
            long h = sameHere ? out[1] * c.sH() : (out[1] - 1) * c.sH() + (long) (c.kH() - 1) * c.dH() + 1 - 2L * pH;
            long w = sameHere ? out[2] * c.sW() : (out[2] - 1) * c.sW() + (long) (c.kW() - 1) * c.dW() + 1 - 2L * pW;
            return h == in[1] && w == in[2];
        }

        public int batch() {
            return b;
        }

        /**
         * Forward from a full-size input [b, c, h, w] (row-major floats) to the layer's centre activations, which are
         * returned as [b, C] (row-major, a view reused by the next call).
         */
        public float[] forward(float[] input) {
            runForward(input);
            readCentre();
            return centre;
        }

        private void runForward(float[] input) {
            copyWindow(act[0].data().asNioFloat(), input, true);
            for (int i = 0; i < stages.size(); i++) {
                if (reluFwd[i] != null) Nd4j.getExecutioner().exec(reluFwd[i]);
                else Nd4j.exec(fwd[i]);
            }
        }

        /**
         * Forward from a full-size input [b, c, h, w] to the whole layer map, returned as a [b, C, H, W] view of the
         * session's channels-last buffer (valid until the next call; read it through its strides). Only for chains
         * compiled without the crop.
         */
        public INDArray forwardMap(float[] input) {
            if (window != null) throw new IllegalStateException("a cropped chain computes one position, not the map");
            runForward(input);
            return act[stages.size()].permute(0, 3, 1, 2);
        }

        /** Back from ∂obj/∂centre [b, C] to ∂obj/∂input, written into {@code inputGrad} (full size, zeros outside). */
        public void backward(float[] dCentre, float[] inputGrad) {
            int n = stages.size();
            writeCentreGrad(dCentre);
            for (int i = n - 1; i >= 0; i--) Nd4j.exec(bwd[i]);
            if (window != null) java.util.Arrays.fill(inputGrad, 0, b * channels * height * width, 0f);
            copyWindow(grad[0].data().asNioFloat(), inputGrad, false);
        }

        public float[] centreGradBuffer() {
            return centreGrad;
        }

        /**
         * Copies between a full-size [b, c, h, w] array (the caller's layout) and the boundary-0 buffer holding the
         * input window channels-last, [b, rows, cols, c]: into the buffer when {@code toBuffer}, else out of it.
         */
        private void copyWindow(java.nio.FloatBuffer buf, float[] full, boolean toBuffer) {
            int[] w0 = window != null ? window[0] : new int[] {0, height, 0, width};
            int pos = 0;
            if (channels == 1) { // the same memory order either way: whole rows
                for (int s = 0; s < b; s++) {
                    int base = s * height * width;
                    for (int y = 0; y < w0[1]; y++) {
                        int at = base + (w0[0] + y) * width + w0[2];
                        if (toBuffer) buf.put(pos, full, at, w0[3]);
                        else buf.get(pos, full, at, w0[3]);
                        pos += w0[3];
                    }
                }
                return;
            }
            int plane = height * width;
            for (int s = 0; s < b; s++) {
                for (int y = 0; y < w0[1]; y++) {
                    for (int x = 0; x < w0[3]; x++) {
                        int at = s * channels * plane + (w0[0] + y) * width + w0[2] + x;
                        for (int k = 0; k < channels; k++, pos++) {
                            if (toBuffer) buf.put(pos, full[at + k * plane]);
                            else full[at + k * plane] = buf.get(pos);
                        }
                    }
                }
            }
        }

        private void readCentre() {
            int n = stages.size();
            int c = layerChannels();
            java.nio.FloatBuffer src = act[n].data().asNioFloat();
            if (window != null) {
                src.get(0, centre, 0, b * c);
                return;
            }
            int h = fullH[n], w = fullW[n];
            for (int s = 0; s < b; s++) src.get(((s * h + centreY) * w + centreX) * c, centre, s * c, c);
        }

        private void writeCentreGrad(float[] d) {
            int n = stages.size();
            int c = layerChannels();
            java.nio.FloatBuffer dst = grad[n].data().asNioFloat();
            if (window != null) {
                dst.put(0, d, 0, b * c);
                return;
            }
            grad[n].assign(0);
            int h = fullH[n], w = fullW[n];
            for (int s = 0; s < b; s++) dst.put(((s * h + centreY) * w + centreX) * c, d, s * c, c);
        }
    }

    /** W'[a, b, o, i] = W[kH−1−a, kW−1−b, i, o]: the kernel of a stride-1 convolution's input gradient. */
    static INDArray flipped(INDArray w) {
        int kh = (int) w.size(0), kw = (int) w.size(1), ci = (int) w.size(2), co = (int) w.size(3);
        float[] src = w.dup('c').data().asFloat();
        float[] dst = new float[src.length];
        for (int a = 0; a < kh; a++) {
            for (int b = 0; b < kw; b++) {
                for (int i = 0; i < ci; i++) {
                    for (int o = 0; o < co; o++) {
                        dst[((a * kw + b) * co + o) * ci + i] = src[(((kh - 1 - a) * kw + (kw - 1 - b)) * ci + i) * co + o];
                    }
                }
            }
        }
        return Nd4j.create(dst, new long[] {kh, kw, co, ci}, 'c');
    }

    private static int[] concat(int[] a, int... more) {
        int[] out = new int[a.length + more.length];
        for (int i = 0; i < a.length; i++) out[i] = a[i];
        for (int i = 0; i < more.length; i++) out[a.length + i] = more[i];
        return out;
    }
}
