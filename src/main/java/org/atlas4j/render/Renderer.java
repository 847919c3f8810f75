package org.atlas4j.render;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;

import javax.imageio.ImageIO;

import org.atlas4j.io.AtomicFiles;
import org.atlas4j.io.Json;
import org.atlas4j.model.NativeChain;
import org.atlas4j.model.NativeGraph;
import org.atlas4j.model.NetGraph;
import org.atlas4j.util.Finite;
import org.atlas4j.util.Progress;
import org.atlas4j.util.SymmetricEigen;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Stage 4: feature visualization of each cell's mean activation by gradient ascent on the input image.
 * Image = sigmoid(colour-decorrelated inverse FFT of coefficients); each step applies a random affine jitter;
 * Adam ascends the direction objective; all cells of a batch are optimised together.
 */
public final class Renderer {
    public static final String TILES = "tiles";
    public static final String META = "render.json";

    /** System property: true makes the native chain and graph compute the whole layer map (no receptive-field crop). */
    public static final String WHOLE_MAP_PROPERTY = "atlas4j.render.wholeMap";

    /** Lucid's square root of the ImageNet colour correlation matrix (used for 3-channel models). */
    private static final double[][] COLOR_SQRT = {{0.26, 0.09, 0.02}, {0.27, 0.00, -0.05}, {0.27, -0.09, 0.03}};

    public record Options(String layer, int steps, double learningRate, int batchSize, int iconSize, double cossimPow,
            boolean whiten, boolean transforms, long seed, int attempts) {
        public Options(String layer, int steps, double learningRate, int batchSize, int iconSize, double cossimPow,
                boolean whiten, boolean transforms, long seed) {
            this(layer, steps, learningRate, batchSize, iconSize, cossimPow, whiten, transforms, seed, 1);
        }

        public Options {
            if (attempts < 1) throw new org.atlas4j.util.UserError("render attempts must be >= 1, got " + attempts);
            if (steps < 1) throw new org.atlas4j.util.UserError("render steps must be >= 1, got " + steps);
            if (batchSize < 1) throw new org.atlas4j.util.UserError("render batch size must be >= 1, got " + batchSize);
            if (learningRate <= 0) throw new org.atlas4j.util.UserError("learning rate must be > 0, got " + learningRate);
            if (iconSize < 0) throw new org.atlas4j.util.UserError("icon size must be >= 0 (0 = the model's input size)");
        }

        public static final double DEFAULT_LEARNING_RATE = 0.05;
        public static final double DEFAULT_COSSIM_POW = 4;

        /**
         * The paper's settings (Adam at {@value #DEFAULT_LEARNING_RATE}, cosine power {@value #DEFAULT_COSSIM_POW},
         * whitened directions, the jitter/scale/rotation transforms, one attempt) at the model's input size.
         */
        public static Options of(String layer, int steps, int batchSize, long seed) {
            return new Options(layer, steps, DEFAULT_LEARNING_RATE, batchSize, 0, DEFAULT_COSSIM_POW, true, true, seed, 1);
        }

        public Options withWhiten(boolean whiten) {
            return new Options(layer, steps, learningRate, batchSize, iconSize, cossimPow, whiten, transforms, seed, attempts);
        }
    }

    /** One cell's result: the objective (without transforms) before and after optimisation. */
    public record CellResult(int cell, String tile, double initialObjective, double finalObjective) {
    }

    /** What render.json holds. */
    public record Result(Options options, int iconSize, int cells, double meanInitialObjective, double meanFinalObjective,
            int improvedCells, double seconds, double iconStepsPerSecond, String engine, List<CellResult> results) {
        public static Result read(Path dir) {
            return Json.read(dir.resolve(META), Result.class);
        }

        /** What provenance.json records of a render. */
        public java.util.Map<String, Object> facts() {
            return java.util.Map.of("icons", cells, "iconStepsPerSecond", iconStepsPerSecond,
                    "meanInitialObjective", meanInitialObjective, "meanFinalObjective", meanFinalObjective);
        }
    }

    record BatchFile(List<CellResult> results, double seconds) {
    }

    private Renderer() {
    }

