package org.atlas4j.attribution;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import org.atlas4j.model.NativeGraph;
import org.atlas4j.model.NetGraph;
import org.atlas4j.util.UserError;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Attribution maps for a batch of images at one layer: one forward pass, at most one backward pass to the layer
 * (Grad-CAM, Grad-CAM++) and one to the input (saliency) per batch, plus the noisy copies SmoothGrad averages over.
 * Maps come back at the input's resolution, before division by their maximum (see {@link AttributionMaps#normalized}).
 */
public final class Explainer {
    /** Target selection: a class index ≥ 0, or {@link #TOP1}/{@link #TOP2} for the model's own ranking. */
    public static final int TOP1 = -1;
    public static final int TOP2 = -2;

    /**
     * @param smoothSamples noisy copies per image for SmoothGrad (Smilkov et al.: ~50)
     * @param smoothSigma noise σ as a fraction of the image's value range (Smilkov et al.: 0.10–0.20)
     * @param batchSize images (or noisy copies) per forward/backward pass
     */
    public record Options(List<Method> methods, int smoothSamples, double smoothSigma, long seed, int batchSize) {
        public Options {
            methods = List.copyOf(methods);
            if (methods.isEmpty()) throw new UserError("no attribution method given. Valid: " + Method.VALID);
            if (smoothSamples < 1) throw new UserError("--smooth-samples must be >= 1, got " + smoothSamples);
            if (!(smoothSigma > 0 && smoothSigma <= 1)) {
                throw new UserError("--smooth-sigma is a fraction of the input range in (0, 1], got " + smoothSigma);
            }
            if (batchSize < 1) throw new UserError("--batch must be >= 1, got " + batchSize);
        }
    }

    /** One image's answer: the explained class, the class scores and probabilities, and a map per method. */
    public record Result(int target, float[] scores, float[] probabilities, Map<Method, float[]> maps) {
        /** Classes by descending probability, the first {@code k}. */
        public int[] top(int k) {
            return java.util.Arrays.copyOf(ranked(probabilities), Math.min(k, probabilities.length));
        }
    }

    private final NetGraph graph;
    private final NetGraph tail;
    private final String layerVar;
    private final DataType inputType;
    private final CamHead cam;
    private final Options o;
    private final int channels;
    private final int mapH;
    private final int mapW;
    private final int c;
    private final int h;
    private final int w;
    private final int classes;
    /** The network from the input to the logits, keeping the layer's map and its gradient; null: SameDiff runs. */
    private final NativeGraph dag;
    private final String engineWhy;
    private final int pass;
    /**
     * The one native session (a short chunk runs in it with its rows padded; a larger pass replaces it), with its
     * zero-padded input for short passes and the one-hot seed of the backward pass, reused: arrays made per pass would
     * be freed only at a garbage collection.
     */
    private NativeGraph.Session session;
    private INDArray padded;
    private INDArray seed;
    /** The session and batch of the last native forward pass (their activations feed the next backward pass). */
    private NativeGraph.Session last;
    private int lastB;

    /** @param cam the CAM weights; required only when the methods include CAM */
    public Explainer(NetGraph graph, String layer, CamHead cam, Options o) {
        this(graph, layer, cam, o, true);
    }

