package org.atlas4j.collect;

import org.atlas4j.model.NativeChain;
import org.atlas4j.model.NativeGraph;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Locale;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import org.atlas4j.data.ImageDataset;
import org.atlas4j.io.Json;
import org.atlas4j.io.Npy;
import org.atlas4j.model.NetGraph;
import org.atlas4j.util.Finite;
import org.atlas4j.util.Progress;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Stage 1: one random spatial activation per image at the chosen layer, streamed to disk.
 * Memory is bounded by one batch: vectors go straight into {@code activations.npy}, metadata into {@code samples.csv}.
 * A sample whose image failed to decode ({@link ImageDataset#usable}) is left out of every output; the rows that remain
 * keep their dataset index (samples.csv's {@code index}) and the position drawn for it, so they do not depend on it.
 */
public final class Collector {
    public static final String ACTIVATIONS = "activations.npy";
    public static final String SAMPLES = "samples.csv";
    public static final String SECOND_MOMENT = "second-moment.npy";
    public static final String META = "collect.json";
    public static final String ATTRIBUTION = "attribution.npy";

    /** Options; {@code excludeEdges} skips the border row/column of the layer's map, as in the paper. */
    public record Options(String layer, int batchSize, long seed, boolean excludeEdges, boolean attribution) {
        public Options(String layer, int batchSize, long seed, boolean excludeEdges) {
            this(layer, batchSize, seed, excludeEdges, false);
        }

        public static final int DEFAULT_BATCH = 256;

        public Options {
            if (batchSize < 1) throw new org.atlas4j.util.UserError("collect batch size must be >= 1, got " + batchSize);
        }

        /** The defaults: batches of {@value #DEFAULT_BATCH}, the border row/column excluded (the paper's), no attribution. */
        public static Options of(String layer, long seed) {
            return new Options(layer, DEFAULT_BATCH, seed, true, false);
        }

        public Options withBatchSize(int batchSize) {
            return new Options(layer, batchSize, seed, excludeEdges, attribution);
        }
    }

    /** What collect wrote, as recorded in {@code collect.json}. */
    public record Result(String layer, int count, int dim, int mapHeight, int mapWidth, long seed, boolean excludeEdges,
            String dataset, double accuracy, double seconds, double imagesPerSecond, String engine) {
        public static Result read(Path dir) {
            return Json.read(dir.resolve(META), Result.class);
        }
    }

    private Collector() {
    }

    /** Every image failed to decode: nothing to write (the caller can name the files and their reasons). */
    public static final class NothingDecoded extends org.atlas4j.util.UserError {
        public NothingDecoded(String message) {
            super(message);
        }
    }

    /** Provenance columns of samples.csv for image-file datasets: the file (relative to the image folder) and the box shown. */
    public static final String SOURCE_COLUMNS = "file,crop_x,crop_y,crop_w,crop_h";

    /** The file quoted as CSV when it needs it (commas, quotes), then the box in the file's full-resolution pixels. */
    static String sourceColumns(ImageDataset.Source s) {
        String f = s.file();
        if (f.contains(",") || f.contains("\"") || f.contains("\n")) f = "\"" + f.replace("\"", "\"\"") + "\"";
        return f + "," + s.x() + "," + s.y() + "," + s.w() + "," + s.h();
    }

    /** "sample 12 (boat/x.jpg)": the index, and the file for image-folder datasets. */
    static String sampleName(ImageDataset data, int i) {
        ImageDataset.Source s = data.source(i);
        return "sample " + i + (s != null ? " (" + s.file() + ")" : "");
    }

    /** The sampled position of image {@code i}: a pure function of (seed, i), so any subset reproduces it. */
    public static int[] position(long seed, int i, int h, int w, boolean excludeEdges) {
        SplittableRandom r = new SplittableRandom(seed ^ (0x9E3779B97F4A7C15L * (i + 1L)));
        int lo = excludeEdges && h >= 3 ? 1 : 0;
        int hiY = excludeEdges && h >= 3 ? h - 1 : h;
        int loX = excludeEdges && w >= 3 ? 1 : 0;
        int hiX = excludeEdges && w >= 3 ? w - 1 : w;
        return new int[] {lo + r.nextInt(hiY - lo), loX + r.nextInt(hiX - loX)};
    }

    public static Result run(NetGraph graph, ImageDataset data, Options o, Path dir) throws IOException {
        return runLayers(graph, data, o, List.of(o.layer()), List.of(dir)).get(0);
    }

    /** One layer's outputs while collecting: its writers, buffers and running second moment. */
    private static final class Sink implements AutoCloseable {
        final String layer;
        final String variable;
        final int d;
        final int h;
        final int w;
        final Path dir;
        final double[] moment;
        final float[] block;
        final float[] attrBlock;
        final int classes;
        final Npy.Writer acts;
        final Npy.Writer attr;
        final Path csvTmp;
        final BufferedWriter csv;

        /** samples.csv also names each sample's file and the box of it shown (image-file datasets only). */
        final boolean sources;

        Sink(NetGraph graph, String layer, Path dir, int n, Options o, boolean sources) throws IOException {
            this.sources = sources;
            NetGraph.LayerShape shape = graph.spatialLayer(layer);
            this.layer = layer;
            this.variable = shape.node().variable();
            this.d = (int) shape.shape()[0];
            this.h = (int) shape.shape()[1];
            this.w = (int) shape.shape()[2];
            this.dir = dir;
            this.moment = new double[d * d];
            this.block = new float[o.batchSize() * d];
            java.nio.file.Files.createDirectories(dir);
            int k = 0;
            if (o.attribution()) {
                if (graph.logits() == null) {
                    throw new org.atlas4j.util.UserError("--attribution needs a model with pre-softmax class scores (an output layer)");
                }
                NetGraph tail = graph.tailAfter(layer);
                k = (tail != null ? tail : graph).classCount();
            }
            this.classes = k;
            this.attrBlock = new float[o.batchSize() * Math.max(k, 1)];
            this.acts = Npy.Writer.open(dir.resolve(ACTIVATIONS), n, d);
            this.attr = o.attribution() ? Npy.Writer.open(dir.resolve(ATTRIBUTION), n, k) : null;
            this.csvTmp = dir.resolve("." + SAMPLES + ".tmp");
            this.csv = java.nio.file.Files.newBufferedWriter(csvTmp, StandardCharsets.UTF_8);
            csv.append("index,label,predicted,probability,y,x" + (sources ? "," + SOURCE_COLUMNS : "") + "\n");
        }

        @Override
        public void close() throws IOException {
            try (Npy.Writer a = acts; Npy.Writer b = attr; BufferedWriter c = csv) {
                // closes all three, in reverse order, even if one fails
            }
        }
    }

    /**
     * Collects several layers in one pass over the data (each layer its own folder, same images and seed).
     * Positions depend on (seed, image, map size) only, so a layer's samples are the same as in a single-layer run.
     */
    public static List<Result> runLayers(NetGraph graph, ImageDataset data, Options o, List<String> layers, List<Path> dirs)
            throws IOException {
        return runLayers(graph, data, o, layers, dirs, 0);
    }

    /**
     * Collects images [first, first + data.size()) of a larger dataset, given as {@code data} (the distributed path):
     * positions and samples.csv's index are those of the whole dataset, so slices concatenated equal one run.
     */
    public static Result runSlice(NetGraph graph, ImageDataset data, Options o, Path dir, int first) throws IOException {
        // attribution positions are still drawn from the slice's own index (attribute(..., start, ...))
        if (o.attribution() && first != 0) throw new org.atlas4j.util.UserError("attributions are not collected in slices yet");
        return runLayers(graph, data, o, List.of(o.layer()), List.of(dir), first).get(0);
    }

    private static List<Result> runLayers(NetGraph graph, ImageDataset data, Options o, List<String> layers, List<Path> dirs,
            int first) throws IOException {
        int n = data.size();
        if (n == 0) throw new org.atlas4j.util.UserError("the dataset is empty: nothing to collect");
        String outVar = graph.output();
        int len = data.imageLength();
        int correct = 0;
        int labelled = 0;
        int written = 0;
        long t0 = System.nanoTime();
        List<Sink> sinks = new ArrayList<>();
        String engineName;
        try (Progress p = Progress.start("collect " + String.join(",", layers), n, "img")) {
            for (int l = 0; l < layers.size(); l++) sinks.add(new Sink(graph, layers.get(l), dirs.get(l), n, o, data.source(0) != null));
            float[] input = new float[o.batchSize() * len];
            Engine engine = Engine.choose(graph, data, o, layers, sinks);
            engineName = engine.name();
            for (int s = 0; s < n; s += engine.step()) {
                int b = Math.min(engine.step(), n - s);
                for (int i = 0; i < b; i++) data.copyImage(s + i, input, i * len);
                // the whole batch still runs (a placeholder costs one image's work); its rows are dropped below
                boolean[] use = new boolean[b];
                int[] keptIdx = new int[b]; // the dataset index of each row written
                int kept = 0;
                for (int i = 0; i < b; i++) if (use[i] = data.usable(s + i)) keptIdx[kept++] = s + i;
                Pass pass = engine.forward(graph, data, o, input, b, outVar);
                INDArray probs = pass.out().get(outVar);
                INDArray pred = probs.argMax(1);
                for (int i = 0; i < b; i++) {
                    int label = data.label(s + i);
                    if (use[i] && label >= 0) {
                        labelled++;
                        if (label == pred.getInt(i)) correct++;
                    }
                }
                for (Sink k : sinks) {
                    sampleLayer(k, graph, data, o, engine.nat(), pass, probs, pred, s, b, use, keptIdx, kept, first);
                }
                for (int i = 0; i < b; i++) { // the predicted class's probability went into samples.csv
                    if (!use[i]) continue;
                    Finite.requireFinite(probs.getDouble(i, pred.getInt(i)), "the class probability of "
                            + sampleName(data, s + i), dirs.get(0).resolve(SAMPLES), Finite.MODEL_CAUSE);
                }
                written += kept;
                p.step(b);
                org.atlas4j.util.KillPoint.reached("collect.batch", sinks.get(0).dir);
            }
            if (written == 0) {
                throw new NothingDecoded("none of the " + n + " images could be decoded; nothing to collect");
            }
            if (written < n) {
                Progress.info(String.format(Locale.ROOT, "collect: %d of %d samples left out: their image failed to decode",
                        n - written, n));
                for (Sink k : sinks) {
                    k.acts.declareRows(written);
                    if (k.attr != null) k.attr.declareRows(written);
                }
            }
            for (Sink k : sinks) k.close();
            engine.close();
        } catch (IOException | RuntimeException e) {
            for (Sink k : sinks) {
                try {
                    k.close();
                } catch (IOException | RuntimeException ignored) {
                    // the original failure is what matters; half-written files were not renamed into place
                }
                java.nio.file.Files.deleteIfExists(k.csvTmp);
            }
            throw e;
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        double accuracy = labelled == 0 ? Double.NaN : correct / (double) labelled;
        List<Result> results = new ArrayList<>();
        for (Sink k : sinks) results.add(publish(k, written, o, data, accuracy, secs, n / secs, engineName));
        return results;
    }

    /** One batch's outputs by variable; {@code x} is the batch as an array when SameDiff ran (its attribution needs it). */
    private record Pass(java.util.Map<String, INDArray> out, INDArray x) {
    }

    /**
     * What runs the passes: the native forward engine, the native attribution engine (--attribution), or, when neither
     * covers the graph, SameDiff. The native engines work through cache-sized chunks whatever the configured batch
     * (samples are independent): {@code step} images a pass.
     */
    private record Engine(NativeForward fast, NativeAttribution nat, String name, int step, String[] vars,
            List<String> sinkVars) {
        static Engine choose(NetGraph graph, ImageDataset data, Options o, List<String> layers, List<Sink> sinks) {
            String[] vars = new String[sinks.size() + 1];
            for (int l = 0; l < sinks.size(); l++) vars[l] = sinks.get(l).variable;
            vars[sinks.size()] = graph.output();
            List<String> sinkVars = sinks.stream().map(k -> k.variable).toList();
            NativeForward fast = o.attribution() ? null : sinks.size() == 1 ? NativeForward.of(graph, layers.get(0), data)
                    : NativeForward.ofVariables(graph, sinkVars, data);
            String name = fast == null ? "SameDiff graph" : fast.chain != null ? "native op chain" + fast.headName()
                    : fast.tail == null ? "native op graph to the output" : "native op graph" + fast.headName();
            NativeAttribution nat = o.attribution() ? NativeAttribution.of(graph, sinkVars, data) : null;
            if (nat != null) name = "native op graph to the logits (attribution)";
            int step = nat != null ? Math.min(o.batchSize(), nat.chunk)
                    : fast != null ? Math.min(o.batchSize(), fast.chunk) : o.batchSize();
            return new Engine(fast, nat, name, step, vars, sinkVars);
        }

        Pass forward(NetGraph graph, ImageDataset data, Options o, float[] input, int b, String outVar) {
            if (nat != null) return new Pass(nat.forward(input, b, outVar), null);
            if (fast != null) return new Pass(fast.forward(input, b, sinkVars, outVar), null);
            INDArray x = Nd4j.create(input, new long[] {o.batchSize(), data.channels(), data.height(), data.width()}, 'c');
            if (b < o.batchSize()) x = x.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(0, b)).dup();
            return new Pass(graph.forward(x, vars), x);
        }

        void close() {
            if (fast != null) fast.close();
            if (nat != null) nat.close();
        }
    }

    /**
     * One layer's share of a batch: each usable image's activation at its sampled position, its samples.csv line, the
     * second moment and, with --attribution, its attribution to every class.
     */
    private static void sampleLayer(Sink k, NetGraph graph, ImageDataset data, Options o, NativeAttribution nat,
            Pass pass, INDArray probs, INDArray pred, int s, int b, boolean[] use, int[] keptIdx, int kept, int first)
            throws IOException {
        // read the sampled positions straight from the map's memory through its strides (no copy of the
        // whole map): a plain NCHW array, or the native chain's channels-last buffer seen as NCHW
        INDArray map = readable(pass.out().get(k.variable));
        java.nio.FloatBuffer fm = map.data().asNioFloat();
        long[] st = map.stride();
        for (int i = 0, j = 0; i < b; i++) {
            if (!use[i]) continue;
            int idx = s + i;
            // the index in the whole dataset (a distributed slice starts at first): positions and samples.csv's index
            int[] pos = position(o.seed(), first + idx, k.h, k.w, o.excludeEdges());
            long base = i * st[0] + pos[0] * st[2] + pos[1] * st[3];
            for (int c = 0; c < k.d; c++) k.block[j * k.d + c] = fm.get((int) (base + c * st[1]));
            j++;
            int pr = pred.getInt(i);
            k.csv.write((first + idx) + "," + data.label(idx) + "," + pr + ","
                    + String.format(Locale.ROOT, "%.5f", probs.getDouble(i, pr)) + "," + pos[0] + "," + pos[1]
                    + (k.sources ? "," + sourceColumns(data.source(idx)) : "") + "\n");
        }
        Finite.requireFinite(k.block, kept, k.d, j -> sampleName(data, keptIdx[j]) + " at layer " + k.layer,
                "activation", k.dir.resolve(ACTIVATIONS), Finite.MODEL_CAUSE);
        accumulateSecondMoment(k.moment, k.block, kept, k.d);
        k.acts.writeRows(k.block, kept);
        if (k.attr == null) return;
        float[] a;
        try (INDArray nchw = map.dup('c')) { // freed now, not at a garbage collection
            a = nchw.data().asFloat(); // NCHW, as attribute() indexes it
        }
        if (nat != null) {
            nat.attribute(k.variable, a, s, b, k.d, k.h, k.w, o, k.attrBlock);
        } else {
            attribute(graph, pass.x(), pass.out().get(k.variable), k.variable, a, s, b, k.d, k.h, k.w, k.classes,
                    new Options(k.layer, o.batchSize(), o.seed(), o.excludeEdges(), true), k.attrBlock);
        }
        for (int i = 0, j = 0; i < b; i++) { // rows in batch order; kept ones moved up (j <= i)
            if (!use[i]) continue;
            if (j != i) System.arraycopy(k.attrBlock, i * k.classes, k.attrBlock, j * k.classes, k.classes);
            j++;
        }
        Finite.requireFinite(k.attrBlock, kept, k.classes, j -> sampleName(data, keptIdx[j]) + " at layer "
                + k.layer, "attribution to class", k.dir.resolve(ATTRIBUTION), Finite.MODEL_CAUSE);
        k.attr.writeRows(k.attrBlock, kept);
    }

    /** Moves a finished layer's samples.csv into place and writes its second moment and collect.json. */
    private static Result publish(Sink k, int written, Options o, ImageDataset data, double accuracy, double secs,
            double imagesPerSecond, String engine) throws IOException {
        java.nio.file.Files.move(k.csvTmp, k.dir.resolve(SAMPLES), java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        mirror(k.moment, k.d);
        float[] m = new float[k.d * k.d];
        for (int i = 0; i < m.length; i++) m[i] = (float) (k.moment[i] / written);
        Finite.requireFinite(m, k.d, k.d, c -> "the second moment of channel " + c + " at layer " + k.layer,
                "entry", k.dir.resolve(SECOND_MOMENT), "activations this large overflow float32 when squared; "
                + "check the model's pixelScaling (inputs far outside the training range)");
        Npy.writeFloat32(k.dir.resolve(SECOND_MOMENT), m, k.d, k.d);
        Result r = new Result(k.layer, written, k.d, k.h, k.w, o.seed(), o.excludeEdges(), data.describe(),
                accuracy, secs, imagesPerSecond, engine);
        Json.write(k.dir.resolve(META), r);
        return r;
    }

    /**
     * Linear attribution of each sampled activation to each class: a · ∂logit_c/∂a at the sampled position, one
     * backward pass per class for the whole batch (samples do not interact at inference, so Σ_i logit_c[i] gives
     * every sample's own gradient).
     */
    private static void attribute(NetGraph graph, INDArray x, INDArray activation, String layerVar, float[] a, int start,
            int b, int d, int h, int w, int classes, Options o, float[] out) {
        // cheapest: differentiate only the layers after the atlas layer, fed with its activations
        NetGraph tail = graph.tailAfter(o.layer());
        NetGraph target = tail != null ? tail : graph;
        String wrt = tail != null ? tail.input() : layerVar;
        INDArray in = tail != null ? activation : x;
        for (int c = 0; c < classes; c++) {
            INDArray wts = Nd4j.zeros(DataType.FLOAT, b, classes);
            wts.getColumn(c).assign(1);
            float[] g = target.classScoreGradient(in, wts, wrt).castTo(DataType.FLOAT).dup('c').data().asFloat();
            for (int i = 0; i < b; i++) {
                int[] pos = position(o.seed(), start + i, h, w, o.excludeEdges());
                int base = i * d * h * w + pos[0] * w + pos[1];
                double sum = 0;
                for (int ch = 0; ch < d; ch++) sum += (double) a[base + ch * h * w] * g[base + ch * h * w];
                out[i * classes + c] = (float) sum;
            }
        }
    }

    /**
     * {@code --attribution} on the native graph engine: one forward pass to the logits keeping every collected layer's
     * map, then per class one backward pass seeded at that logit and stopped at the layer (only the network after the
     * layer runs backwards). Null — SameDiff then runs, with one log line saying why — when the engine does not cover the
     * network, the graph is not float, or its output is not the softmax of its logits (probabilities come from those).
     */
    static final class NativeAttribution {
        private final NativeGraph dag;
        final int chunk;
        private final int classes;
        /** By batch size; a short last batch runs in the smallest session that holds it (rows past it are ignored). */
        private final java.util.TreeMap<Integer, NativeGraph.Session> sessions = new java.util.TreeMap<>();
        private NativeGraph.Session last;

        private NativeAttribution(NativeGraph dag, int chunk, int classes) {
            this.dag = dag;
            this.chunk = chunk;
            this.classes = classes;
        }

        void close() {
            sessions.values().forEach(NativeGraph.Session::close);
            sessions.clear();
        }

        static NativeAttribution of(NetGraph graph, List<String> vars, ImageDataset data) {
            String why = null;
            var f = graph.sameDiff().getVariableOutputOp(graph.output());
            if (graph.sameDiff().getVariable(graph.input()).dataType() != DataType.FLOAT) why = "a non-float graph";
            else if (f == null || !f.opName().equals("softmax") || !f.args()[0].name().equals(graph.logits())) {
                why = "an output that is not the softmax of the logits";
            }
            NativeGraph.Compiled c = why != null ? null
                    : NativeGraph.compileVariables(graph, graph.logits(), vars, data.channels(), data.height(), data.width());
            if (c != null && c.engine() == null) why = c.unsupported() + " (not covered by the native graph engine)";
            if (why != null) {
                Progress.info("collect: attribution gradients on SameDiff: " + why);
                return null;
            }
            NativeGraph.Session probe = c.engine().session(1);
            long perImage = Math.max(1, probe.bufferBytes());
            probe.close();
            int chunk = (int) Math.max(1, Math.min(NativeForward.CHUNK, NativeForward.graphBufferBytes() / perImage));
            return new NativeAttribution(c.engine(), chunk, graph.classCount());
        }

        java.util.Map<String, INDArray> forward(float[] input, int b, String outVar) {
            var held = sessions.ceilingEntry(b);
            NativeGraph.Session s = held != null ? held.getValue() : sessions.computeIfAbsent(b, dag::session);
            INDArray logits = s.forwardMap(input);
            last = s;
            java.util.Map<String, INDArray> out = new java.util.HashMap<>();
            out.put(outVar, org.nd4j.linalg.ops.transforms.Transforms.softmax(logits.dup(), false));
            for (String v : dag.variables()) {
                try {
                    out.put(v, s.variable(v));
                } catch (IllegalArgumentException notKept) {
                    // only the kept layers are readable
                }
            }
            return out;
        }

        /** Per variable: "" when attribution runs forward-mode, else why not. */
        private final java.util.Map<String, String> forwardModeRefused = new java.util.HashMap<>();

        /**
         * Σ_ch a·∂logit_c/∂a at one position for every class c at once: the derivative of the logits along the
         * direction that is the image's own activation at its sampled position and zero elsewhere (J·v instead of
         * 1,000 rows of Jᵀ·e_c).
         */
        private void attributeForward(NativeGraph.Session s, String var, float[] a, int[] base, int b, int d, int h, int w,
                float[] out) {
            int per = d * h * w;
            float[] dir = new float[s.batch() * per];
            for (int i = 0; i < b; i++) {
                for (int ch = 0; ch < d; ch++) dir[i * per + ch * h * w + base[i]] = a[i * per + ch * h * w + base[i]];
            }
            try (INDArray direction = Nd4j.create(dir, new long[] {s.batch(), d, h, w}, 'c')) {
                INDArray jv = s.tangent(var, direction);
                try (INDArray rows = jv.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(0, b)).castTo(DataType.FLOAT).dup('c')) {
                    rows.data().asNioFloat().get(0, out, 0, b * classes);
                }
            }
        }

        /** a · ∂logit_c/∂a at each image's sampled position, for every class (as the SameDiff path computes it). */
        void attribute(String var, float[] a, int start, int b, int d, int h, int w, Options o, float[] out) {
            NativeGraph.Session s = last;
            int[] base = new int[b];
            for (int i = 0; i < b; i++) {
                int[] pos = position(o.seed(), start + i, h, w, o.excludeEdges());
                base[i] = pos[0] * w + pos[1];
            }
            String why = forwardModeRefused.computeIfAbsent(var, k -> {
                String r = s.tangentUnsupported(k);
                Progress.info("collect: attribution for every class " + (r == null
                        ? "by one forward-mode pass per batch (Jacobian-vector product)"
                        : "by one backward pass per class (no forward-mode derivative: " + r + ")"));
                return r == null ? "" : r;
            });
            if (why.isEmpty()) {
                attributeForward(s, var, a, base, b, d, h, w, out);
                return;
            }
            INDArray seed = Nd4j.zeros(DataType.FLOAT, s.batch(), classes);
            for (int c = 0; c < classes; c++) {
                if (c > 0) seed.getColumn(c - 1).assign(0);
                seed.getColumn(c).assign(1);
                INDArray g = s.backwardTo(seed, var);
                java.nio.FloatBuffer fg = g.data().asNioFloat();
                long[] st = g.stride();
                long off = g.offset();
                for (int i = 0; i < b; i++) {
                    int y = base[i] / w, x = base[i] % w;
                    long gi = off + i * st[0] + y * st[2] + x * st[3];
                    int ai = i * d * h * w + base[i];
                    double sum = 0;
                    for (int ch = 0; ch < d; ch++) sum += (double) a[ai + ch * h * w] * fg.get((int) (gi + ch * st[1]));
                    out[i * classes + c] = (float) sum;
                }
            }
        }
    }

    /**
     * The fast forward for one collected layer: the network up to the layer as a native op chain with buffers allocated
     * once per batch size, then the part after it for the predictions ({@link GapDenseHead} when it is one, else a small
     * SameDiff graph fed with the layer's map).
     * Null when the chain or the tail cannot be built; then the whole SameDiff graph runs.
     */
    static final class NativeForward {
        /** Images per native pass: at 256 the demo's maps outgrow the caches here and throughput halves. */
        static final int CHUNK = 128;
        /** Activation buffers of a forward-only graph session: half the batch memory budget (default 512 MB). */
        static long graphBufferBytes() {
            return org.atlas4j.model.MemoryBudget.budgetBytes() / 2;
        }
        private final NativeChain chain;
        private final NativeGraph dag;
        private final NetGraph tail;
        private final GapDenseHead head;
        private final int chunk;
        /** Floats per input image (the passes' input array holds a whole number of them). */
        private int inputLength = 1;
        private final java.util.Map<Integer, NativeChain.Session> sessions = new java.util.HashMap<>();
        private final java.util.Map<Integer, NativeGraph.Session> dagSessions = new java.util.HashMap<>();

        private NativeForward(NativeChain chain, NativeGraph dag, NetGraph tail) {
            this.chain = chain;
            this.dag = dag;
            this.tail = tail;
            this.head = tail != null ? GapDenseHead.of(tail) : null;
            this.chunk = chain != null ? CHUNK
                    : (int) Math.max(1, Math.min(CHUNK, graphBufferBytes() / Math.max(1, perImageBytes(dag))));
        }

        /**
         * The native chain to the layer, else the native graph to it, each with the tail after the layer; for models
         * that cannot be cut after a layer (ComputationGraph imports) one native graph to the output keeping the
         * layer's map. Null when none applies.
         */
        static NativeForward of(NetGraph graph, String layer, ImageDataset data) {
            NativeForward f = build(graph, layer, data);
            if (f != null) f.inputLength = data.imageLength();
            return f;
        }

        private static NativeForward build(NetGraph graph, String layer, ImageDataset data) {
            if (layer == null) return null;
            long[] s = graph.shape(layer).shape();
            long[] mapShape = {1, s[0], s[1], s[2]};
            NetGraph tail = graph.tailAfter(layer);
            if (tail == null) {
                NativeGraph whole = NativeGraph.compileVariables(graph, graph.output(), List.of(graph.layer(layer).variable()),
                        data.channels(), data.height(), data.width()).engine();
                return whole == null ? null : new NativeForward(null, whole, null);
            }
            NativeChain chain = NativeChain.compile(graph, layer, data.channels(), data.height(), data.width(), false).chain();
            if (chain != null && chain.matches(mapShape)) return new NativeForward(chain, null, tail);
            NativeGraph dag = NativeGraph.compile(graph, layer, data.channels(), data.height(), data.width()).engine();
            if (dag != null && !dag.matches(mapShape)) dag = null;
            if (dag != null && GapDenseHead.of(tail) != null) return new NativeForward(null, dag, tail);
            // a deep tail (ResNet's layer4, Inception's later blocks) costs more on SameDiff than the whole net natively
            NativeGraph whole = NativeGraph.compileVariables(graph, graph.output(), List.of(graph.layer(layer).variable()),
                    data.channels(), data.height(), data.width()).engine();
            if (whole != null) return new NativeForward(null, whole, null);
            return dag != null ? new NativeForward(null, dag, tail) : null;
        }

        /** The buffers of a one-image session, measured and freed at once. */
        static long perImageBytes(NativeGraph dag) {
            NativeGraph.Session probe = dag.inferenceSession(1);
            long bytes = probe.bufferBytes();
            probe.close();
            return bytes;
        }

        /** Frees the sessions' buffers now: the next stage in this process must not find them still held. */
        void close() {
            dagSessions.values().forEach(NativeGraph.Session::close);
            dagSessions.clear();
        }

        String headName() {
            return head != null ? " + Java GAP/dense head" : " + SameDiff head";
        }

        /**
         * Several layers at once (compare-layers): one native graph to the output keeping every layer's map. Without
         * it they ran on SameDiff, whose per-op arrays took GoogLeNet's collect of two layers past 4 GB.
         */
        static NativeForward ofVariables(NetGraph graph, List<String> variables, ImageDataset data) {
            NativeGraph whole = NativeGraph.compileVariables(graph, graph.output(), variables, data.channels(), data.height(),
                    data.width()).engine();
            if (whole == null) return null;
            NativeForward f = new NativeForward(null, whole, null);
            f.inputLength = data.imageLength();
            return f;
        }

        java.util.Map<String, INDArray> forward(float[] input, int b, List<String> layerVars, String outVar) {
            if (layerVars.size() == 1) return forward(input, b, layerVars.get(0), outVar);
            NativeGraph.Session s = dagSession(input, b);
            java.util.Map<String, INDArray> out = new java.util.HashMap<>();
            out.put(outVar, s.forwardMap(input));
            for (String v : layerVars) out.put(v, s.variable(v));
            return out;
        }

        /**
         * One session of the chunk size for every pass (a short last batch leaves stale rows, unread): a second
         * session for it would hold a second set of buffers.
         */
        private NativeGraph.Session dagSession(float[] input, int b) {
            return dagSessions.computeIfAbsent(Math.max(b, Math.min(chunk, input.length / inputLength)), dag::inferenceSession);
        }

        java.util.Map<String, INDArray> forward(float[] input, int b, String layerVar, String outVar) {
            if (chain != null) {
                INDArray map = sessions.computeIfAbsent(b, chain::inferenceSession).forwardMap(input);
                INDArray probs = head != null ? head.probabilities(map) : tail.forward(map, tail.output()).get(tail.output());
                return java.util.Map.of(layerVar, map, outVar, probs);
            }
            NativeGraph.Session s = dagSession(input, b);
            INDArray last = s.forwardMap(input);
            if (tail == null) return java.util.Map.of(layerVar, s.variable(layerVar), outVar, last);
            INDArray probs = head != null ? head.probabilities(last) : tail.forward(last, tail.output()).get(tail.output());
            return java.util.Map.of(layerVar, last, outVar, probs);
        }
    }

    /**
     * The common classifier head — global average pooling → dense → softmax — computed in plain Java: for a batch it
     * is a few hundred thousand additions, less than SameDiff's per-call overhead. Recognised from the tail graph's
     * ops and accepted only if it reproduces the graph on a random probe.
     */
    record GapDenseHead(float[] weights, float[] bias, int channels, int classes) {
        static GapDenseHead of(NetGraph tail) {
            var ops = tail.sameDiff().ops();
            List<String> names = new ArrayList<>();
            INDArray w = null;
            INDArray bias = null;
            for (var f : ops) {
                String op = f.opName();
                names.add(op);
                for (var a : f.args()) {
                    if (a.getVariableType() != org.nd4j.autodiff.samediff.VariableType.CONSTANT) continue;
                    if (op.equals("matmul")) w = a.getArr();
                    if (op.equals("add")) bias = a.getArr();
                }
            }
            List<String> expected = List.of("reduce_mean", "matmul", "add", "softmax");
            List<String> core = names.size() == 5 && names.get(0).equals("multiply") ? names.subList(1, 5) : names;
            if (!core.equals(expected) || w == null || bias == null || w.rank() != 2 || bias.length() != w.size(1)) return null;
            GapDenseHead h = new GapDenseHead(w.castTo(DataType.FLOAT).dup('c').data().asFloat(),
                    bias.castTo(DataType.FLOAT).dup('c').data().asFloat(), (int) w.size(0), (int) w.size(1));
            // the probe: random non-negative maps through both
            long[] in = {3, h.channels(), 3, 2};
            INDArray probe = Nd4j.rand(new java.util.Random(1).nextLong(), in).castTo(tail.sameDiff().getVariable(tail.input()).dataType());
            INDArray ref;
            try {
                ref = tail.forward(probe, tail.output()).get(tail.output()).castTo(DataType.DOUBLE);
            } catch (RuntimeException e) {
                return null;
            }
            INDArray ours = h.probabilities(probe.castTo(DataType.FLOAT).dup('c')).castTo(DataType.DOUBLE);
            return java.util.Arrays.equals(ref.shape(), ours.shape()) && ref.sub(ours).amaxNumber().doubleValue() < 1e-5 ? h : null;
        }

        /** Class probabilities [b, classes] of maps [b, channels, h, w] (float, row-major). */
        INDArray probabilities(INDArray map) {
            map = readable(map);
            int b = (int) map.size(0);
            int h = (int) map.size(2);
            int w = (int) map.size(3);
            int hw = h * w;
            long[] st = map.stride();
            java.nio.FloatBuffer m = map.data().asNioFloat();
            float[] out = new float[b * classes];
            double[] mean = new double[channels];
            double[] z = new double[classes];
            for (int i = 0; i < b; i++) {
                Arrays.fill(mean, 0);
                for (int y = 0; y < h; y++) {
                    for (int x = 0; x < w; x++) {
                        long base = i * st[0] + y * st[2] + x * st[3];
                        for (int c = 0; c < channels; c++) mean[c] += m.get((int) (base + c * st[1]));
                    }
                }
                for (int c = 0; c < channels; c++) mean[c] /= hw;
                double max = Double.NEGATIVE_INFINITY;
                for (int k = 0; k < classes; k++) {
                    double acc = bias[k];
                    for (int c = 0; c < channels; c++) acc += mean[c] * weights[c * classes + k];
                    z[k] = acc;
                    max = Math.max(max, acc);
                }
                double total = 0;
                for (int k = 0; k < classes; k++) total += z[k] = Math.exp(z[k] - max);
                for (int k = 0; k < classes; k++) out[i * classes + k] = (float) (z[k] / total);
            }
            return Nd4j.create(out, new long[] {b, classes}, 'c');
        }
    }

    /** A float [b, C, H, W] array whose buffer starts at its first element, for strided reads (a copy if needed). */
    static INDArray readable(INDArray map) {
        return map.dataType() == DataType.FLOAT && map.offset() == 0 && map.rank() == 4 ? map : map.castTo(DataType.FLOAT).dup('c');
    }

    /** Adds Σ a aᵀ over the block's rows (upper triangle, mirrored): the uncentred second moment for whitening. */
    public static void accumulateSecondMoment(double[] m, float[] block, int rows, int d) {
        for (int r = 0; r < rows; r++) {
            int off = r * d;
            for (int i = 0; i < d; i++) {
                double ai = block[off + i];
                if (ai == 0) continue; // post-ReLU activations are sparse
                int row = i * d;
                for (int j = i; j < d; j++) m[row + j] += ai * block[off + j];
            }
        }
    }

    public static void mirror(double[] m, int d) {
        for (int i = 0; i < d; i++) {
            for (int j = 0; j < i; j++) m[i * d + j] = m[j * d + i];
        }
    }
}