    /** S = (AᵀA/N + εI)⁻¹ by eigen-decomposition; ε (1e-3 of the mean eigenvalue) keeps dead channels finite. */
    public static double[][] whitening(float[] secondMoment, int d) {
        double[][] m = new double[d][d];
        for (int i = 0; i < d; i++) for (int j = 0; j < d; j++) m[i][j] = secondMoment[i * d + j];
        // LAPACK: Commons Math's EigenDecomposition fails to converge on second moments with many dead channels
        SymmetricEigen.Result e = SymmetricEigen.of(m);
        double[] lambda = e.values();
        double mean = Arrays.stream(lambda).map(Math::abs).average().orElse(1);
        double eps = Math.max(1e-3 * mean, 1e-12);
        double[][] s = new double[d][d];
        for (int k = 0; k < d; k++) {
            double inv = 1.0 / (Math.max(lambda[k], 0) + eps);
            double[] vk = e.vectors()[k];
            for (int i = 0; i < d; i++) {
                double vik = vk[i] * inv;
                for (int j = 0; j < d; j++) s[i][j] += vik * vk[j];
            }
        }
        return s;
    }

    /** Unit-length rows of v (and of v·S when whitening). */
    public static float[][] directions(float[] vectors, int k, int d, double[][] s) {
        float[] raw = new float[k * d];
        float[] wh = new float[k * d];
        for (int i = 0; i < k; i++) {
            double[] v = new double[d];
            for (int c = 0; c < d; c++) v[c] = vectors[i * d + c];
            double[] w = v;
            if (s != null) {
                w = new double[d];
                for (int c = 0; c < d; c++) {
                    double acc = 0;
                    for (int j = 0; j < d; j++) acc += v[j] * s[j][c];
                    w[c] = acc;
                }
            }
            normalizeInto(v, raw, i * d);
            normalizeInto(w, wh, i * d);
        }
        return new float[][] {raw, wh};
    }

    private static void normalizeInto(double[] v, float[] out, int off) {
        double n = 0;
        for (double x : v) n += x * x;
        n = Math.sqrt(n);
        for (int c = 0; c < v.length; c++) out[off + c] = (float) (n == 0 ? 0 : v[c] / n);
    }

    /**
     * The render stage from its input files (grid's cell vectors, collect's second moment) into {@code dir}, which
     * is emptied first unless it holds a partial render of the same {@code stamp} (options and inputs): only that
     * one may be resumed.
     */
    public static Result run(NetGraph graph, Path collectDir, Path gridDir, String stamp, boolean force, Options o,
            Path dir, org.atlas4j.data.ModelInput input) throws Exception {
        Path pending = dir.resolve("pending-stamp.json");
        if (force || !Files.exists(pending) || !Files.readString(pending).equals(stamp)) AtomicFiles.deleteRecursively(dir);
        Files.createDirectories(dir);
        AtomicFiles.writeString(pending, stamp);
        var vectors = org.atlas4j.io.Npy.read(gridDir.resolve(org.atlas4j.grid.Gridder.CELL_VECTORS));
        var moment = org.atlas4j.io.Npy.read(collectDir.resolve(org.atlas4j.collect.Collector.SECOND_MOMENT));
        return run(graph, vectors.data(), vectors.rows(), moment.data(), o, dir, input);
    }

    public static Result run(NetGraph graph, float[] cellVectors, int numCells, float[] secondMoment, Options o, Path dir)
            throws IOException {
        return run(graph, cellVectors, numCells, secondMoment, o, dir, org.atlas4j.data.ModelInput.unit(graph.inputShape()[0]));
    }