    /** @param allowNative false keeps SameDiff (for comparing the engines) */
    Explainer(NetGraph graph, String layer, CamHead cam, Options o, boolean allowNative) {
        NetGraph.LayerShape s = graph.spatialLayer(layer);
        this.graph = graph;
        this.layerVar = s.node().variable();
        this.channels = (int) s.shape()[0];
        this.mapH = (int) s.shape()[1];
        this.mapW = (int) s.shape()[2];
        int[] in = graph.inputShape();
        this.c = in[0];
        this.h = in[1];
        this.w = in[2];
        this.classes = graph.classCount();
        this.inputType = graph.sameDiff().getVariable(graph.input()).dataType();
        this.o = o;
        this.cam = cam;
        if (o.methods().stream().anyMatch(m -> m.base() == Method.Base.CAM)) {
            if (cam == null) throw new IllegalArgumentException("CAM requested without CAM head weights");
            if (cam.channels() != channels || cam.classes() != classes) {
                throw new IllegalArgumentException("CAM head " + cam.channels() + "×" + cam.classes() + " does not match layer "
                        + channels + " channels, " + classes + " classes");
            }
        }
        NativeGraph.Compiled cg = !allowNative ? new NativeGraph.Compiled(null, "the caller's choice")
                : graph.logits() == null ? new NativeGraph.Compiled(null, "no logits")
                : NativeGraph.compileVariables(graph, graph.logits(), List.of(layerVar), c, h, w);
        this.dag = cg.engine();
        this.engineWhy = cg.unsupported();
        // the tail graph is only for SameDiff's layer gradient; building it costs a conversion
        this.tail = dag == null ? graph.tailAfter(layer) : null;
        if (dag != null) {
            NativeGraph.Session probe = dag.session(1);
            long perImage = Math.max(1, probe.bufferBytes());
            probe.close();
            this.pass = (int) Math.max(1, Math.min(o.batchSize(), dagBufferBytes() / perImage));
        } else {
            this.pass = org.atlas4j.model.MemoryBudget.batch(graph, null, true, 1, o.batchSize());
        }
    }

    /**
     * Off-heap bytes the native session may hold: half the one batch memory budget (ATLAS_BATCH_MEMORY_MB, default
     * 1 GB → 512 MB), so one setting bounds every stage. Half, not render's 4/5: explain also keeps the SameDiff
     * graph, the engine's weights and backward weights, and the maps being written (ResNet-50 layer3 at 4/5, 15 images
     * per pass: 3.3 GB peak RSS; throughput gains little beyond ~8 images per pass).
     */
    static long dagBufferBytes() {
        return org.atlas4j.model.MemoryBudget.budgetBytes() / 2;
    }

    /** Images (or noisy copies) per forward/backward pass: the requested batch, lowered to fit the memory budget. */
    public int passBatch() {
        return pass;
    }

    /** True when passes run on the native graph engine (else SameDiff). */
    public boolean isNative() {
        return dag != null;
    }

    /**
     * Frees the native engine's buffers and weights now (the sanity cascade makes one explainer per randomized layer;
     * off-heap memory freed only at garbage collections would pile up). The explainer must not be used afterwards.
     */
    public void close() {
        if (dag == null) return;
        releaseSession();
        last = null;
        dag.close();
    }

    /** Which engine runs the passes, and why not the native one when it is SameDiff (one line for the log). */
    public String engine() {
        return dag != null ? "native graph engine (" + dag.opCount() + " ops, " + pass + " images per pass)"
                : "SameDiff (" + engineWhy + " is not covered by the native graph engine)";
    }

    public int classes() { return classes; }
    public int mapHeight() { return mapH; }
    public int mapWidth() { return mapW; }
    public int channels() { return channels; }

    /** Layer activations [b·K·u·v] and class scores [b·classes] of one forward pass. */
    public record Pass(float[] activations, float[] scores) {
    }

    public INDArray input(float[] images, int b) {
        return Nd4j.create(images, new long[] {b, c, h, w}, 'c').castTo(inputType);
    }

    public Pass forward(INDArray x) {
        if (dag != null) return nativeForward(x);
        Map<String, INDArray> out = graph.forward(x, layerVar, graph.logits());
        return new Pass(floats(out.get(layerVar)), floats(out.get(graph.logits())));
    }

    /** A session holding b images: the current one if it is large enough, else a new one of b (the old one freed). */
    private NativeGraph.Session session(int b) {
        if (session != null && session.batch() >= b) return session;
        releaseSession();
        session = dag.session(b);
        return session;
    }

    private void releaseSession() {
        if (session != null) session.close();
        release(padded);
        release(seed);
        session = null;
        padded = null;
        seed = null;
    }

    private Pass nativeForward(INDArray x) {
        int b = (int) x.size(0);
        NativeGraph.Session s = session(b);
        INDArray in = x;
        if (s.batch() > b) {
            if (padded == null) padded = Nd4j.zeros(x.dataType(), s.batch(), c, h, w);
            in = padded;
            in.get(NDArrayIndex.interval(0, b)).assign(x);
        }
        INDArray logits = s.forward(in);
        last = s;
        lastB = b;
        return new Pass(rows(s.variable(layerVar), b), rows(logits, b));
    }

