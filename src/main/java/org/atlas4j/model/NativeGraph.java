package org.atlas4j.model;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.nd4j.autodiff.functions.DifferentialFunction;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.VariableType;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.BaseReduceOp;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.api.ops.ScalarOp;
import org.nd4j.linalg.api.ops.impl.layers.convolution.Conv2D;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.Conv2DConfig;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.PaddingMode;
import org.nd4j.linalg.api.ops.impl.reduce.bp.MaxBp;
import org.nd4j.linalg.api.ops.impl.reduce.bp.MeanBp;
import org.nd4j.linalg.api.ops.impl.reduce.floating.Mean;
import org.nd4j.linalg.api.ops.impl.reduce.same.Max;
import org.nd4j.linalg.api.ops.impl.reduce.same.Sum;
import org.nd4j.linalg.api.ops.impl.scalar.ScalarReverseSubtraction;
import org.nd4j.linalg.api.ops.impl.scalar.Step;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.INDArrayIndex;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * The network from its input to one layer as a scheduled DAG of libnd4j ops called directly (branches, residual adds,
 * concatenations, depthwise and separable convolutions, ReLU6, paddings...): what {@link NativeChain} does for plain
 * chains, for the graphs real networks have. The SameDiff graph (from any of our translators) is read once: its ops
 * from the input placeholder to the layer's variable, in topological order, become prepared {@code Nd4j.exec} calls
 * with every buffer allocated once per batch size. No weight gradient is computed where an input gradient alone can
 * be (stride-1 convolutions as flipped-kernel convolutions, strided ones as {@code deconv2d}).
 *
 * <p>Rank-4 activations are kept channels-last by default (libnd4j's oneDNN convolutions ran faster that way here);
 * the session converts at its boundary. A forward-only {@link #inferenceSession} reuses activation buffers once their
 * last reader has run (and runs activations in place), so memory stays near the widest cut of the graph; a
 * {@link #session} keeps every activation the backward pass reads, and recycles gradient buffers.
 *
 * <p>Anything not covered: {@link #compile} returns the reason in {@link Compiled#unsupported} and callers keep
 * SameDiff. A compiled graph has been checked against SameDiff's output on a random probe.
 */
public final class NativeGraph {
    /** The engine, or the reason it could not be built (op type and name). */
    public record Compiled(NativeGraph engine, String unsupported) {
    }

    /** Thrown while translating an op the engine does not cover. */
    private static final class Unsupported extends Exception {
        Unsupported(String m) {
            super(m);
        }
    }

    // ---- the schedule's ops (inputs/outputs are variable ids; constants are already in the stored layout) ------

    sealed interface Op permits Conv, Depthwise, Pool, Unary, Binary, Concat, Pad, Reduce, MatMul, Reshape, Permute,
            Softmax, Identity, Window {
        int out();

        int[] ins();
    }

    /** geo = kH, kW, sH, sW, pH, pW, dH, dW. */
    record Conv(int out, int in, INDArray w, INDArray b, int[] geo, boolean same) implements Op {
        public int[] ins() { return new int[] {in}; }
    }

    /** Weights [kH, kW, C, multiplier]. */
    record Depthwise(int out, int in, INDArray w, INDArray b, int[] geo, boolean same) implements Op {
        public int[] ins() { return new int[] {in}; }
    }

    /** iArgs as libnd4j's pooling ops take them (index 10, the layout, is set per session). */
    record Pool(int out, int in, boolean max, long[] iArgs) implements Op {
        public int[] ins() { return new int[] {in}; }
    }

    /** fn: libnd4j's op name (its gradient is fn_bp), or "clip" (clipbyvalue with t = lo, hi). */
    record Unary(int out, int in, String fn, double[] t) implements Op {
        public int[] ins() { return new int[] {in}; }
    }

    /** Element-wise a∘b; each side is a variable id (or −1 with a constant in the logical layout). */
    record Binary(int out, int a, INDArray aConst, int b, INDArray bConst, String fn) implements Op {
        public int[] ins() {
            if (a >= 0 && b >= 0) return new int[] {a, b};
            return new int[] {a >= 0 ? a : b};
        }
    }

    record Concat(int out, int[] ins, int axis) implements Op {
    }

    /** pads[d] = {before, after} per logical axis, constant value. */
    record Pad(int out, int in, long[][] pads, double value) implements Op {
        public int[] ins() { return new int[] {in}; }
    }

    /** Spatial reduction of a rank-4 input (logical axes 2, 3): fn = mean, sum or max. */
    record Reduce(int out, int in, String fn) implements Op {
        public int[] ins() { return new int[] {in}; }
    }

    record MatMul(int out, int in, INDArray w) implements Op {
        public int[] ins() { return new int[] {in}; }
    }

    record Reshape(int out, int in) implements Op {
        public int[] ins() { return new int[] {in}; }
    }

    record Permute(int out, int in, int[] perm) implements Op {
        public int[] ins() { return new int[] {in}; }
    }

    record Softmax(int out, int in, int axis) implements Op {
        public int[] ins() { return new int[] {in}; }
    }

    record Identity(int out, int in) implements Op {
        public int[] ins() { return new int[] {in}; }
    }

    /**
     * Rows from r0 and columns from c0 of a rank-4 input (as many as the output holds inside its borders), with
     * borders pads = {top, bottom, left, right} of a constant: the slice and explicit padding a receptive-field crop
     * gives each op ({@link GraphCrop}).
     */
    record Window(int out, int in, int r0, int c0, int[] pads, double value) implements Op {
        public int[] ins() { return new int[] {in}; }
    }

    /** The input window [row, rows, column, columns] of a cropped engine within the whole {@code height×width} input. */
    record InputCrop(int height, int width, int r0, int rows, int c0, int cols) {
    }

    private final List<Op> ops;
    /** Logical (NCHW) shape of each variable at batch 1. */
    private final List<long[]> shapes;
    private final List<String> names;
    private final DataType dataType;
    /** Convolutions reading at most this many channels get their input gradient by GEMM + col2im. */
    static final int FEW_INPUT_CHANNELS = 4;
    private final boolean channelsLast;
    private final int target;
    /** Index of the last op reading each variable (−1: none). */
    private final int[] lastUse;
    /** Non-null for a receptive-field crop: sessions read this window of the whole input (see {@link #cropToCentre}). */
    private final InputCrop crop;

    private NativeGraph(List<Op> ops, List<long[]> shapes, List<String> names, DataType dataType, boolean channelsLast,
            int target, List<String> kept) {
        this(ops, shapes, names, dataType, channelsLast, target, kept, null);
    }

    private NativeGraph(List<Op> ops, List<long[]> shapes, List<String> names, DataType dataType, boolean channelsLast,
            int target, List<String> kept, InputCrop crop) {
        this.crop = crop;
        this.ops = ops;
        this.shapes = shapes;
        this.names = names;
        this.dataType = dataType;
        this.channelsLast = channelsLast;
        this.target = target;
        lastUse = new int[shapes.size()];
        java.util.Arrays.fill(lastUse, -1);
        for (int k = 0; k < ops.size(); k++) {
            for (int i : ops.get(k).ins()) lastUse[i] = k;
        }
        for (String v : kept) lastUse[names.indexOf(v)] = Integer.MAX_VALUE; // read by the caller: never recycled
    }

    /** A schedule computed by {@link GraphCrop} from this engine's, sharing its weights. */
    NativeGraph cropped(List<Op> cropOps, List<long[]> cropShapes, List<String> cropNames, int cropTarget, InputCrop window) {
        return new NativeGraph(List.copyOf(cropOps), List.copyOf(cropShapes), List.copyOf(cropNames), dataType, channelsLast,
                cropTarget, List.of(), window);
    }

    /** What {@link #cropToCentre} decided: the cropped engine, or null and why the whole map is computed. */
    public record Crop(NativeGraph engine, String wholeMapReason, long wholeMacs, long croppedMacs) {
        /** Input window [row, rows, column, columns] the cropped engine reads (null when not cropped). */
        public int[] inputWindow() {
            return engine == null ? null : engine.cropWindow();
        }
    }

    /**
     * The engine computing only what the layer's centre position (the one the render objective reads) depends on: the
     * receptive-field window of that position through every branch, with the whole computation's zero padding made
     * explicit where a window meets a border, so the centre's value and input gradient are the whole map's. Null
     * engine, with the reason, when an op needs the whole map (global pooling, dense) or the crop would save little.
     */
    public Crop cropToCentre() {
        return GraphCrop.centre(this);
    }

    /** Input window [row, rows, column, columns] a cropped engine reads of the whole input (null: the whole map). */
    public int[] cropWindow() {
        return crop == null ? null : new int[] {crop.r0(), crop.rows(), crop.c0(), crop.cols()};
    }

    int targetId() {
        return target;
    }

    List<long[]> shapes() {
        return shapes;
    }

    boolean channelsLast() {
        return channelsLast;
    }

    /** The graph from the input to {@code layer} for inputs of {@code channels×height×width}, channels-last inside. */
    public static Compiled compile(NetGraph graph, String layer, int channels, int height, int width) {
        return compile(graph, layer, channels, height, width, true);
    }

    /** As above, choosing the internal layout of rank-4 activations (for measurements and tests). */
    public static Compiled compile(NetGraph graph, String layer, int channels, int height, int width, boolean channelsLast) {
        try {
            return new Compiled(build(graph, graph.layer(layer).variable(), List.of(), channels, height, width, channelsLast), null);
        } catch (Unsupported e) {
            return new Compiled(null, e.getMessage());
        }
    }

    /**
     * The graph from the input to the variable {@code target} (e.g. the network's output), also keeping the variables
     * {@code kept} (which the target must depend on) readable through {@link Session#variable} after a forward pass:
     * collect reads a layer's map and the class probabilities from one pass.
     */
    public static Compiled compileVariables(NetGraph graph, String target, List<String> kept, int channels, int height, int width) {
        try {
            return new Compiled(build(graph, target, kept, channels, height, width, true), null);
        } catch (Unsupported e) {
            return new Compiled(null, e.getMessage());
        }
    }

    private static NativeGraph build(NetGraph graph, String targetVar, List<String> kept, int channels, int height, int width,
            boolean channelsLast) throws Unsupported {
        SameDiff sd = graph.sameDiff();
        String input = graph.input();
        DataType dt = sd.getVariable(input).dataType();
        if (dt != DataType.FLOAT && dt != DataType.DOUBLE) throw new Unsupported("input data type " + dt);
        // 1. the variables that depend on the input (floating point: shape arithmetic is read from the probe)
        Map<String, Boolean> dynamic = new HashMap<>();
        List<String> order = new ArrayList<>();
        topo(sd, input, targetVar, dynamic, order, new java.util.HashSet<>());
        if (!Boolean.TRUE.equals(dynamic.get(targetVar))) throw new Unsupported("the layer does not depend on the input");
        if (targetVar.equals(input)) throw new Unsupported("the layer is the input");
        // 2. one SameDiff probe at batch 1: every variable's shape, constants computed by ops, and the reference output
        List<String> wanted = new ArrayList<>(order);
        for (String v : order) {
            if (v.equals(input)) continue;
            for (SDVariable a : sd.getVariableOutputOp(v).args()) {
                if (!Boolean.TRUE.equals(dynamic.get(a.name())) && a.getVariableType() == VariableType.ARRAY) wanted.add(a.name());
            }
        }
        INDArray probeIn = Nd4j.rand(dt, 1, channels, height, width).subi(0.5).muli(2);
        Map<String, INDArray> probe;
        try {
            probe = sd.output(Map.of(input, probeIn), wanted.stream().distinct().toArray(String[]::new));
        } catch (RuntimeException e) {
            throw new Unsupported("SameDiff probe failed at " + channels + "×" + height + "×" + width + ": " + e.getMessage());
        }
        Map<String, Integer> id = new LinkedHashMap<>();
        List<long[]> shapes = new ArrayList<>();
        List<String> names = new ArrayList<>();
        for (String v : order) {
            id.put(v, shapes.size());
            names.add(v);
            shapes.add(v.equals(input) ? new long[] {1, channels, height, width} : probe.get(v).shape());
        }
        // 3. translate op by op
        List<Op> ops = new ArrayList<>();
        for (String v : order) {
            if (v.equals(input)) continue;
            DifferentialFunction f = sd.getVariableOutputOp(v);
            translate(sd, f, v, id, dynamic, probe, dt, ops, shapes, names);
        }
        int target = id.get(targetVar);
        java.util.Set<Integer> pinned = new java.util.HashSet<>();
        pinned.add(target);
        for (String k : kept) {
            if (id.containsKey(k)) pinned.add(id.get(k));
        }
        ops = foldAffine(ops, shapes, pinned);
        for (String k : kept) {
            if (!id.containsKey(k)) throw new Unsupported(targetVar + " does not depend on " + k);
        }
        NativeGraph g = new NativeGraph(List.copyOf(ops), List.copyOf(shapes), List.copyOf(names), dt, channelsLast, target,
                List.copyOf(kept));
        // 4. self-check against SameDiff on the probe (a geometry or layout slip falls back instead of misleading)
        INDArray want = probe.get(targetVar);
        INDArray got = null;
        Session check = null;
        try {
            try {
                check = g.inferenceSession(1);
                got = check.forward(probeIn).dup();
            } catch (RuntimeException e) {
                throw new Unsupported("native execution failed: " + e.getMessage());
            }
            if (!java.util.Arrays.equals(got.shape(), want.shape())) {
                throw new Unsupported("native output shape " + java.util.Arrays.toString(got.shape()) + " differs from SameDiff's "
                        + java.util.Arrays.toString(want.shape()));
            }
            double scale = 1 + want.castTo(DataType.DOUBLE).amaxNumber().doubleValue();
            double err = got.castTo(DataType.DOUBLE).sub(want.castTo(DataType.DOUBLE)).amaxNumber().doubleValue();
            if (!(err <= (dt == DataType.DOUBLE ? 1e-9 : 1e-3) * scale)) {
                throw new Unsupported("native output differs from SameDiff's by " + err + " (self-check)");
            }
            return g;
        } finally {
            // the probe's maps and the check's buffers now, not at a collection: the engine holds copies of what it uses
            if (check != null) check.close();
            closeQuietly(got);
            closeQuietly(probeIn);
            graph.free(probe.values());
        }
    }

    /**
     * A per-channel multiply or add by a constant right after a convolution (batch normalization the converter could
     * not fold, e.g. after a depthwise convolution) goes into the convolution's weights and bias: exact, and two
     * passes over the map and their buffers fewer. Only when nothing else reads the convolution's output.
     */
    static List<Op> foldAffine(List<Op> ops, List<long[]> shapes, java.util.Set<Integer> pinned) {
        List<Op> out = new ArrayList<>(ops);
        boolean changed = true;
        while (changed) {
            changed = false;
            int[] readers = new int[shapes.size()];
            for (Op op : out) {
                for (int i : op.ins()) readers[i]++;
            }
            for (int k = 0; k < out.size() && !changed; k++) {
                // an identity (a layer's name on a convolution's output) whose input nothing else reads: the producer
                // writes the identity's variable directly, so a following affine map can fold
                if (out.get(k) instanceof Identity id && readers[id.in()] == 1 && !pinned.contains(id.in())) {
                    int p = producer(out, id.in());
                    Op moved = p < 0 ? null : withOut(out.get(p), id.out());
                    if (moved != null) {
                        out.set(p, moved);
                        out.remove(k);
                        changed = true;
                    }
                    continue;
                }
                if (!(out.get(k) instanceof Binary bi) || bi.a() < 0 || bi.b() >= 0) continue;
                if (!bi.fn().equals("multiply") && !bi.fn().equals("add")) continue;
                if (readers[bi.a()] != 1 || pinned.contains(bi.a())) continue;
                int p = producer(out, bi.a());
                if (p < 0) continue;
                long channels = shapes.get(bi.a())[1];
                double[] perChannel = perChannel(bi.bConst(), shapes.get(bi.a()), channels);
                if (perChannel == null) continue;
                Op folded = null;
                if (out.get(p) instanceof Conv c) {
                    folded = new Conv(bi.out(), c.in(), scaled(c.w(), perChannel, bi.fn()), shifted(c.b(), perChannel, bi.fn(), c.w()),
                            c.geo(), c.same());
                } else if (out.get(p) instanceof Depthwise d) {
                    folded = new Depthwise(bi.out(), d.in(), scaled(d.w(), perChannel, bi.fn()),
                            shifted(d.b(), perChannel, bi.fn(), d.w()), d.geo(), d.same());
                }
                if (folded == null) continue;
                out.set(p, folded);
                out.remove(k);
                changed = true;
            }
        }
        return out;
    }

    /** The same convolution writing another variable (null for other ops: they are left alone). */
    private static Op withOut(Op op, int o) {
        if (op instanceof Conv c) return new Conv(o, c.in(), c.w(), c.b(), c.geo(), c.same());
        if (op instanceof Depthwise d) return new Depthwise(o, d.in(), d.w(), d.b(), d.geo(), d.same());
        return null;
    }

    private static int producer(List<Op> ops, int v) {
        for (int k = 0; k < ops.size(); k++) {
            if (ops.get(k).out() == v) return k;
        }
        return -1;
    }

    /** The constant as one value per channel of a [1, C, H, W] map, or null when it varies otherwise. */
    private static double[] perChannel(INDArray c, long[] mapShape, long channels) {
        if (mapShape.length != 4) return null;
        double[] v = new double[(int) channels];
        if (c.length() == 1) {
            java.util.Arrays.fill(v, c.getDouble(0));
            return v;
        }
        if (c.rank() != 4 || c.size(0) != 1 || c.size(1) != channels || c.size(2) != 1 || c.size(3) != 1) return null;
        for (int i = 0; i < channels; i++) v[i] = c.getDouble(0, i, 0, 0);
        return v;
    }

    /** Weights with output channels (the flattened last two axes: YXIO's O, or depthwise C·multiplier) scaled. */
    private static INDArray scaled(INDArray w, double[] s, String fn) {
        if (!fn.equals("multiply")) return w;
        INDArray f = w.dup('c');
        INDArray view = f.reshape('c', f.length() / s.length, s.length);
        view.muliRowVector(Nd4j.createFromArray(s).castTo(w.dataType()));
        return f;
    }

    private static INDArray shifted(INDArray b, double[] s, String fn, INDArray w) {
        INDArray base = b != null ? b.dup('c') : Nd4j.zeros(w.dataType(), s.length);
        INDArray v = Nd4j.createFromArray(s).castTo(w.dataType());
        return fn.equals("multiply") ? base.muli(v) : base.addi(v);
    }

    /** Post-order DFS over input-dependent floating-point variables (a topological order). */
    private static boolean topo(SameDiff sd, String input, String v, Map<String, Boolean> dynamic, List<String> order,
            java.util.Set<String> onStack) throws Unsupported {
        Boolean known = dynamic.get(v);
        if (known != null) return known;
        if (v.equals(input)) {
            dynamic.put(v, true);
            order.add(v);
            return true;
        }
        SDVariable var = sd.getVariable(v);
        DifferentialFunction f = var.getVariableType() == VariableType.ARRAY ? sd.getVariableOutputOp(v) : null;
        if (f == null || !var.dataType().isFPType()) {
            dynamic.put(v, false);
            return false;
        }
        if (!onStack.add(v)) throw new Unsupported("cycle at " + v);
        boolean any = false;
        for (SDVariable a : f.args()) any |= topo(sd, input, a.name(), dynamic, order, onStack);
        onStack.remove(v);
        dynamic.put(v, any);
        if (any) {
            if (f.outputVariables().length != 1) {
                throw new Unsupported("op " + f.opName() + " (" + f.getOwnName() + ") has " + f.outputVariables().length + " outputs");
            }
            order.add(v);
        }
        return any;
    }

    private static INDArray constant(SDVariable a, Map<String, INDArray> probe, DataType dt) {
        INDArray arr = a.getVariableType() == VariableType.ARRAY ? probe.get(a.name()) : a.getArr();
        return arr.dataType() == dt || !arr.dataType().isFPType() ? arr.dup('c') : arr.castTo(dt).dup('c');
    }

    private static void translate(SameDiff sd, DifferentialFunction f, String v, Map<String, Integer> id,
            Map<String, Boolean> dynamic, Map<String, INDArray> probe, DataType dt, List<Op> ops, List<long[]> shapes,
            List<String> names) throws Unsupported {
        SDVariable[] args = f.args();
        String op = f.opName();
        String what = "op " + op + " (" + f.getOwnName() + ", " + f.getClass().getSimpleName() + ")";
        List<Integer> dyn = new ArrayList<>();
        List<Integer> dynPos = new ArrayList<>();
        for (int k = 0; k < args.length; k++) {
            if (Boolean.TRUE.equals(dynamic.get(args[k].name()))) {
                dyn.add(id.get(args[k].name()));
                dynPos.add(k);
            }
        }
        int out = id.get(v);
        int in = dyn.get(0);
        boolean firstIsInput = dynPos.get(0) == 0;
        long[] outShape = shapes.get(out);
        switch (op) {
            case "identity" -> ops.add(new Identity(out, in));
            case "conv2d", "sconv2d" -> {
                if (dyn.size() != 1 || !firstIsInput) throw new Unsupported(what + ": weights computed from the input");
                Conv2DConfig c = ((Conv2D) f).getConfig();
                if (c.isNHWC()) throw new Unsupported(what + ": NHWC data format");
                if (c.getWeightsFormat() != null && c.getWeightsFormat() != org.nd4j.enums.WeightsFormat.YXIO) {
                    throw new Unsupported(what + ": weights format " + c.getWeightsFormat());
                }
                if (c.getPaddingMode() == PaddingMode.CAUSAL) throw new Unsupported(what + ": causal padding");
                int[] geo = {(int) c.getKH(), (int) c.getKW(), (int) c.getSH(), (int) c.getSW(), (int) c.getPH(),
                        (int) c.getPW(), (int) Math.max(1, c.getDH()), (int) Math.max(1, c.getDW())};
                boolean same = c.getPaddingMode() == PaddingMode.SAME;
                INDArray w = constant(args[1], probe, dt);
                if (op.equals("conv2d")) {
                    INDArray b = args.length > 2 ? constant(args[2], probe, dt).reshape(-1) : null;
                    ops.add(new Conv(out, in, w, b, geo, same));
                } else {
                    // separable = depthwise (no bias) into an intermediate, then a 1×1 convolution with the bias
                    INDArray pw = constant(args[2], probe, dt);
                    INDArray b = args.length > 3 ? constant(args[3], probe, dt).reshape(-1) : null;
                    int mid = shapes.size();
                    shapes.add(new long[] {1, w.size(2) * w.size(3), outShape[2], outShape[3]});
                    names.add(v + "/depthwise");
                    ops.add(new Depthwise(mid, in, w, null, geo, same));
                    ops.add(new Conv(out, mid, pw, b, new int[] {1, 1, 1, 1, 0, 0, 1, 1}, false));
                }
            }
            case "depthwise_conv2d" -> {
                if (dyn.size() != 1 || !firstIsInput) throw new Unsupported(what + ": weights computed from the input");
                long[] ia = ((DynamicCustomOp) f).iArgs();
                if (ia.length < 10) throw new Unsupported(what + ": " + ia.length + " integer arguments");
                if (ia[9] != 0) throw new Unsupported(what + ": NHWC data format");
                if (ia.length > 10 && ia[10] != 0) throw new Unsupported(what + ": weights format " + ia[10]);
                if (ia[8] == 2) throw new Unsupported(what + ": causal padding");
                int[] geo = {(int) ia[0], (int) ia[1], (int) ia[2], (int) ia[3], (int) ia[4], (int) ia[5],
                        (int) Math.max(1, ia[6]), (int) Math.max(1, ia[7])};
                INDArray w = constant(args[1], probe, dt);
                INDArray b = args.length > 2 ? constant(args[2], probe, dt).reshape(-1) : null;
                ops.add(new Depthwise(out, in, w, b, geo, ia[8] == 1));
            }
            case "maxpool2d", "avgpool2d" -> {
                long[] ia = ((DynamicCustomOp) f).iArgs();
                if (ia.length < 11 || ia[10] != 0) throw new Unsupported(what + ": NHWC pooling");
                if (ia[8] == 2) throw new Unsupported(what + ": causal padding");
                ops.add(new Pool(out, in, op.equals("maxpool2d"), ia.clone()));
            }
            case "relu" -> ops.add(new Unary(out, in, "relu", new double[] {scalar(f)}));
            case "relu6" -> ops.add(new Unary(out, in, "relu6", new double[] {f instanceof ScalarOp ? scalar(f) : tArg(f, 0, 0)}));
            case "leakyrelu", "lrelu" -> ops.add(new Unary(out, in, "lrelu", new double[] {f instanceof ScalarOp ? scalar(f) : tArg(f, 0, 0.01)}));
            case "elu" -> ops.add(new Unary(out, in, "elu", new double[] {tArg(f, 0, 1.0)}));
            case "sigmoid", "tanh", "softplus", "selu", "hardtanh" -> ops.add(new Unary(out, in, op, new double[0]));
            case "hard_sigmoid", "hardsigmoid" -> ops.add(new Unary(out, in, "hardsigmoid", new double[0]));
            case "clipbyvalue", "clip_by_value", "ClipByValue" -> {
                double[] t = ((DynamicCustomOp) f).tArgs();
                if (t.length < 2) {
                    if (args.length < 3 || dyn.size() != 1) throw new Unsupported(what + ": clip bounds computed from the input");
                    t = new double[] {constant(args[1], probe, dt).getDouble(0), constant(args[2], probe, dt).getDouble(0)};
                }
                ops.add(new Unary(out, in, "clip", new double[] {t[0], t[1]}));
            }
            case "add", "sub", "subtract", "mul", "multiply", "div", "divide" -> {
                String fn = switch (op) {
                    case "sub" -> "subtract";
                    case "mul" -> "multiply";
                    case "div" -> "divide";
                    default -> op;
                };
                int a = Boolean.TRUE.equals(dynamic.get(args[0].name())) ? id.get(args[0].name()) : -1;
                int b = Boolean.TRUE.equals(dynamic.get(args[1].name())) ? id.get(args[1].name()) : -1;
                for (int s : new int[] {a, b}) {
                    if (s >= 0 && !java.util.Arrays.equals(shapes.get(s), outShape)) throw new Unsupported(what + ": broadcast activation");
                }
                if (fn.equals("divide") && b >= 0) throw new Unsupported(what + ": division by an activation");
                if (a >= 0 && a == b) throw new Unsupported(what + ": both operands are the same activation");
                ops.add(new Binary(out, a, a < 0 ? constant(args[0], probe, dt) : null, b, b < 0 ? constant(args[1], probe, dt) : null, fn));
            }
            case "biasadd" -> {
                if (dyn.size() != 1 || !firstIsInput) throw new Unsupported(what + ": bias computed from the input");
                boolean[] ba = ((DynamicCustomOp) f).bArgs();
                boolean nchw = ba.length == 0 || ba[0];
                INDArray bias = constant(args[1], probe, dt).reshape(-1);
                long[] bs = new long[outShape.length];
                java.util.Arrays.fill(bs, 1);
                bs[nchw ? 1 : outShape.length - 1] = bias.length();
                ops.add(new Binary(out, in, null, -1, bias.reshape(bs), "add"));
            }
            case "add_scalar", "sub_scalar", "mul_scalar", "div_scalar", "rsub_scalar" -> {
                INDArray s = Nd4j.scalar(dt, scalar(f));
                String fn = switch (op) {
                    case "add_scalar" -> "add";
                    case "mul_scalar" -> "multiply";
                    case "div_scalar" -> "divide";
                    default -> "subtract";
                };
                if (op.equals("rsub_scalar")) ops.add(new Binary(out, -1, s, in, null, fn));
                else ops.add(new Binary(out, in, null, -1, s, fn));
            }
            case "concat" -> {
                if (dyn.size() != args.length) throw new Unsupported(what + ": concatenates constants");
                long[] ia = ((DynamicCustomOp) f).iArgs();
                if (ia.length < 1) throw new Unsupported(what + ": axis given as an array");
                int axis = (int) (ia[0] < 0 ? ia[0] + outShape.length : ia[0]);
                ops.add(new Concat(out, dyn.stream().mapToInt(Integer::intValue).toArray(), axis));
            }
            case "pad" -> {
                long[] ia = ((DynamicCustomOp) f).iArgs();
                if (ia.length > 0 && ia[0] != 0) throw new Unsupported(what + ": padding mode " + ia[0] + " (constant only)");
                INDArray p = constant(args[1], probe, dt);
                long[][] pads = new long[(int) p.size(0)][2];
                for (int d = 0; d < pads.length; d++) {
                    pads[d][0] = p.getLong(d, 0);
                    pads[d][1] = p.getLong(d, 1);
                }
                if (pads[0][0] != 0 || pads[0][1] != 0) throw new Unsupported(what + ": pads the batch axis");
                double value = args.length > 2 ? constant(args[2], probe, dt).getDouble(0) : tArg(f, 0, 0);
                ops.add(new Pad(out, in, pads, value));
            }
            case "reduce_mean", "reduce_sum", "reduce_max" -> {
                if (shapes.get(in).length != 4) throw new Unsupported(what + ": reduction of a rank-" + shapes.get(in).length + " activation");
                int[] dims = f instanceof BaseReduceOp r ? r.getDimensions() : null;
                if (dims == null && args.length > 1) dims = constant(args[1], probe, dt).toIntVector();
                long[] want1 = {1, shapes.get(in)[1], 1, 1};
                long[] want2 = {1, shapes.get(in)[1]};
                if (dims == null || dims.length != 2 || java.util.Arrays.stream(dims).map(d -> d < 0 ? d + 4 : d).sorted().toArray()[0] != 2
                        || (!java.util.Arrays.equals(outShape, want1) && !java.util.Arrays.equals(outShape, want2))) {
                    throw new Unsupported(what + ": reduction over " + java.util.Arrays.toString(dims) + " (spatial only)");
                }
                ops.add(new Reduce(out, in, op.substring(7)));
            }
            case "mmul", "matmul" -> {
                if (dyn.size() != 1 || !firstIsInput) throw new Unsupported(what + ": both operands are activations");
                long[] ia = ((DynamicCustomOp) f).iArgs();
                for (long t : ia) {
                    if (t != 0) throw new Unsupported(what + ": transposed operands");
                }
                if (shapes.get(in).length != 2) throw new Unsupported(what + ": rank-" + shapes.get(in).length + " operand");
                ops.add(new MatMul(out, in, constant(args[1], probe, dt)));
            }
            case "reshape" -> {
                if (outShape[0] != 1 || shapes.get(in)[0] != 1) throw new Unsupported(what + ": reshapes the batch axis");
                ops.add(new Reshape(out, in));
            }
            case "permute", "transpose" -> {
                long[] ia = ((DynamicCustomOp) f).iArgs();
                int[] perm = ia.length > 0 ? java.util.Arrays.stream(ia).mapToInt(x -> (int) x).toArray()
                        : args.length > 1 ? constant(args[1], probe, dt).toIntVector() : null;
                if (perm == null || perm[0] != 0) throw new Unsupported(what + ": permutes the batch axis");
                ops.add(new Permute(out, in, perm));
            }
            case "softmax" -> {
                long[] ia = ((DynamicCustomOp) f).iArgs();
                int axis = ia.length > 0 ? (int) ia[0] : -1;
                if (axis < 0) axis += outShape.length;
                ops.add(new Softmax(out, in, axis));
            }
            default -> throw new Unsupported(what);
        }
    }

    private static double scalar(DifferentialFunction f) throws Unsupported {
        if (!(f instanceof ScalarOp s) || s.scalar() == null) throw new Unsupported("op " + f.opName() + " without its scalar");
        return s.scalar().getDouble(0);
    }

    private static double tArg(DifferentialFunction f, int k, double otherwise) {
        if (f instanceof DynamicCustomOp d && d.tArgs().length > k) return d.tArgs()[k];
        return otherwise;
    }

    // ---- geometry and layout -------------------------------------------------------------------------------------

    /** Stored shape of variable v for batch b: rank-4 activations channels-last when so compiled. */
    long[] stored(int v, int b) {
        long[] s = shapes.get(v).clone();
        s[0] = b;
        if (channelsLast && s.length == 4) return new long[] {s[0], s[2], s[3], s[1]};
        return s;
    }

    long[] logical(int v, int b) {
        long[] s = shapes.get(v).clone();
        s[0] = b;
        return s;
    }

    /** The logical (NCHW) view of a stored array. */
    INDArray view(INDArray stored) {
        return channelsLast && stored.rank() == 4 ? stored.permute(0, 3, 1, 2) : stored;
    }

    /** Stored axis of a logical axis. */
    int axis(int logicalAxis, int rank) {
        if (channelsLast && rank == 4) return new int[] {0, 3, 1, 2}[logicalAxis];
        return logicalAxis;
    }

    /** A constant operand broadcast against a rank-r activation, in the stored layout. */
    INDArray storedConstant(INDArray c, int rank) {
        if (!channelsLast || rank != 4 || c.length() == 1) return c;
        INDArray r = c;
        if (c.rank() < 4) {
            long[] s = new long[4];
            java.util.Arrays.fill(s, 1);
            for (int k = 0; k < c.rank(); k++) s[4 - c.rank() + k] = c.size(k);
            r = c.reshape(s);
        }
        return r.permute(0, 2, 3, 1).dup('c');
    }

    int layerChannelsAt(int v) {
        return (int) shapes.get(v)[1];
    }

    /** The layer's per-sample shape [C, H, W] (or [D]). */
    public long[] layerShape() {
        long[] s = shapes.get(target);
        return java.util.Arrays.copyOfRange(s, 1, s.length);
    }

    public int layerChannels() {
        return layerChannelsAt(target);
    }

    /** True when the layer's map at this input size has the given [1, C, H, W] shape. */
    public boolean matches(long[] mapShape) {
        return java.util.Arrays.equals(mapShape, shapes.get(target));
    }

    /** The schedule (for tests). */
    List<Op> ops() {
        return ops;
    }

    public int opCount() {
        return ops.size();
    }

    /** Multiply-adds per sample of one forward pass (convolutions and dense layers). */
    public long forwardMacs() {
        long macs = 0;
        for (Op op : ops) {
            long[] o = shapes.get(op.out());
            if (op instanceof Conv c) macs += o[1] * o[2] * o[3] * c.w().size(0) * c.w().size(1) * c.w().size(2);
            else if (op instanceof Depthwise d) macs += o[1] * o[2] * o[3] * d.w().size(0) * d.w().size(1);
            else if (op instanceof MatMul m) macs += m.w().length();
        }
        return macs;
    }

    /** Variables whose values the op's backward pass reads (see {@code Session.backwardOp}). */
    int[] readInBackward(Op op) {
        return switch (op) {
            case Unary u -> new int[] {outputGated(u) ? u.out() : u.in()};
            case Pool p -> new int[] {p.in()};
            case Reduce r -> new int[] {r.in()};
            case Softmax sm -> new int[] {sm.in()};
            case Binary bi -> bi.fn().equals("multiply") && bi.a() >= 0 && bi.b() >= 0 ? new int[] {bi.a(), bi.b()} : new int[0];
            case Conv c -> flippedFits(c.geo(), c.same()) || zeroGridFits(c.geo(), c.same(), c.in(), c.out()) ? new int[0] : new int[] {c.in()};
            case Depthwise d -> d.w().size(3) == 1 && (flippedFits(d.geo(), d.same()) || zeroGridFits(d.geo(), d.same(), d.in(), d.out()))
                    ? new int[0] : new int[] {d.in()};
            default -> new int[0];
        };
    }

    /**
     * ReLU, ReLU6 and clip(0, hi) pass the gradient exactly where their output lies strictly inside (0, upper) — the
     * same positions as their input — so their backward pass reads the output: the input (a convolution's output)
     * need not be kept and the activation runs in place. ResNet-50 fwd+bwd: one map buffer and one copy fewer per ReLU.
     */
    static boolean outputGated(Unary u) {
        return (u.fn().equals("relu") && u.t()[0] == 0) || upperBound(u) > 0;
    }

    /** The upper bound of a ReLU6 / clip(0, hi) (the gradient passes where 0 &lt; x &lt; bound), else NaN. */
    static double upperBound(Unary u) {
        return u.fn().equals("relu6") && u.t()[0] == 0 ? 6
                : u.fn().equals("clip") && u.t()[0] == 0 && u.t()[1] > 0 ? u.t()[1] : Double.NaN;
    }

    /** Stride 1 with symmetric padding: the input gradient is a plain convolution with the flipped kernel. */
    static boolean flippedFits(int[] geo, boolean same) {
        int effH = (geo[0] - 1) * geo[6];
        int effW = (geo[1] - 1) * geo[7];
        if (geo[2] != 1 || geo[3] != 1 || (same && (effH % 2 != 0 || effW % 2 != 0))) return false;
        return effH - (same ? effH / 2 : geo[4]) >= 0 && effW - (same ? effW / 2 : geo[5]) >= 0;
    }

    private boolean zeroGridFits(int[] geo, boolean same, int in, int out) {
        long[] i = shapes.get(in), o = shapes.get(out);
        return zeroGrid(geo, same, i[2], i[3], o[2], o[3]) != null;
    }

    /**
     * Where the output gradient sits in the zero grid whose stride-1 VALID convolution with the flipped kernel is the
     * input gradient: {before, length, after} for rows then columns, or null when the padding exceeds the kernel.
     */
    static long[] zeroGrid(int[] geo, boolean same, long hIn, long wIn, long ho, long wo) {
        long effH = (geo[0] - 1L) * geo[6], effW = (geo[1] - 1L) * geo[7];
        long pH = same ? Math.max(0, (ho - 1) * geo[2] + effH + 1 - hIn) / 2 : geo[4];
        long pW = same ? Math.max(0, (wo - 1) * geo[3] + effW + 1 - wIn) / 2 : geo[5];
        long lh = (ho - 1) * geo[2] + 1, lw = (wo - 1) * geo[3] + 1;
        long[] g = {effH - pH, lh, hIn - lh + pH, effW - pW, lw, wIn - lw + pW};
        return g[0] < 0 || g[2] < 0 || g[3] < 0 || g[5] < 0 ? null : g;
    }

    /** A session for forward and backward passes: the activations the backward pass reads are kept. */
    public Session session(int batch) {
        return new Session(batch, true);
    }

    /** A forward-only session: activation buffers are recycled after their last reader, activations run in place. */
    public Session inferenceSession(int batch) {
        return new Session(batch, false);
    }

    // ---- execution ---------------------------------------------------------------------------------------------

    /** Off-heap buffers by length, handed out again once released (the plan is simulated once per session). */
    private final class BufferPool {
        private final Map<Long, ArrayDeque<INDArray>> free = new HashMap<>();
        private final Map<INDArray, Integer> refs = new java.util.IdentityHashMap<>();
        final List<INDArray> all = new ArrayList<>();
        long bytes;

        INDArray acquire(long[] shape) {
            long len = 1;
            for (long s : shape) len *= s;
            ArrayDeque<INDArray> q = free.get(len);
            INDArray flat = q != null && !q.isEmpty() ? q.pop() : null;
            if (flat == null) {
                flat = Nd4j.create(dataType, new long[] {len}, 'c');
                all.add(flat);
                bytes += len * dataType.width();
            }
            refs.put(flat, 1);
            return flat;
        }

        void retain(INDArray flat) {
            refs.merge(flat, 1, Integer::sum);
        }

        int refs(INDArray flat) {
            return refs.getOrDefault(flat, 0);
        }

        void release(INDArray flat) {
            int r = refs.merge(flat, -1, Integer::sum);
            if (r == 0) {
                refs.remove(flat);
                free.computeIfAbsent(flat.length(), k -> new ArrayDeque<>()).push(flat);
            }
        }
    }

    private static INDArray shaped(INDArray flat, long[] shape) {
        return flat.reshape('c', shape);
    }

    /** Buffers and prepared ops for one batch size; not thread-safe. */
    public final class Session {
        private final int b;
        private final boolean training;
        private final INDArray[] act;
        private final INDArray[] grad;
        private final Runnable[] fwd;
        private final Runnable[] bwd;
        private final INDArray inputNchw;
        private final INDArray inputGradNchw;
        private final long bytes;
        private float[] centre;
        private float[] centreGrad;
        /** [b, C] of the layer's dtype, reused by every {@link #forward(float[])} and {@link #backward(float[], float[])}:
         * a per-step array would be freed only at a garbage collection, which a mostly idle 1 GB heap rarely runs
         * (measured: a ResNet-50 render grew 12 MB per step, 1.6 GB in 128 steps). */
        private INDArray centreArr;
        /** Every buffer this session allocated (freed by {@link #close}). */
        private final List<INDArray> owned = new ArrayList<>();
        /** The gradient buffer pool while the backward plan is built (transient scratch for strided gradients). */
        private BufferPool planPool;

        Session(int b, boolean training) {
            this.b = b;
            this.training = training;
            int nv = shapes.size();
            act = new INDArray[nv];
            grad = new INDArray[nv];
            fwd = new Runnable[ops.size()];
            bwd = new Runnable[ops.size()];
            BufferPool acts = new BufferPool();
            // activations the backward pass reads stay; the others are recycled after their last reader, as in
            // inference (MobileNetV2: the inputs of the convolutions, about half of the maps)
            boolean[] keep = new boolean[nv];
            if (training) {
                for (Op op : ops) {
                    for (int i : readInBackward(op)) keep[i] = true;
                }
            }
            INDArray[] flatOf = new INDArray[nv];
            flatOf[0] = acts.acquire(stored(0, b));
            act[0] = shaped(flatOf[0], stored(0, b));
            for (int k = 0; k < ops.size(); k++) {
                Op op = ops.get(k);
                int o = op.out();
                int in0 = op.ins()[0];
                boolean elementwise = op instanceof Unary || op instanceof Binary || op instanceof Identity;
                boolean inPlace = elementwise && !keep[in0] && lastUse[in0] == k && in0 != 0 && acts.refs(flatOf[in0]) == 1
                        && flatOf[in0].length() == len(stored(o, b));
                if (op instanceof Identity) {
                    flatOf[o] = flatOf[in0]; // same values: one buffer, released when both are done
                    acts.retain(flatOf[o]);
                } else if (inPlace) {
                    flatOf[o] = flatOf[in0];
                    acts.retain(flatOf[o]);
                } else {
                    flatOf[o] = acts.acquire(stored(o, b));
                }
                act[o] = shaped(flatOf[o], stored(o, b));
                for (int i : distinct(op.ins())) {
                    if (lastUse[i] == k && i != target && !keep[i] && (i != 0 || !training)) acts.release(flatOf[i]);
                }
            }
            for (int k = 0; k < ops.size(); k++) fwd[k] = forwardOp(ops.get(k));
            long total = acts.bytes;
            if (training) {
                BufferPool grads = new BufferPool();
                planPool = grads;
                INDArray[] gflat = new INDArray[nv];
                gflat[target] = grads.acquire(stored(target, b));
                grad[target] = shaped(gflat[target], stored(target, b));
                boolean[] has = new boolean[nv];
                has[target] = true;
                for (int k = ops.size() - 1; k >= 0; k--) {
                    Op op = ops.get(k);
                    int[] ins = op.ins();
                    boolean[] first = new boolean[ins.length];
                    INDArray[] into = new INDArray[ins.length];
                    List<INDArray> scratch = new ArrayList<>();
                    for (int j = 0; j < ins.length; j++) {
                        int i = ins[j];
                        if (!has[i]) {
                            has[i] = true;
                            first[j] = true;
                            gflat[i] = grads.acquire(stored(i, b));
                            grad[i] = shaped(gflat[i], stored(i, b));
                            into[j] = grad[i];
                        } else {
                            INDArray s = grads.acquire(stored(i, b));
                            scratch.add(s);
                            into[j] = shaped(s, stored(i, b));
                        }
                    }
                    bwd[k] = backwardOp(op, first, into);
                    for (INDArray s : scratch) grads.release(s);
                    // a kept variable's gradient stays readable after the pass (Grad-CAM reads ∂score/∂layer)
                    if (lastUse[op.out()] != Integer.MAX_VALUE || op.out() == target) grads.release(gflat[op.out()]);
                }
                total += grads.bytes;
                owned.addAll(grads.all);
                planPool = null;
            }
            bytes = total;
            owned.addAll(acts.all);
            inputNchw = Nd4j.create(dataType, logical(0, b), 'c');
            inputGradNchw = training ? Nd4j.create(dataType, logical(0, b), 'c') : null;
        }

        private static long len(long[] s) {
            long n = 1;
            for (long x : s) n *= x;
            return n;
        }

        private static int[] distinct(int[] a) {
            return java.util.Arrays.stream(a).distinct().toArray();
        }

        public int batch() {
            return b;
        }

        /** Frees this session's buffers now (not at a garbage collection); the session must not be used afterwards. */
        public void close() {
            for (INDArray a : owned) closeQuietly(a);
            owned.clear();
            closeQuietly(inputNchw);
            closeQuietly(inputGradNchw);
            org.atlas4j.util.NativeMemory.trim(); // the next session must not grow beside this one's freed buffers
        }

        /** Off-heap bytes of this session's activation and gradient buffers. */
        public long bufferBytes() {
            return bytes;
        }

        // -- forward ops --

        private int[] convArgs(int[] geo, boolean same) {
            return new int[] {geo[0], geo[1], geo[2], geo[3], geo[4], geo[5], geo[6], geo[7], same ? 1 : 0, channelsLast ? 1 : 0, 0};
        }

        private Runnable exec(DynamicCustomOp op) {
            return () -> Nd4j.exec(op);
        }

        private Runnable forwardOp(Op op) {
            INDArray y = act[op.out()];
            return switch (op) {
                case Pool p when p.max() -> exec(DynamicCustomOp.builder("maxpool2d").addInputs(act[p.in()])
                        .addOutputs(y).addIntegerArguments(poolArgs(p)).build());
                case Unary u -> u.fn().equals("clip")
                        ? exec(DynamicCustomOp.builder("clipbyvalue").addInputs(act[u.in()]).addOutputs(y)
                                .addFloatingPointArguments(u.t()[0], u.t()[1]).build())
                        : exec(DynamicCustomOp.builder(u.fn()).addInputs(act[u.in()]).addOutputs(y)
                                .addFloatingPointArguments(boxed(u.t())).build());
                case Binary bi -> {
                    INDArray a = bi.a() >= 0 ? act[bi.a()] : storedConstant(bi.aConst(), y.rank());
                    INDArray bb = bi.b() >= 0 ? act[bi.b()] : storedConstant(bi.bConst(), y.rank());
                    yield exec(DynamicCustomOp.builder(bi.fn()).addInputs(a, bb).addOutputs(y).build());
                }
                case Reduce r when r.fn().equals("max") -> {
                    INDArray x = act[r.in()];
                    INDArray z = y.reshape('c', b, layerChannelsAt(r.in()));
                    int[] dims = {axis(2, 4), axis(3, 4)};
                    yield () -> Nd4j.getExecutioner().exec(new Max(x, null, z, false, dims));
                }
                case Softmax sm -> exec(DynamicCustomOp.builder("softmax").addInputs(act[sm.in()]).addOutputs(y)
                        .addIntegerArguments(axis(sm.axis(), y.rank())).build());
                case Identity i -> () -> { }; // same buffer as its input
                default -> linearOp(op, i -> act[i], y, true);
            };
        }

        /**
         * The ops that are linear (affine with {@code affine}: a convolution's bias, a pad's constant) from the inputs
         * {@code in} into {@code y}: the forward pass runs them on the activations with their biases, the tangent pass
         * ({@link #tangent}) on the tangents without — one definition of each op for both.
         */
        private Runnable linearOp(Op op, java.util.function.IntFunction<INDArray> in, INDArray y, boolean affine) {
            return switch (op) {
                case Conv c -> {
                    var f = DynamicCustomOp.builder("conv2d");
                    if (affine && c.b() != null) f.addInputs(in.apply(c.in()), c.w(), c.b());
                    else f.addInputs(in.apply(c.in()), c.w());
                    yield exec(f.addOutputs(y).addIntegerArguments(convArgs(c.geo(), c.same())).build());
                }
                case Depthwise d -> {
                    var f = DynamicCustomOp.builder("depthwise_conv2d");
                    if (affine && d.b() != null) f.addInputs(in.apply(d.in()), d.w(), d.b());
                    else f.addInputs(in.apply(d.in()), d.w());
                    yield exec(f.addOutputs(y).addIntegerArguments(convArgs(d.geo(), d.same())).build());
                }
                case Pool p when !p.max() -> exec(DynamicCustomOp.builder("avgpool2d").addInputs(in.apply(p.in()))
                        .addOutputs(y).addIntegerArguments(poolArgs(p)).build());
                case Concat c -> {
                    INDArray[] xs = java.util.Arrays.stream(c.ins()).mapToObj(in).toArray(INDArray[]::new);
                    yield exec(DynamicCustomOp.builder("concat").addInputs(xs).addOutputs(y)
                            .addIntegerArguments(axis(c.axis(), y.rank())).build());
                }
                case Pad p -> {
                    int r = y.rank();
                    int[][] pads = new int[r][2];
                    for (int d = 0; d < r; d++) {
                        int s = axis(d, r);
                        pads[s][0] = (int) p.pads()[d][0];
                        pads[s][1] = (int) p.pads()[d][1];
                    }
                    yield exec(DynamicCustomOp.builder("pad").addInputs(in.apply(p.in()), Nd4j.createFromArray(pads))
                            .addOutputs(y).addIntegerArguments(0).addFloatingPointArguments(affine ? p.value() : 0.0).build());
                }
                case Reduce r when !r.fn().equals("max") -> {
                    INDArray x = in.apply(r.in());
                    INDArray z = y.reshape('c', b, layerChannelsAt(r.in()));
                    int[] dims = {axis(2, 4), axis(3, 4)};
                    yield r.fn().equals("mean") ? () -> Nd4j.getExecutioner().exec(new Mean(x, z, dims))
                            : () -> Nd4j.getExecutioner().exec(new Sum(x, null, z, false, dims));
                }
                case MatMul m -> {
                    INDArray x = in.apply(m.in());
                    yield () -> x.mmuli(m.w(), y);
                }
                case Reshape r -> {
                    INDArray x = view(in.apply(r.in()));
                    INDArray yl = view(y);
                    long[] shape = yl.shape();
                    yield () -> yl.assign(x.reshape('c', shape));
                }
                case Permute p -> {
                    INDArray x = view(in.apply(p.in()));
                    INDArray yl = view(y);
                    yield () -> yl.assign(x.permute(p.perm()));
                }
                case Identity i -> {
                    INDArray x = in.apply(i.in());
                    yield () -> y.assign(x);
                }
                case Window wi -> {
                    INDArray[] parts = windowParts(wi, view(in.apply(wi.in())), view(y));
                    double v = affine ? wi.value() : 0;
                    INDArray src = parts[0], dst = parts[1];
                    // the borders too on every pass: pooled buffers are shared with other variables
                    yield () -> {
                        for (int k = 2; k < parts.length; k++) parts[k].assign(v);
                        dst.assign(src);
                    };
                }
                default -> throw new IllegalStateException("not a linear op: " + op);
            };
        }

        /** {source window of x, interior of y, then y's non-empty border strips} as logical views. */
        private INDArray[] windowParts(Window wi, INDArray x, INDArray y) {
            int[] p = wi.pads();
            long ho = y.size(2), wo = y.size(3);
            long rows = ho - p[0] - p[1], cols = wo - p[2] - p[3];
            List<INDArray> parts = new ArrayList<>();
            parts.add(x.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.interval(wi.r0(), wi.r0() + rows),
                    NDArrayIndex.interval(wi.c0(), wi.c0() + cols)));
            parts.add(y.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.interval(p[0], p[0] + rows),
                    NDArrayIndex.interval(p[2], p[2] + cols)));
            if (p[0] > 0) parts.add(y.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.interval(0, p[0]), NDArrayIndex.all()));
            if (p[1] > 0) parts.add(y.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.interval(ho - p[1], ho), NDArrayIndex.all()));
            if (p[2] > 0) parts.add(y.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.interval(p[0], p[0] + rows),
                    NDArrayIndex.interval(0, p[2])));
            if (p[3] > 0) parts.add(y.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.interval(p[0], p[0] + rows),
                    NDArrayIndex.interval(wo - p[3], wo)));
            return parts.toArray(INDArray[]::new);
        }

        private int[] poolArgs(Pool p) {
            int[] a = new int[p.iArgs().length];
            for (int k = 0; k < a.length; k++) a[k] = (int) p.iArgs()[k];
            a[10] = channelsLast ? 1 : 0;
            return a;
        }

        // -- backward ops: into[j] receives the gradient of input j (its own buffer when first[j], else scratch that is
        // then added in) --

        private Runnable backwardOp(Op op, boolean[] first, INDArray[] into) {
            INDArray g = grad[op.out()];
            Runnable core = switch (op) {
                case Conv c -> convBackward(c, g, into[0]);
                case Depthwise d -> depthwiseBackward(d, g, into[0]);
                case Pool p -> exec(DynamicCustomOp.builder(p.max() ? "maxpool2d_bp" : "avgpool2d_bp")
                        .addInputs(act[p.in()], g).addOutputs(into[0]).addIntegerArguments(poolArgs(p)).build());
                case Unary u -> unaryDerivative(u, g, into[0]);
                case Binary bi -> binaryBackward(bi, g, first, into);
                case Concat c -> {
                    int ax = axis(c.axis(), g.rank());
                    List<Runnable> parts = new ArrayList<>();
                    long offset = 0;
                    for (int j = 0; j < c.ins().length; j++) {
                        long n = act[c.ins()[j]].size(ax);
                        INDArrayIndex[] idx = new INDArrayIndex[g.rank()];
                        for (int d = 0; d < idx.length; d++) idx[d] = d == ax ? NDArrayIndex.interval(offset, offset + n) : NDArrayIndex.all();
                        INDArray slice = g.get(idx);
                        parts.add(contribute(into[j], slice));
                        offset += n;
                    }
                    yield () -> parts.forEach(Runnable::run);
                }
                case Pad p -> {
                    int r = g.rank();
                    INDArrayIndex[] idx = new INDArrayIndex[r];
                    long[] inShape = act[p.in()].shape();
                    for (int d = 0; d < r; d++) {
                        int s = axis(d, r);
                        idx[s] = NDArrayIndex.interval(p.pads()[d][0], p.pads()[d][0] + inShape[s]);
                    }
                    yield contribute(into[0], g.get(idx));
                }
                case Reduce r -> {
                    INDArray x = act[r.in()];
                    INDArray gz = g.reshape('c', b, layerChannelsAt(r.in()));
                    int[] dims = {axis(2, 4), axis(3, 4)};
                    INDArray t = into[0];
                    long hw = shapes.get(r.in())[2] * shapes.get(r.in())[3];
                    yield switch (r.fn()) {
                        case "mean" -> () -> Nd4j.getExecutioner().exec(new MeanBp(x, gz, t, false, dims));
                        case "sum" -> () -> {
                            Nd4j.getExecutioner().exec(new MeanBp(x, gz, t, false, dims));
                            t.muli(hw);
                        };
                        default -> () -> Nd4j.getExecutioner().exec(new MaxBp(x, gz, t, false, dims));
                    };
                }
                case MatMul m -> {
                    INDArray wt = transposed(m);
                    INDArray t = into[0];
                    yield () -> g.mmuli(wt, t);
                }
                case Reshape r -> {
                    INDArray gl = view(g);
                    INDArray tl = view(into[0]);
                    long[] shape = tl.shape();
                    yield () -> tl.assign(gl.reshape('c', shape));
                }
                case Permute p -> {
                    int[] inv = new int[p.perm().length];
                    for (int k = 0; k < inv.length; k++) inv[p.perm()[k]] = k;
                    INDArray gl = view(g);
                    INDArray tl = view(into[0]);
                    yield () -> tl.assign(gl.permute(inv));
                }
                case Softmax s -> exec(DynamicCustomOp.builder("softmax_bp").addInputs(act[s.in()], g).addOutputs(into[0])
                        .addIntegerArguments(axis(s.axis(), g.rank())).build());
                case Identity i -> contribute(into[0], g);
                case Window wi -> {
                    INDArray t = view(into[0]);
                    INDArray[] parts = windowParts(wi, t, view(g));
                    INDArray tin = parts[0], gin = parts[1];
                    boolean whole = tin.length() == t.length();
                    yield () -> {
                        if (!whole) t.assign(0); // the rows and columns other consumers need: nothing from here
                        tin.assign(gin);
                    };
                }
            };
            // a gradient that is not the variable's first was written into scratch: add it in
            List<Runnable> adds = new ArrayList<>();
            int[] ins = op.ins();
            for (int j = 0; j < ins.length; j++) {
                if (!first[j]) {
                    INDArray s = into[j];
                    INDArray gi = grad[ins[j]];
                    adds.add(() -> gi.addi(s));
                }
            }
            if (adds.isEmpty()) return core;
            return () -> {
                core.run();
                for (Runnable a : adds) a.run();
            };
        }

        /**
         * t = f'(x)·g for an element-wise op (t a buffer other than g): its backward pass, and also its forward-mode
         * derivative ({@link #tangent}), since an element-wise Jacobian is diagonal.
         */
        private Runnable unaryDerivative(Unary u, INDArray g, INDArray t) {
            // gated ops read their output (see outputGated): same positions, and the input may be gone
            INDArray x = outputGated(u) ? act[u.out()] : act[u.in()];
            double upper = upperBound(u);
            if (!Double.isNaN(upper)) {
                // ∂ = 1 where 0 < x < upper, i.e. where x·(upper − x) > 0: step(·) times g. Four element-wise
                // passes in the target buffer: 10 ms vs 103 ms for libnd4j's relu6_bp on a 16×112×112×96 map
                // here (NativeGraphBench); the sign of the product is exact in floating point.
                DynamicCustomOp times = DynamicCustomOp.builder("multiply").addInputs(t, x).addOutputs(t).build();
                DynamicCustomOp timesG = DynamicCustomOp.builder("multiply").addInputs(t, g).addOutputs(t).build();
                return () -> {
                    Nd4j.getExecutioner().exec(new ScalarReverseSubtraction(x, null, t, upper));
                    Nd4j.exec(times);
                    Nd4j.getExecutioner().exec(new Step(t, t, 0.0));
                    Nd4j.exec(timesG);
                };
            }
            if (u.fn().equals("relu") && u.t()[0] == 0) {
                // ∂ = 1 where x > 0: step(x) times g (11 vs 30 ms for relu_bp on the map above)
                DynamicCustomOp timesG = DynamicCustomOp.builder("multiply").addInputs(t, g).addOutputs(t).build();
                return () -> {
                    Nd4j.getExecutioner().exec(new Step(x, t, 0.0));
                    Nd4j.exec(timesG);
                };
            }
            if (u.fn().equals("clip")) {
                double lo = u.t()[0], hi = u.t()[1];
                // ∂clip/∂x = 1 strictly inside the bounds (SameDiff's convention at the bounds: 0)
                return () -> t.assign(g.mul(x.gt(lo).castTo(dataType).muli(x.lt(hi).castTo(dataType))));
            }
            return exec(DynamicCustomOp.builder(u.fn() + "_bp").addInputs(x, g).addOutputs(t)
                    .addFloatingPointArguments(boxed(u.t())).build());
        }

        /** Writes a value into a gradient target (its own buffer or scratch: {@link #backwardOp} adds scratch in). */
        private Runnable contribute(INDArray into, INDArray value) {
            return () -> into.assign(value);
        }

        private Runnable binaryBackward(Binary bi, INDArray g, boolean[] first, INDArray[] into) {
            List<Runnable> parts = new ArrayList<>();
            int j = 0;
            for (int side = 0; side < 2; side++) {
                int v = side == 0 ? bi.a() : bi.b();
                if (v < 0) continue;
                INDArray t = into[j++];
                INDArray other = side == 0 ? (bi.b() >= 0 ? act[bi.b()] : storedConstant(bi.bConst(), g.rank()))
                        : (bi.a() >= 0 ? act[bi.a()] : storedConstant(bi.aConst(), g.rank()));
                switch (bi.fn()) {
                    case "add" -> parts.add(() -> t.assign(g));
                    case "subtract" -> parts.add(side == 0 ? () -> t.assign(g) : () -> t.assign(g).negi());
                    case "multiply" -> parts.add(exec(DynamicCustomOp.builder("multiply").addInputs(g, other).addOutputs(t).build()));
                    case "divide" -> {
                        if (side == 1) throw new IllegalStateException("division by an activation");
                        parts.add(exec(DynamicCustomOp.builder("divide").addInputs(g, other).addOutputs(t).build()));
                    }
                    default -> throw new IllegalStateException(bi.fn());
                }
            }
            return () -> parts.forEach(Runnable::run);
        }

        private Runnable convBackward(Conv c, INDArray g, INDArray t) {
            int[] geo = c.geo();
            if (channelsLast && dataType == DataType.FLOAT && c.w().size(2) <= FEW_INPUT_CHANNELS && geo[6] == 1 && geo[7] == 1) {
                return fewChannelsBackward(c, g, t);
            }
            if (flippedFits(geo, c.same())) {
                // stride 1: a convolution of the output gradient with the kernel flipped and its channels swapped,
                // padded by (k_eff − 1) − p (NativeChain measured deconv2d ~30× slower for this)
                int effH = (geo[0] - 1) * geo[6];
                int effW = (geo[1] - 1) * geo[7];
                int[] bgeo = {geo[0], geo[1], 1, 1, effH - (c.same() ? effH / 2 : geo[4]), effW - (c.same() ? effW / 2 : geo[5]),
                        geo[6], geo[7]};
                return exec(DynamicCustomOp.builder("conv2d").addInputs(g, flippedSwapped(c))
                        .addOutputs(t).addIntegerArguments(convArgs(bgeo, false)).build());
            }
            Runnable r = zeroInserted(g, t, flippedSwapped(c), geo, c.same(), "conv2d");
            if (r != null) return r;
            if (deconvMatches(c, g, t)) {
                return exec(DynamicCustomOp.builder("deconv2d").addInputs(g, c.w()).addOutputs(t)
                        .addIntegerArguments(convArgs(geo, c.same())).build());
            }
            INDArray gw = Nd4j.create(dataType, c.w().shape(), 'c');
            var f = DynamicCustomOp.builder("conv2d_bp");
            if (c.b() != null) {
                f.addInputs(act[c.in()], c.w(), c.b(), g).addOutputs(t, gw, Nd4j.create(dataType, c.b().shape(), 'c'));
            } else {
                f.addInputs(act[c.in()], c.w(), g).addOutputs(t, gw);
            }
            return exec(f.addIntegerArguments(convArgs(geo, c.same())).build());
        }

        /**
         * The input gradient of a convolution reading few channels (the stem of every ImageNet network: 3 colour
         * channels, 7×7 or 3×3, stride 2) as one GEMM per image — columns = g · Wᵀ, [positions, kH·kW·C] — and a col2im
         * scatter-add in Java. Why: as a convolution it writes 3 output channels, which oneDNN vectorizes badly, over a
         * zero grid 4× the forward's positions; measured on GoogLeNet's stem as ~13× its forward time.
         */
        private Runnable fewChannelsBackward(Conv c, INDArray g, INDArray t) {
            int[] geo = c.geo();
            int kh = geo[0], kw = geo[1], sh = geo[2], sw = geo[3];
            int cin = (int) c.w().size(2), cout = (int) c.w().size(3);
            int hIn = (int) t.size(1), wIn = (int) t.size(2), ho = (int) g.size(1), wo = (int) g.size(2);
            int pt = c.same() ? Math.max(0, (ho - 1) * sh + kh - hIn) / 2 : geo[4];
            int pl = c.same() ? Math.max(0, (wo - 1) * sw + kw - wIn) / 2 : geo[5];
            int k = kh * kw * cin;
            INDArray wmat = c.w().reshape('c', k, cout); // [(ky, kx, ci), co]
            INDArray cols = Nd4j.create(DataType.FLOAT, (long) ho * wo, k);
            owned.add(cols);
            float[] colv = new float[ho * wo * k];
            float[] img = new float[hIn * wIn * cin];
            int perImage = hIn * wIn * cin;
            return () -> {
                java.nio.FloatBuffer out = t.data().asNioFloat();
                for (int i = 0; i < b; i++) {
                    // the per-image view is taken at run time: a reshape that had to copy would otherwise go stale
                    Nd4j.gemm(g.get(NDArrayIndex.point(i)).reshape('c', (long) ho * wo, cout), wmat, cols, false, true, 1.0, 0.0);
                    cols.data().asNioFloat().get(0, colv);
                    // col2im as a gather (each input pixel sums the columns that read it): rows are independent, so
                    // both cores share it (the scatter form ran on one and was the render stage's top Java method)
                    java.util.stream.IntStream.range(0, hIn).parallel().forEach(iy -> {
                        for (int ix = 0; ix < wIn; ix++) {
                            int dst = (iy * wIn + ix) * cin;
                            for (int ci = 0; ci < cin; ci++) img[dst + ci] = 0f;
                            for (int ky = 0; ky < kh; ky++) {
                                int ny = iy + pt - ky;
                                if (ny < 0 || ny % sh != 0 || ny / sh >= ho) continue;
                                int oy = ny / sh;
                                for (int kx = 0; kx < kw; kx++) {
                                    int nx = ix + pl - kx;
                                    if (nx < 0 || nx % sw != 0 || nx / sw >= wo) continue;
                                    int src = ((oy * wo + nx / sw) * kh * kw + ky * kw + kx) * cin;
                                    for (int ci = 0; ci < cin; ci++) img[dst + ci] += colv[src + ci];
                                }
                            }
                        }
                    });
                    out.put((int) (t.offset() + (long) i * perImage), img); // t: channels-last [b, h, w, c], contiguous
                }
            };
        }

        /**
         * The input gradient of a strided (or any) convolution as a stride-1 VALID convolution, with the flipped kernel
         * {@code wf}, of the output gradient spread over a zero grid: g[o] sits at (k_eff − p) + o·s, and the grid has
         * the input's size plus k_eff. libnd4j's conv2d_bp / depthwise_conv2d_bp also compute the weight gradient and
         * were the slowest ops of a MobileNetV2 step here (~120 ms per strided depthwise layer at batch 16).
         * Null when the geometry does not fit (padding beyond the kernel).
         */
        private Runnable zeroInserted(INDArray g, INDArray t, INDArray wf, int[] geo, boolean same, String op) {
            int hAx = axis(2, 4), wAx = axis(3, 4), cAx = axis(1, 4);
            long[] z = zeroGrid(geo, same, t.size(hAx), t.size(wAx), g.size(hAx), g.size(wAx));
            if (z == null) return null;
            long beforeH = z[0], lh = z[1], beforeW = z[3], lw = z[4];
            long hu = z[0] + z[1] + z[2], wu = z[3] + z[4] + z[5];
            long ch = g.size(cAx);
            long[] ushape = channelsLast ? new long[] {b, hu, wu, ch} : new long[] {b, ch, hu, wu};
            INDArray uflat = planPool.acquire(ushape);
            planPool.release(uflat); // only used inside this op's step
            INDArray u = shaped(uflat, ushape);
            INDArrayIndex[] idx = new INDArrayIndex[4];
            for (int d = 0; d < 4; d++) idx[d] = NDArrayIndex.all();
            idx[hAx] = NDArrayIndex.interval(beforeH, geo[2], beforeH + lh, false);
            idx[wAx] = NDArrayIndex.interval(beforeW, geo[3], beforeW + lw, false);
            INDArray grid = u.get(idx);
            DynamicCustomOp conv = DynamicCustomOp.builder(op).addInputs(u, wf).addOutputs(t)
                    .addIntegerArguments(convArgs(new int[] {geo[0], geo[1], 1, 1, 0, 0, geo[6], geo[7]}, false)).build();
            return () -> {
                u.assign(0); // the pooled buffer may hold another op's values
                grid.assign(g);
                Nd4j.exec(conv);
            };
        }

        /** True when a transposed convolution of the output gradient has exactly the input's size. */
        private boolean deconvMatches(Conv c, INDArray g, INDArray t) {
            int[] geo = c.geo();
            int hAx = axis(2, 4), wAx = axis(3, 4);
            long oh = g.size(hAx), ow = g.size(wAx);
            long h = c.same() ? oh * geo[2] : (oh - 1) * geo[2] + (long) (geo[0] - 1) * geo[6] + 1 - 2L * geo[4];
            long w = c.same() ? ow * geo[3] : (ow - 1) * geo[3] + (long) (geo[1] - 1) * geo[7] + 1 - 2L * geo[5];
            return h == t.size(hAx) && w == t.size(wAx);
        }

        private Runnable depthwiseBackward(Depthwise d, INDArray g, INDArray t) {
            int[] geo = d.geo();
            if (d.w().size(3) == 1 && flippedFits(geo, d.same())) {
                // multiplier 1, stride 1: the input gradient is a depthwise convolution with the kernel flipped
                int effH = (geo[0] - 1) * geo[6];
                int effW = (geo[1] - 1) * geo[7];
                int[] bgeo = {geo[0], geo[1], 1, 1, effH - (d.same() ? effH / 2 : geo[4]), effW - (d.same() ? effW / 2 : geo[5]),
                        geo[6], geo[7]};
                return exec(DynamicCustomOp.builder("depthwise_conv2d").addInputs(g, flipped(d)).addOutputs(t)
                        .addIntegerArguments(convArgs(bgeo, false)).build());
            }
            if (d.w().size(3) == 1) {
                Runnable r = zeroInserted(g, t, flipped(d), geo, d.same(), "depthwise_conv2d");
                if (r != null) return r;
            }
            INDArray gw = Nd4j.create(dataType, d.w().shape(), 'c');
            var f = DynamicCustomOp.builder("depthwise_conv2d_bp");
            if (d.b() != null) {
                f.addInputs(act[d.in()], d.w(), d.b(), g).addOutputs(t, gw, Nd4j.create(dataType, d.b().shape(), 'c'));
            } else {
                f.addInputs(act[d.in()], d.w(), g).addOutputs(t, gw);
            }
            return exec(f.addIntegerArguments(convArgs(geo, d.same())).build());
        }

        // -- public API (NativeChain.Session-compatible where it can be) --

        /** Forward from [b, c, h, w] (logical NCHW) to the layer; returns its NCHW view (valid until the next call). */
        public INDArray forward(INDArray input) {
            if (crop != null && input.size(2) == crop.height() && input.size(3) == crop.width()) {
                input = input.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.interval(crop.r0(), crop.r0() + crop.rows()),
                        NDArrayIndex.interval(crop.c0(), crop.c0() + crop.cols()));
            }
            view(act[0]).assign(input);
            run();
            return view(act[target]);
        }

        /** Forward from row-major [b, c, h, w] floats to the layer map, as an NCHW view (valid until the next call). */
        public INDArray forwardMap(float[] input) {
            if (crop != null) input = cropInput(input);
            if (dataType == DataType.FLOAT) inputNchw.data().asNioFloat().put(0, input, 0, (int) inputNchw.length());
            else inputNchw.assign(Nd4j.create(input, inputNchw.shape(), 'c'));
            view(act[0]).assign(inputNchw);
            run();
            return view(act[target]);
        }

        private void run() {
            for (Runnable f : fwd) f.run();
        }

        /** A kept (or the target) variable's values from the last forward pass, as an NCHW view. */
        public INDArray variable(String name) {
            int v = names.indexOf(name);
            if (v < 0 || (v != target && lastUse[v] != Integer.MAX_VALUE)) {
                throw new IllegalArgumentException(name + " was not kept by this compiled graph");
            }
            return view(act[v]);
        }

        /**
         * One forward and (for training sessions) backward pass with every op timed, summed per op kind: where the
         * time goes (for measurements; the last forward input is reused).
         */
        public String profile() {
            Map<String, long[]> t = new java.util.TreeMap<>();
            for (int k = 0; k < ops.size(); k++) {
                long t0 = System.nanoTime();
                fwd[k].run();
                t.computeIfAbsent(kind(ops.get(k)) + " fwd", x -> new long[2])[0] += System.nanoTime() - t0;
                t.get(kind(ops.get(k)) + " fwd")[1]++;
            }
            if (training) {
                for (int k = ops.size() - 1; k >= 0; k--) {
                    long t0 = System.nanoTime();
                    bwd[k].run();
                    t.computeIfAbsent(kind(ops.get(k)) + " bwd", x -> new long[2])[0] += System.nanoTime() - t0;
                    t.get(kind(ops.get(k)) + " bwd")[1]++;
                }
            }
            StringBuilder sb = new StringBuilder();
            t.forEach((k, v) -> sb.append(String.format("%-24s %4d ops %8.1f ms%n", k, v[1], v[0] / 1e6)));
            return sb.toString();
        }

        private static String kind(Op op) {
            String n = op.getClass().getSimpleName();
            if (op instanceof Unary u) return n + "(" + u.fn() + ")";
            if (op instanceof Binary bi) return n + "(" + bi.fn() + ")";
            if (op instanceof Conv c) return n + (c.geo()[0] == 1 && c.geo()[1] == 1 ? "1x1" : "") + (c.geo()[2] > 1 ? "/s" : "");
            if (op instanceof Depthwise d) return n + (d.geo()[2] > 1 ? "/s" : "");
            return n;
        }

        /**
         * Back from ∂obj/∂layer (NCHW, the layer's shape) to ∂obj/∂input, returned as an NCHW array (reused by the next
         * call). Reads the activations of the last forward call.
         */
        public INDArray backward(INDArray dLayer) {
            if (!training) throw new IllegalStateException("an inference session has no backward pass");
            view(grad[target]).assign(dLayer);
            for (int k = ops.size() - 1; k >= 0; k--) bwd[k].run();
            inputGradNchw.assign(view(grad[0]));
            return inputGradNchw;
        }

        /**
         * Back from ∂obj/∂target (NCHW, the target's shape; e.g. a one-hot per sample on the logits) only as far as the
         * kept variable {@code stop} needs, returning ∂obj/∂stop as an NCHW view (valid until the next pass). Every op
         * reading {@code stop} comes after its producer in the schedule, so the ops from the end down to just after the
         * producer give its complete gradient; the ones before it (towards the input) are skipped. {@code stop} may be
         * the input (a full pass) or any kept variable.
         */
        public INDArray backwardTo(INDArray dTarget, String stop) {
            if (!training) throw new IllegalStateException("an inference session has no backward pass");
            int v = names.indexOf(stop);
            if (v < 0 || (v != 0 && lastUse[v] != Integer.MAX_VALUE)) {
                throw new IllegalArgumentException(stop + " was not kept by this compiled graph");
            }
            int from = v == 0 ? 0 : producerIndex(v) + 1;
            view(grad[target]).assign(dTarget);
            for (int k = ops.size() - 1; k >= from; k--) bwd[k].run();
            return view(grad[v]);
        }

        /** The forward-mode plan from one kept variable (built on first use): per op, J_op·(tangents of its inputs). */
        private int tangentFrom = -1;
        private Runnable[] tangentOps;
        private INDArray[] tangents;

        /**
         * Why {@link #tangent} cannot start at {@code from} (an op on its way to the target without a forward-mode
         * derivative here), or null when it can.
         */
        public String tangentUnsupported(String from) {
            int v = names.indexOf(from);
            if (v < 0 || (v != 0 && lastUse[v] != Integer.MAX_VALUE)) return from + " was not kept by this compiled graph";
            boolean[] has = new boolean[shapes.size()];
            has[v] = true;
            for (int k = v == 0 ? 0 : producerIndex(v) + 1; k < ops.size(); k++) {
                Op op = ops.get(k);
                boolean any = false;
                for (int i : op.ins()) any |= has[i];
                if (!any) continue;
                String why = switch (op) {
                    case Softmax sm -> "softmax";
                    case Pool p when p.max() && dataType != DataType.FLOAT -> "max pooling in " + dataType;
                    case Reduce r when r.fn().equals("max") -> "global max pooling";
                    case Binary bi when bi.fn().equals("divide") && bi.b() >= 0 -> "division by an activation";
                    case Binary bi when bi.a() >= 0 && bi.b() >= 0 && !(has[bi.a()] && has[bi.b()])
                            && !java.util.Arrays.equals(shapes.get(bi.a()), shapes.get(bi.b())) -> "a broadcast " + bi.fn();
                    default -> null;
                };
                if (why != null) return why + " (" + names.get(op.out()) + ")";
                has[op.out()] = true;
            }
            return has[target] ? null : "the target does not depend on " + from;
        }

        /**
         * Forward-mode derivative: J·dFrom at the target for a direction dFrom of the kept variable {@code from}
         * (logical NCHW), linearised at the activations of the last {@link #forwardMap} call — the Jacobian-vector
         * product, one pass whatever the target's size. Max pooling passes each window's first maximum and ReLUs gate
         * strictly above zero: the same linearisation as {@link #backwardTo}, so u·(J·d) equals (Jᵀu)·d exactly (up to
         * rounding). Collect's attribution a·∂logit_c/∂a for all 1,000 ImageNet classes is one such pass instead of
         * 1,000 backward passes. Returns a logical view of the target's tangent (valid until the next call).
         */
        public INDArray tangent(String from, INDArray direction) {
            if (!training) throw new IllegalStateException("an inference session does not keep what the tangent reads");
            int v = names.indexOf(from);
            if (v != tangentFrom) {
                String why = tangentUnsupported(from);
                if (why != null) throw new IllegalArgumentException("no forward-mode derivative from " + from + ": " + why);
                planTangent(v);
            }
            view(tangents[v]).assign(direction);
            for (Runnable r : tangentOps) r.run();
            return view(tangents[target]);
        }

        private void planTangent(int v) {
            if (tangents != null) {
                for (INDArray t : tangents) {
                    if (t != null) closeQuietly(t);
                }
            }
            int nv = shapes.size();
            tangents = new INDArray[nv];
            List<Runnable> plan = new ArrayList<>();
            tangents[v] = Nd4j.create(dataType, stored(v, b), 'c');
            for (int k = v == 0 ? 0 : producerIndex(v) + 1; k < ops.size(); k++) {
                Op op = ops.get(k);
                boolean any = false;
                for (int i : op.ins()) any |= tangents[i] != null;
                if (!any) continue;
                INDArray t = Nd4j.create(dataType, stored(op.out(), b), 'c');
                tangents[op.out()] = t;
                plan.add(tangentOp(op, t));
            }
            tangentOps = plan.toArray(Runnable[]::new);
            tangentFrom = v;
            for (INDArray t : tangents) {
                if (t != null) owned.add(t);
            }
        }

        /** t = J_op · (tangents of the op's inputs); an input without a tangent contributes nothing. */
        private Runnable tangentOp(Op op, INDArray t) {
            INDArray[] tn = tangents;
            return switch (op) {
                case Pool p when p.max() -> maxPoolTangent(p, act[p.in()], tn[p.in()], t);
                case Unary u -> unaryDerivative(u, tn[u.in()], t);
                case Binary bi -> binaryTangent(bi, t);
                case Softmax sm -> throw new IllegalStateException("softmax has no tangent here");
                case Reduce r when r.fn().equals("max") -> throw new IllegalStateException("global max pooling has no tangent here");
                default -> linearOp(op, i -> tn[i] != null ? tn[i] : zeros(i), t, false);
            };
        }

        /** A zero tangent for an input the direction does not reach (a concat's other branch), allocated once. */
        private INDArray zeros(int v) {
            INDArray z = Nd4j.create(dataType, stored(v, b), 'c');
            owned.add(z);
            return z;
        }

        /** Linear in the tangents: add/subtract pass them, multiply by a constant scales, a·b is t_a·b + a·t_b. */
        private Runnable binaryTangent(Binary bi, INDArray t) {
            INDArray ta = bi.a() >= 0 ? tangents[bi.a()] : null;
            INDArray tb = bi.b() >= 0 ? tangents[bi.b()] : null;
            int r = t.rank();
            INDArray ca = bi.a() >= 0 ? act[bi.a()] : storedConstant(bi.aConst(), r);
            INDArray cb = bi.b() >= 0 ? act[bi.b()] : storedConstant(bi.bConst(), r);
            return switch (bi.fn()) {
                case "add", "subtract" -> {
                    if (ta != null && tb != null) yield exec(DynamicCustomOp.builder(bi.fn()).addInputs(ta, tb).addOutputs(t).build());
                    INDArray only = ta != null ? ta : tb;
                    boolean negate = ta == null && bi.fn().equals("subtract");
                    yield () -> {
                        t.assign(only);
                        if (negate) t.negi();
                    };
                }
                case "multiply" -> {
                    if (ta != null && tb != null) {
                        DynamicCustomOp first = DynamicCustomOp.builder("multiply").addInputs(ta, cb).addOutputs(t).build();
                        INDArray second = Nd4j.create(dataType, t.shape(), 'c');
                        owned.add(second);
                        DynamicCustomOp other = DynamicCustomOp.builder("multiply").addInputs(ca, tb).addOutputs(second).build();
                        yield () -> {
                            Nd4j.exec(first);
                            Nd4j.exec(other);
                            t.addi(second);
                        };
                    }
                    yield ta != null ? exec(DynamicCustomOp.builder("multiply").addInputs(ta, cb).addOutputs(t).build())
                            : exec(DynamicCustomOp.builder("multiply").addInputs(ca, tb).addOutputs(t).build());
                }
                case "divide" -> exec(DynamicCustomOp.builder("divide").addInputs(ta, cb).addOutputs(t).build());
                default -> throw new IllegalStateException(bi.fn());
            };
        }

        /**
         * Max pooling's tangent: each output takes its window's tangent at the window's first maximum of the input
         * (row-major over the window, padding excluded) — the element libnd4j's maxpool2d_bp sends the gradient to.
         */
        private Runnable maxPoolTangent(Pool p, INDArray x, INDArray tIn, INDArray t) {
            long[] ia = p.iArgs();
            int kh = (int) ia[0], kw = (int) ia[1], sh = (int) ia[2], sw = (int) ia[3];
            int dh = (int) Math.max(1, ia[6]), dw = (int) Math.max(1, ia[7]);
            long[] li = shapes.get(p.in()), lo = shapes.get(p.out());
            int c = (int) li[1], hi = (int) li[2], wi = (int) li[3], ho = (int) lo[2], wo = (int) lo[3];
            int ph = ia[8] == 1 ? Math.max(0, ((ho - 1) * sh + (kh - 1) * dh + 1 - hi) / 2) : (int) ia[4];
            int pw = ia[8] == 1 ? Math.max(0, ((wo - 1) * sw + (kw - 1) * dw + 1 - wi) / 2) : (int) ia[5];
            // strides of the stored layout, as (channel, row, column) steps within one sample
            int sc = channelsLast ? 1 : hi * wi, sy = channelsLast ? wi * c : wi, sx = channelsLast ? c : 1;
            int oc = channelsLast ? 1 : ho * wo, oy = channelsLast ? wo * c : wo, ox = channelsLast ? c : 1;
            int inLen = c * hi * wi, outLen = c * ho * wo;
            // one image at a time in arrays allocated once with the plan (the whole batch per call was ~3 × 40 MB of
            // heap per pool on GoogLeNet's tail); the image's rows are shared by the cores
            float[] xv = new float[inLen];
            float[] tv = new float[inLen];
            float[] out = new float[outLen];
            return () -> {
                java.nio.FloatBuffer xb = x.data().asNioFloat(), tb = tIn.data().asNioFloat(), ob = t.data().asNioFloat();
                for (int n = 0; n < b; n++) {
                    xb.get((int) (x.offset() + (long) n * inLen), xv);
                    tb.get((int) (tIn.offset() + (long) n * inLen), tv);
                    java.util.stream.IntStream.range(0, ho).parallel().forEach(y -> {
                        for (int ch = 0; ch < c; ch++) {
                            for (int xo = 0; xo < wo; xo++) {
                                float best = Float.NEGATIVE_INFINITY;
                                int at = -1;
                                for (int ky = 0; ky < kh; ky++) {
                                    int iy = y * sh - ph + ky * dh;
                                    if (iy < 0 || iy >= hi) continue;
                                    for (int kx = 0; kx < kw; kx++) {
                                        int ix = xo * sw - pw + kx * dw;
                                        if (ix < 0 || ix >= wi) continue;
                                        int i = ch * sc + iy * sy + ix * sx;
                                        if (xv[i] > best) {
                                            best = xv[i];
                                            at = i;
                                        }
                                    }
                                }
                                out[ch * oc + y * oy + xo * ox] = at < 0 ? 0f : tv[at];
                            }
                        }
                    });
                    ob.put((int) (t.offset() + (long) n * outLen), out);
                }
            };
        }

        /**
         * ∂obj/∂v of the last (full) {@link #backward} pass for a kept variable, as an NCHW view: read the layer's and the
         * input's gradient from one pass.
         */
        public INDArray gradient(String name) {
            int v = names.indexOf(name);
            if (v < 0 || (v != 0 && lastUse[v] != Integer.MAX_VALUE)) {
                throw new IllegalArgumentException(name + " was not kept by this compiled graph");
            }
            return view(grad[v]);
        }

        /** Forward to the layer's centre position: [b, C] row-major (reused), like {@link NativeChain.Session#forward}. */
        public float[] forward(float[] input) {
            INDArray map = forwardMap(input);
            int c = layerChannels();
            if (centre == null) centre = new float[b * c];
            long[] s = map.shape();
            INDArray at = s.length == 4 ? map.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.point(s[2] / 2),
                    NDArrayIndex.point(s[3] / 2)) : map;
            centreArray(c).assign(at);
            if (dataType == DataType.FLOAT) centreArr.data().asNioFloat().get(0, centre, 0, b * c);
            else System.arraycopy(centreArr.castTo(DataType.FLOAT).data().asFloat(), 0, centre, 0, b * c);
            return centre;
        }

        private INDArray centreArray(int c) {
            if (centreArr == null) {
                centreArr = Nd4j.create(dataType, new long[] {b, c}, 'c');
                owned.add(centreArr);
            }
            return centreArr;
        }

        public float[] centreGradBuffer() {
            if (centreGrad == null) centreGrad = new float[b * layerChannels()];
            return centreGrad;
        }

        /** Back from ∂obj/∂centre [b, C] to ∂obj/∂input, written into {@code inputGrad} (row-major [b, c, h, w]). */
        public void backward(float[] dCentre, float[] inputGrad) {
            if (!training) throw new IllegalStateException("an inference session has no backward pass");
            long[] s = logical(target, b);
            int c = (int) s[1];
            INDArray dc = centreArray(c);
            if (dataType == DataType.FLOAT) dc.data().asNioFloat().put(0, dCentre, 0, b * c);
            else dc.assign(Nd4j.createFromArray(java.util.Arrays.copyOf(dCentre, b * c)).reshape(b, c));
            // seeded in place in the target's gradient buffer: no per-step arrays (see centreArr)
            INDArray d = view(grad[target]);
            d.assign(0);
            if (s.length == 4) d.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.point(s[2] / 2), NDArrayIndex.point(s[3] / 2)).assign(dc);
            else d.assign(dc);
            for (int k = ops.size() - 1; k >= 0; k--) bwd[k].run();
            inputGradNchw.assign(view(grad[0]));
            INDArray gi = inputGradNchw;
            float[] v = dataType == DataType.FLOAT ? null : gi.castTo(DataType.FLOAT).data().asFloat();
            float[] into = crop != null ? cropGrad() : inputGrad;
            if (v == null) gi.data().asNioFloat().get(0, into, 0, (int) gi.length());
            else System.arraycopy(v, 0, into, 0, v.length);
            if (crop != null) uncrop(into, inputGrad);
        }

        private float[] cropIn;
        private float[] cropGradBuf;

        /** The crop's window of a whole row-major [b, c, h, w] input. */
        private float[] cropInput(float[] whole) {
            if (cropIn == null) cropIn = new float[(int) inputNchw.length()];
            int c = (int) shapes.get(0)[1], rows = crop.rows(), cols = crop.cols();
            for (int n = 0; n < b; n++) {
                for (int ch = 0; ch < c; ch++) {
                    for (int r = 0; r < rows; r++) {
                        System.arraycopy(whole, ((n * c + ch) * crop.height() + crop.r0() + r) * crop.width() + crop.c0(),
                                cropIn, ((n * c + ch) * rows + r) * cols, cols);
                    }
                }
            }
            return cropIn;
        }

        private float[] cropGrad() {
            if (cropGradBuf == null) cropGradBuf = new float[(int) inputNchw.length()];
            return cropGradBuf;
        }

        /** The window's gradient into the whole input's, zero outside the receptive field. */
        private void uncrop(float[] window, float[] whole) {
            int c = (int) shapes.get(0)[1], rows = crop.rows(), cols = crop.cols();
            java.util.Arrays.fill(whole, 0, b * c * crop.height() * crop.width(), 0f);
            for (int n = 0; n < b; n++) {
                for (int ch = 0; ch < c; ch++) {
                    for (int r = 0; r < rows; r++) {
                        System.arraycopy(window, ((n * c + ch) * rows + r) * cols, whole,
                                ((n * c + ch) * crop.height() + crop.r0() + r) * crop.width() + crop.c0(), cols);
                    }
                }
            }
        }
    }

    /**
     * Backward-pass weights (flipped kernels, transposed dense weights), made once per engine and shared by its
     * sessions: a ResNet-50 holds 100 MB of them, which every session used to copy.
     */
    private final Map<Op, INDArray> backwardWeights = new java.util.IdentityHashMap<>();

    private synchronized INDArray flippedSwapped(Conv c) {
        return backwardWeights.computeIfAbsent(c, k -> flipSpatial(c.w()).permute(0, 1, 3, 2).dup('c'));
    }

    private synchronized INDArray flipped(Depthwise d) {
        return backwardWeights.computeIfAbsent(d, k -> flipSpatial(d.w()));
    }

    private synchronized INDArray transposed(MatMul m) {
        return backwardWeights.computeIfAbsent(m, k -> m.w().transpose().dup('c'));
    }

    /**
     * Frees the engine's weights and backward weights now rather than at a garbage collection (the sanity cascade
     * builds one engine per randomized layer; off-heap memory would pile up between collections). The engine and its
     * sessions must not be used afterwards.
     */
    public synchronized void close() {
        java.util.Set<INDArray> seen = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        seen.addAll(backwardWeights.values());
        for (Op op : ops) {
            switch (op) {
                case Conv c -> { seen.add(c.w()); if (c.b() != null) seen.add(c.b()); }
                case Depthwise d -> { seen.add(d.w()); if (d.b() != null) seen.add(d.b()); }
                case MatMul m -> seen.add(m.w());
                default -> { }
            }
        }
        if (crop != null) seen.retainAll(backwardWeights.values()); // the weights are the whole engine's
        backwardWeights.clear();
        for (INDArray a : seen) closeQuietly(a);
    }

    static void closeQuietly(INDArray a) {
        try {
            if (a != null && a.closeable()) a.close();
        } catch (RuntimeException e) {
            // a view or an already released array: the garbage collector frees it
        }
    }

    /** W'[a, b, c, m] = W[kH−1−a, kW−1−b, c, m]. */
    static INDArray flipSpatial(INDArray w) {
        long kh = w.size(0), kw = w.size(1);
        INDArray out = Nd4j.create(w.dataType(), w.shape(), 'c');
        for (long a = 0; a < kh; a++) {
            for (long bb = 0; bb < kw; bb++) {
                out.get(NDArrayIndex.point(a), NDArrayIndex.point(bb), NDArrayIndex.all(), NDArrayIndex.all())
                        .assign(w.get(NDArrayIndex.point(kh - 1 - a), NDArrayIndex.point(kw - 1 - bb), NDArrayIndex.all(), NDArrayIndex.all()));
            }
        }
        return out;
    }

    private static Double[] boxed(double[] t) {
        Double[] d = new Double[t.length];
        for (int k = 0; k < t.length; k++) d[k] = t[k];
        return d;
    }

    private int producerIndex(int v) {
        for (int k = 0; k < ops.size(); k++) {
            if (ops.get(k).out() == v) return k;
        }
        throw new IllegalArgumentException(names.get(v) + " has no producer");
    }

    public DataType dataType() {
        return dataType;
    }

    /** The input placeholder's name (the variable {@link Session#gradient} reads for the input gradient). */
    public String inputName() {
        return names.get(0);
    }

    /** Names of the graph variables the schedule computes, in order (for messages and tests). */
    public List<String> variables() {
        return names;
    }
}