    /**
     * @param input how displayed icon values in [0,1] become the model's inputs (its pixel scaling and channel order):
     *     icons are optimised and saved as pictures, the network sees them as it sees its data
     */
    public static Result run(NetGraph graph, float[] cellVectors, int numCells, float[] secondMoment, Options o, Path dir,
            org.atlas4j.data.ModelInput input) throws IOException {
        NetGraph.LayerShape shape = graph.spatialLayer(o.layer());
        int d = (int) shape.shape()[0];
        int[] in = graph.inputShape();
        int channels = in[0];
        int size = o.iconSize() == 0 ? in[1] : o.iconSize();
        int height = o.iconSize() == 0 ? in[1] : size;
        int width = o.iconSize() == 0 ? in[2] : size;
        double[][] s = o.whiten() && secondMoment != null ? whitening(secondMoment, d) : null;
        float[][] dirs = directions(cellVectors, numCells, d, s);
        // the layer map size at this icon size decides where the centre is
        INDArray probe = Nd4j.zeros(DataType.FLOAT, 1, channels, height, width);
        long[] mapShape = graph.forward(probe, shape.node().variable()).get(shape.node().variable()).shape();
        INDArray mask = DirectionObjective.centreMask((int) mapShape[2], (int) mapShape[3], DataType.FLOAT);
        Engine engine = Engine.choose(graph, o, channels, height, width, mapShape);
        if (!input.isIdentity()) Progress.info("render: icons are pictures (values in [0,1]); the network sees them "
                + "scaled as its data (" + input.describe() + ")");
        FourierImage fourier = new FourierImage(height, width);
        RandomAffine.Options tOpts = o.transforms() ? RandomAffine.Options.forIconSize(Math.min(height, width))
                : RandomAffine.Options.none();

        Path tiles = dir.resolve(TILES);
        Path batches = dir.resolve("batches");
        Files.createDirectories(tiles);
        Files.createDirectories(batches);
        int batch = iconsPerBatch(o.batchSize(), channels, height, width, stateBudgetBytes());
        if (batch < o.batchSize() && numCells > batch) {
            Progress.info(String.format(Locale.ROOT, "render: %d icons per batch, not %d: one %d×%d icon's optimisation "
                    + "state is %.1f MB and the batch's share of the memory budget (ATLAS_BATCH_MEMORY_MB) is %d MB",
                    batch, o.batchSize(), height, width, stateBytesPerIcon(channels, height, width) / 1e6,
                    stateBudgetBytes() >> 20));
        }
        int nBatches = (numCells + batch - 1) / batch;
        List<CellResult> all = new ArrayList<>();
        long t0 = System.nanoTime();
        long iconSteps = 0;
        try (Progress p = Progress.start("render " + numCells + " icons", (long) numCells * o.steps() * o.attempts(), "icon-steps")) {
            for (int bi = 0; bi < nBatches; bi++) {
                int start = bi * batch;
                int b = Math.min(batch, numCells - start);
                Path batchFile = batches.resolve(String.format(Locale.ROOT, "batch-%04d.json", bi));
                List<CellResult> done = finishedBatch(batchFile, start, b, dir);
                if (done != null) { // resume: this batch was finished by an earlier run
                    all.addAll(done);
                    p.step((long) b * o.steps() * o.attempts());
                    continue;
                }
                long tb = System.nanoTime();
                float[] raw = Arrays.copyOfRange(dirs[0], start * d, (start + b) * d);
                float[] wh = Arrays.copyOfRange(dirs[1], start * d, (start + b) * d);
                Objective objective = inModelSpace(engine.objective(b, wh, raw, mask), input, b, height * width);
                String label = String.format(Locale.ROOT, "batch %d/%d", bi + 1, nBatches);
                Best best = bestOfAttempts(objective, fourier, tOpts, o, start, b, channels, height, width, p, label);
                iconSteps += (long) b * o.steps() * o.attempts();
                List<CellResult> results = writeTiles(best, start, b, channels, height, width, dir);
                Json.write(batchFile, new BatchFile(results, (System.nanoTime() - tb) / 1e9));
                org.atlas4j.util.KillPoint.reached("render.batch", dir);
                all.addAll(results);
            }
        }
        engine.close();
        fourier.releaseWork();
        double secs = (System.nanoTime() - t0) / 1e9;
        double mi = all.stream().mapToDouble(CellResult::initialObjective).average().orElse(0);
        double mf = all.stream().mapToDouble(CellResult::finalObjective).average().orElse(0);
        int improved = (int) all.stream().filter(r -> r.finalObjective() > r.initialObjective()).count();
        Result r = new Result(o, size, numCells, mi, mf, improved, secs, iconSteps / Math.max(secs, 1e-9), engine.describe(), all);
        Json.write(dir.resolve(META), r);
        Progress.info(String.format(Locale.ROOT, "render: objective %.4f → %.4f (mean over %d icons); %d of %d improved",
                mi, mf, numCells, improved, numCells));
        return r;
    }

    /** A batch's results from an earlier run, or null when it is not complete on disk (then it is redone). */
    private static List<CellResult> finishedBatch(Path batchFile, int start, int b, Path dir) {
        if (!Files.exists(batchFile)) return null;
        BatchFile done = Json.read(batchFile, BatchFile.class);
        if (done.results().size() == b && done.results().get(0).cell() == start
                && done.results().stream().allMatch(r -> Files.exists(dir.resolve(r.tile())))) {
            return done.results();
        }
        return null;
    }

    /** A batch's best icons: their pixels, the objective of each at its best and at its first start. */
    private record Best(float[] px, double[] objective, double[] initial) {
    }