    /** The first b rows of an NCHW view, row-major floats. */
    private static float[] rows(INDArray a, int b) {
        INDArray r = a.size(0) == b ? a : a.get(NDArrayIndex.interval(0, b));
        return floats(r);
    }

    /**
     * ∂y_c/∂A and/or ∂y_c/∂x on the native engine, after {@link #nativeForward} of the same images: one backward pass
     * seeded with each sample's one-hot on the logits, stopped at the layer when the input gradient is not wanted.
     */
    private float[][] nativeGradients(int b, int[] cls, boolean layer, boolean input) {
        NativeGraph.Session s = last;
        if (s == null || lastB != b) throw new IllegalStateException("native backward without its forward pass");
        if (seed == null) seed = Nd4j.zeros(dag.dataType(), s.batch(), classes);
        seed.assign(0);
        for (int i = 0; i < b; i++) seed.putScalar(i, cls[i], 1.0);
        float[] gl = null;
        float[] gx = null;
        if (input) {
            gx = rows(s.backwardTo(seed, dag.inputName()), b);
            if (layer) gl = rows(s.gradient(layerVar), b);
        } else if (layer) {
            gl = rows(s.backwardTo(seed, layerVar), b);
        }
        return new float[][] {gl, gx};
    }

    /** ∂y_c/∂A for each sample's class (A the layer's activations), [b·K·u·v]. */
    public float[] layerGradient(INDArray x, float[] activations, int b, int[] cls) {
        if (dag != null) {
            nativeForward(x);
            return nativeGradients(b, cls, true, false)[0];
        }
        INDArray weights = oneHot(b, cls);
        if (tail != null) {
            // differentiate only the layers after A, fed with A itself
            INDArray a = Nd4j.create(activations, new long[] {b, channels, mapH, mapW}, 'c')
                    .castTo(tail.sameDiff().getVariable(tail.input()).dataType());
            return floats(tail.classScoreGradient(a, weights, tail.input()));
        }
        return floats(graph.classScoreGradient(x, weights, layerVar));
    }

    /** ∂y_c/∂x for each sample's class, [b·C·H·W]. */
    public float[] inputGradient(INDArray x, int b, int[] cls) {
        if (dag != null) {
            nativeForward(x);
            return nativeGradients(b, cls, false, true)[1];
        }
        return floats(graph.classScoreGradient(x, oneHot(b, cls), graph.input()));
    }

    /**
     * @param images b images, NCHW, already in the model's input scaling
     * @param targets per image: a class index, or {@link #TOP1}/{@link #TOP2}
     * @param keys per image: a stable identity (e.g. its index or a hash of its name) that seeds its SmoothGrad noise,
     *        so a map does not depend on which batch the image was in
     */
    public List<Result> explain(float[] images, int b, int[] targets, long[] keys) {
        if (b > pass) {
            // images do not interact: explain them a pass at a time within the memory budget
            List<Result> all = new ArrayList<>();
            int len = c * h * w;
            for (int s = 0; s < b; s += pass) {
                int m = Math.min(pass, b - s);
                all.addAll(explain(java.util.Arrays.copyOfRange(images, s * len, (s + m) * len), m,
                        java.util.Arrays.copyOfRange(targets, s, s + m), java.util.Arrays.copyOfRange(keys, s, s + m)));
            }
            return all;
        }
        INDArray x = input(images, b);
        Pass p = forward(x);
        int[] cls = new int[b];
        float[][] probs = new float[b][];
        for (int i = 0; i < b; i++) {
            float[] scores = java.util.Arrays.copyOfRange(p.scores(), i * classes, (i + 1) * classes);
            probs[i] = softmax(scores);
            cls[i] = resolveTarget(targets[i], probs[i]);
        }
        EnumSet<Method.Base> plain = EnumSet.noneOf(Method.Base.class);
        EnumSet<Method.Base> smooth = EnumSet.noneOf(Method.Base.class);
        for (Method m : o.methods()) (m.smooth() ? smooth : plain).add(m.base());
        List<Map<Method, float[]>> maps = new ArrayList<>();
        for (int i = 0; i < b; i++) maps.add(new LinkedHashMap<>());
        if (!plain.isEmpty()) {
            Map<Method.Base, float[][]> raw = rawMaps(plain, x, p.activations(), b, cls);
            for (var e : raw.entrySet()) {
                for (int i = 0; i < b; i++) maps.get(i).put(new Method(e.getKey(), false), toInputResolution(e.getKey(), e.getValue()[i]));
            }
        }
        if (!smooth.isEmpty()) {
            Map<Method.Base, float[][]> avg = smoothGrad(smooth, images, b, cls, keys);
            for (var e : avg.entrySet()) {
                for (int i = 0; i < b; i++) maps.get(i).put(new Method(e.getKey(), true), toInputResolution(e.getKey(), e.getValue()[i]));
            }
        }
        List<Result> results = new ArrayList<>();
        for (int i = 0; i < b; i++) {
            // keep the user's method order
            Map<Method, float[]> ordered = new LinkedHashMap<>();
            for (Method m : o.methods()) ordered.put(m, maps.get(i).get(m));
            results.add(new Result(cls[i], java.util.Arrays.copyOfRange(p.scores(), i * classes, (i + 1) * classes), probs[i],
                    ordered));
        }
        return results;
    }