    /**
     * Optimises a batch of icons from {@code o.attempts()} random starts and keeps each icon's best. One random
     * stream per icon, seeded by the cell and attempt: an icon's start and transforms do not depend on its batch.
     */
    private static Best bestOfAttempts(Objective objective, FourierImage fourier, RandomAffine.Options tOpts, Options o,
            int start, int b, int channels, int height, int width, Progress p, String label) {
        int plane = channels * height * width;
        float[] bestPx = new float[b * plane];
        double[] best = new double[b];
        double[] initial = null;
        Arrays.fill(best, Double.NEGATIVE_INFINITY);
        for (int attempt = 0; attempt < o.attempts(); attempt++) {
            Random[] rngs = new Random[b];
            for (int i = 0; i < b; i++) rngs[i] = new Random(o.seed() * 1_000_003L + (start + i) * 7_919L + attempt);
            BatchState st = new BatchState(fourier, b, channels, height, width, rngs);
            if (initial == null) {
                st.updateImage();
                initial = objective.values(st.img);
            }
            for (int step = 0; step < o.steps(); step++) {
                st.step(objective, tOpts, rngs, o.learningRate());
                p.step(b);
                if (step % 32 == 31) p.extra(label);
            }
            st.updateImage();
            st.releaseOffHeap();
            double[] fin = objective.values(st.img);
            float[] px = st.img;
            for (int i = 0; i < b; i++) {
                if (fin[i] > best[i]) {
                    best[i] = fin[i];
                    System.arraycopy(px, i * plane, bestPx, i * plane, plane);
                }
            }
        }
        return new Best(bestPx, best, initial);
    }

    /** Writes a batch's tiles, refusing any icon whose objective or pixels are not finite. */
    private static List<CellResult> writeTiles(Best best, int start, int b, int channels, int height, int width, Path dir) {
        int plane = channels * height * width;
        List<CellResult> results = new ArrayList<>();
        for (int i = 0; i < b; i++) {
            int cell = start + i;
            String tile = TILES + "/" + String.format(Locale.ROOT, "cell-%04d.png", cell);
            // a NaN objective never beats −∞, so such an icon keeps blank pixels: refused, not drawn grey
            Finite.requireFinite(best.initial()[i], "the starting objective of cell " + cell + "'s icon", dir.resolve(tile),
                    RENDER_CAUSE);
            Finite.requireFinite(best.objective()[i], "the objective of cell " + cell + "'s icon", dir.resolve(tile),
                    RENDER_CAUSE);
            Finite.requireFinite(best.px(), i * plane, plane, "the icon of cell " + cell, dir.resolve(tile), RENDER_CAUSE);
            writeTile(best.px(), i, channels, height, width, dir.resolve(tile));
            results.add(new CellResult(cell, tile, best.initial()[i], best.objective()[i]));
        }
        return results;
    }

    /**
     * Bytes one icon's optimisation state holds, heap and off-heap, as floats per pixel value (c·h·w): on the heap the
     * pixels, their transformed copy, both gradients, the model-space input and gradient and the best pixels (7), the
     * coefficients, Adam's moments and their gradient (4, as many as pixel values); off-heap the coefficient and pixel
     * twins (4) and the inverse FFT's work buffers (7). 25 MB at 299 px: a batch of 128 icons would be 3 GB.
     */
    static long stateBytesPerIcon(int channels, int h, int w) {
        return 22L * channels * h * w * Float.BYTES;
    }

    /** The render state's share of the batch memory budget (ATLAS_BATCH_MEMORY_MB): a quarter, 256 MB by default. */
    static long stateBudgetBytes() {
        return org.atlas4j.model.MemoryBudget.budgetBytes() / 4;
    }

    /** The configured icons per batch, lowered so that their state fits the budget; at least one. */
    static int iconsPerBatch(int configured, int channels, int h, int w, long budget) {
        return (int) Math.max(1, Math.min(configured, budget / stateBytesPerIcon(channels, h, w)));
    }

    /** The objective of displayed values: mapped to the model's inputs, gradients mapped back (chain rule). */
    static Objective inModelSpace(Objective inner, org.atlas4j.data.ModelInput input, int b, int area) {
        if (input.isIdentity()) return inner;
        int n = b * input.channels() * area;
        float[] x = new float[n];
        float[] g = new float[n];
        return new Objective() {
            public double[] values(float[] unit) {
                input.toModel(unit, x, b, area);
                return inner.values(x);
            }

            public void gradient(float[] unit, float[] grad) {
                input.toModel(unit, x, b, area);
                inner.gradient(x, g);
                input.gradientToUnit(g, grad, b, area);
            }
        };
    }

    static final String RENDER_CAUSE = "likely cause: a NaN or infinite weight in the model, a layer that overflows on "
            + "the optimised pixels, or a too-large render.learningRate; check the model (atlas layers --model M) or lower "
            + "the learning rate, then render again";

    static void writeTile(float[] px, int i, int channels, int h, int w, Path file) {
        BufferedImage img = new BufferedImage(w, h, channels == 1 ? BufferedImage.TYPE_BYTE_GRAY : BufferedImage.TYPE_INT_RGB);
        int plane = h * w;
        int base = i * channels * plane;
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int o = y * w + x;
                if (channels == 1) {
                    int g = toByte(px[base + o]);
                    img.setRGB(x, y, (g << 16) | (g << 8) | g);
                } else {
                    int r = toByte(px[base + o]);
                    int g = toByte(px[base + plane + o]);
                    int bl = toByte(px[base + 2 * plane + o]);
                    img.setRGB(x, y, (r << 16) | (g << 8) | bl);
                }
            }
        }
        AtomicFiles.write(file, out -> ImageIO.write(img, "png", out));
    }

    private static int toByte(float v) {
        return Math.max(0, Math.min(255, Math.round(v * 255f)));
    }

    /** The icon objective of one batch of cells on network inputs [b,c,h,w] (row-major floats). */
    interface Objective {
        /** Per-sample objective values. */
        double[] values(float[] input);

        /** ∂(Σ_b obj_b)/∂input into {@code grad} (same layout as the input). */
        void gradient(float[] input, float[] grad);
    }

    /**
     * How objectives are evaluated: the native op chain when the network up to the layer is a plain chain it covers
     * (several times faster, with receptive-field crops), else the native op graph when every op up to the layer is
     * covered (branches, depthwise convolutions, ...), else the model's SameDiff graph (any graph the converter builds).
     */
    record Engine(NetGraph graph, Options options, int[] inputShape, NativeChain chain, NativeGraph dag,
            DirectionObjective sameDiff, java.util.Map<Integer, NativeChain.Session> sessions,
            java.util.Map<Integer, NativeGraph.Session> dagSessions, long dagBytesPerIcon, String dagWhole) {
        static Engine choose(NetGraph graph, Options o, int channels, int h, int w, long[] mapShape) {
            // the whole-map switch exists for the benchmark's like-for-like row against PyTorch (same work per step)
            NativeChain.Compiled c = NativeChain.compile(graph, o.layer(), channels, h, w, !Boolean.getBoolean(WHOLE_MAP_PROPERTY));
            NativeChain chain = c.chain();
            if (chain != null && !chain.matches(mapShape)) chain = null; // geometry disagrees with the graph: keep SameDiff
            NativeGraph dag = null;
            String dagWhy = null;
            if (chain == null) {
                NativeGraph.Compiled d = NativeGraph.compile(graph, o.layer(), channels, h, w);
                dag = d.engine();
                dagWhy = d.unsupported();
                if (dag != null && !dag.matches(mapShape)) {
                    dag = null;
                    dagWhy = "the native graph's map size disagrees with the graph";
                }
            }
            // the objective reads the map's centre only: the receptive-field crop of the graph computes just that
            String dagWhole = null;
            if (dag != null) {
                NativeGraph.Crop crop = Boolean.getBoolean(WHOLE_MAP_PROPERTY) ? null : dag.cropToCentre();
                if (crop != null && crop.engine() != null) dag = crop.engine();
                else dagWhole = crop == null ? "asked for (" + WHOLE_MAP_PROPERTY + ")" : crop.wholeMapReason();
            }
            Engine e = new Engine(graph, o, new int[] {channels, h, w}, chain, dag,
                    chain == null && dag == null ? new DirectionObjective(graph, o.layer(), o.cossimPow()) : null,
                    new java.util.HashMap<>(), new java.util.HashMap<>(), dag == null ? 0 : bytesPerIcon(dag), dagWhole);
            String why = chain != null ? (chain.cropped() ? " of " + h + "×" + w + " input pixels (exact)"
                    : " (the receptive field reaches the padding)")
                    : dag != null ? (dagWhole == null ? " of " + h + "×" + w + " input pixels (exact; not a plain chain: "
                            + c.unsupported() + ")" : " (" + dagWhole + "; not a plain chain: " + c.unsupported() + ")")
                    : " (" + dagWhy + " is not covered by the native engines)";
            Progress.info("render: " + e.describe() + why);
            return e;
        }

        /** A one-icon training session's buffers, measured on a session freed at once (only the chunk's stays). */
        static long bytesPerIcon(NativeGraph dag) {
            NativeGraph.Session probe = dag.session(1);
            try {
                return probe.bufferBytes();
            } finally {
                probe.close();
            }
        }

        /**
         * Off-heap bytes a native-graph training session may hold: half the one batch memory budget
         * (ATLAS_BATCH_MEMORY_MB, default 1 GB → 512 MB), so one setting bounds every stage; convolutions' temporaries
         * come on top. On InceptionV3 at 299 px, 4/5 of it peaked 0.4 GB higher at the same speed (7.7 vs 8.7 icon-steps/s).
         */
        static long dagBufferBytes() {
            return org.atlas4j.model.MemoryBudget.budgetBytes() / 2;
        }

        /**
         * The objective through the native graph, in chunks of icons whose session fits {@link #dagBufferBytes()}
         * (icons are independent: the same values and gradients as one pass, at a bounded memory).
         */
        Objective dagObjective(int b, float[] dirWhitened, float[] dirRaw) {
            return dagObjective(b, dirWhitened, dirRaw, dagBufferBytes());
        }

        Objective dagObjective(int b, float[] dirWhitened, float[] dirRaw, long budget) {
            long perIcon = Math.max(1, dagBytesPerIcon);
            int chunk = (int) Math.max(1, Math.min(b, budget / perIcon));
            NativeGraph.Session s = dagSessions.computeIfAbsent(chunk, dag::session);
            int c = dag.layerChannels();
            int len = inputShape[0] * inputShape[1] * inputShape[2];
            double pow = options.cossimPow();
            float[] in = new float[chunk * len];
            float[] g = new float[chunk * len];
            return new Objective() {
                public double[] values(float[] input) {
                    return run(input, null);
                }

                public void gradient(float[] input, float[] grad) {
                    run(input, grad);
                }

                private double[] run(float[] input, float[] grad) {
                    double[] values = new double[b];
                    for (int start = 0; start < b; start += chunk) {
                        int m = Math.min(chunk, b - start);
                        System.arraycopy(input, start * len, in, 0, m * len); // a short last chunk: stale rows, unused
                        float[] wh = java.util.Arrays.copyOfRange(dirWhitened, start * c, (start + m) * c);
                        float[] raw = java.util.Arrays.copyOfRange(dirRaw, start * c, (start + m) * c);
                        float[] dc = grad != null ? s.centreGradBuffer() : null;
                        double[] v = DirectionObjective.objective(s.forward(in), wh, raw, m, c, pow, dc);
                        System.arraycopy(v, 0, values, start, m);
                        if (grad != null) {
                            s.backward(dc, g);
                            System.arraycopy(g, 0, grad, start * len, m * len);
                        }
                    }
                    return values;
                }
            };
        }

        /** Frees the native sessions' buffers now: a later stage in this process must not find them still held. */
        void close() {
            dagSessions.values().forEach(NativeGraph.Session::close);
            dagSessions.clear();
        }

        /** The engine in a few words, as render.json records it. */
        String describe() {
            if (chain == null && dag != null) {
                int[] win = dag.cropWindow();
                return win != null ? "native op graph, receptive field " + win[1] + "×" + win[3] : "native op graph, whole map";
            }
            if (chain == null) return "SameDiff graph";
            int[] win = chain.inputWindow();
            return chain.cropped() ? "native op chain, receptive field " + win[1] + "×" + win[3] : "native op chain, whole map";
        }

        Objective objective(int b, float[] dirWhitened, float[] dirRaw, INDArray centreMask) {
            if (dag != null) return dagObjective(b, dirWhitened, dirRaw);
            if (chain != null) {
                NativeChain.Session s = sessions.computeIfAbsent(b, chain::session);
                int c = chain.layerChannels();
                double pow = options.cossimPow();
                return new Objective() {
                    public double[] values(float[] input) {
                        return DirectionObjective.objective(s.forward(input), dirWhitened, dirRaw, b, c, pow, null);
                    }

                    public void gradient(float[] input, float[] grad) {
                        float[] dc = s.centreGradBuffer();
                        DirectionObjective.objective(s.forward(input), dirWhitened, dirRaw, b, c, pow, dc);
                        s.backward(dc, grad);
                    }
                };
            }
            return sameDiffObjective(sameDiff, b, inputShape, dirWhitened, dirRaw, centreMask);
        }
    }

    /** The objective through the model's SameDiff graph (the reference implementation). */
    static Objective sameDiffObjective(DirectionObjective obj, int b, int[] inputShape, float[] dirWhitened, float[] dirRaw,
            INDArray centreMask) {
        int d = dirWhitened.length / b;
        INDArray wh = Nd4j.create(dirWhitened, new long[] {b, d}, 'c');
        INDArray raw = Nd4j.create(dirRaw, new long[] {b, d}, 'c');
        long[] shape = {b, inputShape[0], inputShape[1], inputShape[2]};
        return new Objective() {
            public double[] values(float[] input) {
                return obj.values(Nd4j.create(input.clone(), shape, 'c'), centreMask, wh, raw).castTo(DataType.DOUBLE).toDoubleVector();
            }

            public void gradient(float[] input, float[] grad) {
                float[] g = obj.inputGradient(Nd4j.create(input.clone(), shape, 'c'), centreMask, wh, raw)
                        .castTo(DataType.FLOAT).dup('c').data().asFloat();
                System.arraycopy(g, 0, grad, 0, g.length);
            }
        };
    }

    /** The optimisation state of one batch: Fourier coefficients and Adam moments, reused across steps. */
    static final class BatchState {
        private static final double BETA1 = 0.9;
        private static final double BETA2 = 0.999;
        private static final double EPS = 1e-8;
        private static final long PARALLEL_VALUES = 1L << 18;
        final FourierImage fourier;
        final int b;
        final int channels;
        final int h;
        final int w;
        final float[] coeffs;
        final float[] m;
        final float[] v;
        final float[] img;
        final float[] transformed;
        final float[] gImg;
        final float[] gInput;
        final float[] gCoeffs;
        // off-heap twins of coeffs / pixels and their gradients for the inverse-FFT products, allocated once
        final INDArray coeffArr;
        final INDArray pixArr;
        final INDArray gPixArr;
        final INDArray gCoeffArr;
        final RandomAffine.Affine[] affines;
        int t;

        BatchState(FourierImage fourier, int b, int channels, int h, int w, Random[] rngs) {
            this.fourier = fourier;
            this.b = b;
            this.channels = channels;
            this.h = h;
            this.w = w;
            int perIcon = channels * fourier.coefficients();
            this.coeffs = new float[b * perIcon];
            for (int i = 0; i < b; i++) {
                System.arraycopy(FourierImage.initial(channels, fourier.coefficients(), 0.01, rngs[i]), 0, coeffs, i * perIcon, perIcon);
            }
            this.m = new float[coeffs.length];
            this.v = new float[coeffs.length];
            this.img = new float[b * channels * h * w];
            this.transformed = new float[img.length];
            this.gImg = new float[img.length];
            this.gInput = new float[img.length];
            this.gCoeffs = new float[coeffs.length];
            long rows = (long) b * channels;
            this.coeffArr = Nd4j.create(DataType.FLOAT, new long[] {rows, fourier.coefficients()}, 'c');
            this.pixArr = Nd4j.create(DataType.FLOAT, new long[] {rows, (long) h * w}, 'c');
            this.gPixArr = Nd4j.create(DataType.FLOAT, new long[] {rows, (long) h * w}, 'c');
            this.gCoeffArr = Nd4j.create(DataType.FLOAT, new long[] {rows, fourier.coefficients()}, 'c');
            this.affines = new RandomAffine.Affine[b];
        }

        /**
         * Runs body for every icon: on the common pool when the batch holds enough values to pay for it (ImageNet-size
         * icons), in this thread otherwise (28-px demo icons gain nothing from it).
         */
        private void perIcon(java.util.function.IntConsumer body) {
            java.util.stream.IntStream icons = java.util.stream.IntStream.range(0, b);
            ((long) b * channels * h * w >= PARALLEL_VALUES ? icons.parallel() : icons).forEach(body);
        }

        /**
         * Frees the off-heap twins and the inverse FFT's work buffers now (not at a garbage collection); the state
         * keeps its heap arrays. A short last batch would otherwise hold a second set of work buffers beside the first.
         */
        void releaseOffHeap() {
            fourier.releaseWork();
            for (INDArray a : new INDArray[] {coeffArr, pixArr, gPixArr, gCoeffArr}) {
                try {
                    if (a.closeable()) a.close();
                } catch (RuntimeException e) {
                    // already released
                }
            }
        }

        /** Pixels in [0,1] of the current coefficients, into {@code img}. */
        void updateImage() {
            coeffArr.data().asNioFloat().put(0, coeffs);
            fourier.toPixels(coeffArr, pixArr);
            float[] l = img;
            pixArr.data().asNioFloat().get(0, l);
            if (channels == 3) mixColours(l, false);
            int per = l.length / b; // per icon, on the common pool: exp over 16 × 3 × 224² values is ~20 ms on one core
            perIcon(k -> {
                for (int i = k * per; i < (k + 1) * per; i++) l[i] = (float) (1.0 / (1.0 + Math.exp(-l[i])));
            });
        }

        void step(Objective obj, RandomAffine.Options tOpts, Random[] rngs, double lr) {
            for (int i = 0; i < b; i++) affines[i] = RandomAffine.sample(tOpts, rngs[i]);
            float[] grad = gradient(obj, affines, tOpts.padValue());
            t++;
            double c1 = 1 - Math.pow(BETA1, t);
            double c2 = 1 - Math.pow(BETA2, t);
            int per = coeffs.length / b; // element-wise, so per icon on the common pool (same numbers as one loop)
            perIcon(k -> {
                for (int i = k * per; i < (k + 1) * per; i++) {
                    float gi = grad[i];
                    m[i] = (float) (BETA1 * m[i] + (1 - BETA1) * gi);
                    v[i] = (float) (BETA2 * v[i] + (1 - BETA2) * gi * gi);
                    coeffs[i] += (float) (lr * (m[i] / c1) / (Math.sqrt(v[i] / c2) + EPS)); // ascent
                }
            });
        }

        /** The network input for the current coefficients under the given transforms, [b,c,h,w] row-major (a copy). */
        float[] transformedInput(RandomAffine.Affine[] aff, float pad) {
            updateImage();
            RandomAffine.apply(img, transformed, b, channels, h, w, aff, pad);
            return transformed.clone();
        }

        /**
         * ∂(Σ_b objective_b)/∂coefficients under fixed transforms: the network's input gradient pulled back through
         * the resampling (adjoint), the sigmoid, the colour mixing and the inverse FFT (Mᵀ). No update.
         */
        float[] gradient(Objective obj, RandomAffine.Affine[] aff, float pad) {
            updateImage();
            RandomAffine.apply(img, transformed, b, channels, h, w, aff, pad);
            obj.gradient(transformed, gInput);
            RandomAffine.adjoint(gInput, gImg, b, channels, h, w, aff);
            int per = gImg.length / b;
            perIcon(k -> {
                for (int i = k * per; i < (k + 1) * per; i++) gImg[i] *= img[i] * (1 - img[i]);
            });
            if (channels == 3) mixColours(gImg, true);
            gPixArr.data().asNioFloat().put(0, gImg);
            fourier.backward(gPixArr, gCoeffArr);
            gCoeffArr.data().asNioFloat().get(0, gCoeffs);
            return gCoeffs;
        }

        /** rgb = C·t per pixel with C the normalized colour sqrt matrix; the adjoint uses Cᵀ. */
        void mixColours(float[] a, boolean adjoint) {
            double maxNorm = 0;
            for (int j = 0; j < 3; j++) {
                double n = 0;
                for (int i = 0; i < 3; i++) n += COLOR_SQRT[i][j] * COLOR_SQRT[i][j];
                maxNorm = Math.max(maxNorm, Math.sqrt(n));
            }
            int plane = h * w;
            double norm = maxNorm;
            perIcon(bi -> {
                int base = bi * 3 * plane;
                for (int p = 0; p < plane; p++) {
                    double t0 = a[base + p];
                    double t1 = a[base + plane + p];
                    double t2 = a[base + 2 * plane + p];
                    for (int c = 0; c < 3; c++) {
                        double s = adjoint
                                ? COLOR_SQRT[0][c] * t0 + COLOR_SQRT[1][c] * t1 + COLOR_SQRT[2][c] * t2
                                : COLOR_SQRT[c][0] * t0 + COLOR_SQRT[c][1] * t1 + COLOR_SQRT[c][2] * t2;
                        a[base + c * plane + p] = (float) (s / norm);
                    }
                }
            });
        }
    }
}