    /** Per base method, per image: the unnormalized map at its native resolution (layer, or input for saliency). */
    private Map<Method.Base, float[][]> rawMaps(EnumSet<Method.Base> bases, INDArray x, float[] act, int b, int[] cls) {
        boolean layerGrad = bases.contains(Method.Base.GRAD_CAM) || bases.contains(Method.Base.GRAD_CAM_PLUS_PLUS);
        boolean inputGrad = bases.contains(Method.Base.SALIENCY);
        float[] g;
        float[] gx;
        if (dag != null && (layerGrad || inputGrad)) {
            // one backward pass gives both (the caller's forward pass of x was the session's last)
            float[][] both = nativeGradients(b, cls, layerGrad, inputGrad);
            g = both[0];
            gx = both[1];
        } else {
            g = layerGrad ? layerGradient(x, act, b, cls) : null;
            gx = inputGrad ? inputGradient(x, b, cls) : null;
        }
        int area = mapH * mapW;
        int per = channels * area;
        Map<Method.Base, float[][]> out = new LinkedHashMap<>();
        for (Method.Base base : bases) {
            float[][] m = new float[b][];
            for (int i = 0; i < b; i++) {
                int off = i * per;
                m[i] = switch (base) {
                    case CAM -> AttributionMaps.weightedReluSum(act, off, cam.classWeights(cls[i]), area);
                    case GRAD_CAM -> AttributionMaps.weightedReluSum(act, off,
                            AttributionMaps.gradCamWeights(g, off, channels, area), area);
                    case GRAD_CAM_PLUS_PLUS -> AttributionMaps.weightedReluSum(act, off,
                            AttributionMaps.gradCamPlusPlusWeights(act, g, off, channels, area), area);
                    case SALIENCY -> AttributionMaps.saliency(gx, i * c * h * w, c, h * w);
                };
            }
            out.put(base, m);
        }
        return out;
    }

    /**
     * SmoothGrad (Smilkov et al. 2017): each map averaged over n copies x + N(0, σ²), σ = smoothSigma × (max − min of
     * the image). The copies of all images go through the network in batches of {@code batchSize}.
     */
    private Map<Method.Base, float[][]> smoothGrad(EnumSet<Method.Base> bases, float[] images, int b, int[] cls, long[] keys) {
        int n = o.smoothSamples();
        int len = c * h * w;
        double[] sigma = new double[b];
        for (int i = 0; i < b; i++) {
            float lo = Float.POSITIVE_INFINITY;
            float hi = Float.NEGATIVE_INFINITY;
            for (int k = 0; k < len; k++) {
                lo = Math.min(lo, images[i * len + k]);
                hi = Math.max(hi, images[i * len + k]);
            }
            sigma[i] = o.smoothSigma() * (hi > lo ? hi - lo : 1);
        }
        Map<Method.Base, float[][]> sum = new LinkedHashMap<>();
        SplittableRandom[] rngs = new SplittableRandom[b];
        for (int i = 0; i < b; i++) rngs[i] = new SplittableRandom(o.seed() ^ (0x9E3779B97F4A7C15L * (keys[i] + 1)));
        int total = b * n;
        int bs = pass;
        float[] noisy = new float[bs * len];
        for (int start = 0; start < total; start += bs) {
            int m = Math.min(bs, total - start);
            int[] owner = new int[m];
            int[] chunkCls = new int[m];
            for (int j = 0; j < m; j++) {
                int i = (start + j) / n; // copies of one image are consecutive, so its noise stream is used in order
                owner[j] = i;
                chunkCls[j] = cls[i];
                for (int k = 0; k < len; k++) {
                    noisy[j * len + k] = (float) (images[i * len + k] + sigma[i] * rngs[i].nextGaussian());
                }
            }
            INDArray x = input(m == bs ? noisy : java.util.Arrays.copyOf(noisy, m * len), m);
            // the native engine's backward pass reads the activations of its forward pass: always run it there
            float[] act = dag != null || bases.stream().anyMatch(Method.Base::layerResolution) ? forward(x).activations() : null;
            Map<Method.Base, float[][]> raw = rawMaps(bases, x, act, m, chunkCls);
            for (var e : raw.entrySet()) {
                float[][] acc = sum.computeIfAbsent(e.getKey(), k -> new float[b][]);
                for (int j = 0; j < m; j++) {
                    float[] r = e.getValue()[j];
                    float[] a = acc[owner[j]];
                    if (a == null) {
                        acc[owner[j]] = r.clone();
                    } else {
                        for (int q = 0; q < r.length; q++) a[q] += r[q];
                    }
                }
            }
        }
        for (float[][] acc : sum.values()) {
            for (float[] a : acc) {
                for (int q = 0; q < a.length; q++) a[q] /= n;
            }
        }
        return sum;
    }

    private float[] toInputResolution(Method.Base base, float[] raw) {
        return base.layerResolution() ? AttributionMaps.upsample(raw, mapH, mapW, h, w) : raw;
    }

    private int resolveTarget(int target, float[] probs) {
        if (target >= 0) {
            if (target >= classes) {
                throw new UserError("class index " + target + " is out of range: the model has " + classes + " classes (0–"
                        + (classes - 1) + ")");
            }
            return target;
        }
        int[] order = ranked(probs);
        return order[Math.min(-target - 1, order.length - 1)];
    }

    /** Class indices by descending probability. */
    static int[] ranked(float[] probs) {
        return java.util.stream.IntStream.range(0, probs.length).boxed()
                .sorted((a, b) -> Float.compare(probs[b], probs[a])).mapToInt(Integer::intValue).toArray();
    }

    private INDArray oneHot(int b, int[] cls) {
        INDArray weights = Nd4j.zeros(DataType.FLOAT, b, classes);
        for (int i = 0; i < b; i++) weights.putScalar(i, cls[i], 1.0);
        return weights;
    }

    static float[] softmax(float[] s) {
        double mx = Double.NEGATIVE_INFINITY;
        for (float v : s) mx = Math.max(mx, v);
        double[] e = new double[s.length];
        double z = 0;
        for (int i = 0; i < s.length; i++) {
            e[i] = Math.exp(s[i] - mx);
            z += e[i];
        }
        float[] p = new float[s.length];
        for (int i = 0; i < s.length; i++) p[i] = (float) (e[i] / z);
        return p;
    }

    /**
     * Row-major floats of an array. A float c-order array with default strides (a session's buffer, or its first rows)
     * is read in place; anything else through a copy freed at once. Why: a copy per pass is native memory that only a
     * garbage collection frees, and a mostly idle heap collects rarely (SmoothGrad makes hundreds of passes).
     */
    static float[] floats(INDArray a) {
        if (a.dataType() == DataType.FLOAT && a.ordering() == 'c' && a.offset() == 0
                && org.nd4j.linalg.api.shape.Shape.hasDefaultStridesForShape(a) && a.length() <= Integer.MAX_VALUE) {
            float[] out = new float[(int) a.length()];
            a.data().asNioFloat().get(0, out);
            return out;
        }
        INDArray d = a.castTo(DataType.FLOAT).dup('c');
        float[] out = d.data().asFloat();
        release(d);
        return out;
    }

    private static void release(INDArray a) {
        try {
            if (a != null && a.closeable()) a.close();
        } catch (RuntimeException e) {
            // a view or already released: left to the garbage collector
        }
    }
}
