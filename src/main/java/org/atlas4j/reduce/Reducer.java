package org.atlas4j.reduce;

import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ForkJoinPool;

import org.atlas4j.io.Json;
import org.atlas4j.io.Npy;
import org.atlas4j.util.Progress;
import org.atlas4j.util.Finite;
import org.atlas4j.util.UserError;

import org.atlas4j.util.logging.AtlasLoggerProvider;

import smile.graph.NearestNeighborGraph;
import smile.manifold.TSNE;
import smile.manifold.UMAP;
import smile.math.MathEx;

/**
 * Stage 2: 2-D layout of the activation vectors, normalized to [0,1] by clipping each axis to its 1st–99th
 * percentile. {@code umap} (cosine): our kNN graph and {@link UmapLayout} — the exact graph while the work N²·D stays
 * under {@link #EXACT_WORK} (and N under {@link #EXACT_KNN_LIMIT}), single-threaded, so the demo's layout is the
 * sequential one; beyond it {@link NnDescent}'s approximate graph and {@link ParallelSgd}'s epochs on every core
 * ({@value #THREADS_PROPERTY} fixes the count), reading the float rows in place. Euclidean, and {@code umap-smile}:
 * Smile 4's UMAP (NN-descent graph unless ours is given); {@code tsne}: Smile's exact t-SNE for small N. Every input
 * row gets a position (Smile 3.1.1 silently dropped all but the largest component of the kNN graph). Cosine metric:
 * rows are L2-normalized first, so Euclidean neighbours are exactly the cosine neighbours. A layout is a function of
 * the seed and the thread count.
 */
public final class Reducer {
    public static final String LAYOUT = "layout.npy";
    public static final String RAW_LAYOUT = "layout-raw.npy";
    public static final String META = "reduce.json";
    static final int EXACT_KNN_LIMIT = 300_000;

    public record Options(String method, int neighbors, double minDist, String metric, int epochs, double perplexity,
            int tsneMaxSamples, long seed) {
        public Options {
            if (!method.equals("umap") && !method.equals("umap-smile") && !method.equals("tsne")) {
                throw new UserError("unknown reduce method '" + method + "'; valid: umap, umap-smile, tsne");
            }
            if (!metric.equals("cosine") && !metric.equals("euclidean")) {
                throw new UserError("unknown metric '" + metric + "'; valid: cosine, euclidean");
            }
            if (neighbors < 2) throw new UserError("UMAP n_neighbors must be >= 2, got " + neighbors);
            if (minDist < 0) throw new UserError("UMAP min_dist must be >= 0, got " + minDist);
        }

        public static Options paperDefaults(long seed) {
            return new Options("umap", 20, 0.01, "cosine", 0, 50, 10_000, seed);
        }
    }

    /** A layout of activations written to a folder (our UMAP, or a comparison's axes); returns the samples laid out. */
    @FunctionalInterface
    public interface LayoutWriter {
        int write(Npy.NpyArray activations, Path out) throws Exception;
    }

    public record Result(String method, int samples, int dim, double seconds, Options options) {
    }

    private Reducer() {
    }

    /** Raw 2-D coordinates (N×2 row-major), one row per input row. */
    public static float[] fit(float[] data, int n, int d, Options o) {
        return fit(data, n, d, o, 2);
    }

    /** Raw coordinates in {@code dims} dimensions (N×dims row-major), e.g. 1 for a comparison's y axis. */
    static final String LAYOUT_CAUSE = "the activations were finite, so the layout itself diverged; run reduce again "
            + "with another --seed or --method, and report it with the run's collect folder";

    public static float[] fit(float[] data, int n, int d, Options o, int dims) {
        if (n < 3) throw new UserError("need at least 3 samples for a 2-D layout, got " + n);
        if (approximate(n, d, o)) return large(data, n, d, o, dims);
        double[][] x = new double[n][d];
        for (int i = 0; i < n; i++) {
            double norm = 0;
            for (int j = 0; j < d; j++) {
                float v = data[i * d + j];
                if (!Float.isFinite(v)) throw nonFinite(i, j, v);
                x[i][j] = v;
                norm += x[i][j] * x[i][j];
            }
            if (o.metric().equals("cosine")) {
                // an all-zero row (a dead layer for that image) has no direction: it stays zero, cosine 0 to all
                norm = Math.sqrt(norm);
                if (norm > 0) for (int j = 0; j < d; j++) x[i][j] /= norm;
            }
        }
        double[][] y;
        if (o.method().equals("tsne")) {
            if (n > o.tsneMaxSamples()) {
                throw new UserError(String.format(Locale.ROOT, "t-SNE here is exact (three dense N×N matrices): %,d samples "
                        + "would need about %.0f GB and hours. Use --method umap, or collect at most %,d images (--limit), "
                        + "or raise tsneMaxSamples knowing the cost.", n, 3.0 * 8 * n * (double) n / 1e9, o.tsneMaxSamples()));
            }
            if (o.epochs() > 0 && o.epochs() <= 250) {
                throw new UserError("t-SNE needs more than 250 iterations (Smile switches momentum at 250); got --epochs "
                        + o.epochs() + ". Use 0 for the default (1000).");
            }
            if (n < 7) throw new UserError("t-SNE needs at least 7 samples (perplexity >= 2), got " + n);
            int iters = o.epochs() > 0 ? o.epochs() : 1000;
            double perplexity = Math.max(2, Math.min(o.perplexity(), (n - 1) / 3.0));
            y = inOnePool(o.seed(), () -> TSNE.fit(x, new TSNE.Options(dims, perplexity, 200, 12, iters)).coordinates());
        } else {
            int k = Math.min(o.neighbors(), n - 1);
            int epochs = o.epochs() > 0 ? o.epochs() : (n > 10_000 ? 200 : 500);
            // (k, d, epochs, learningRate, minDist, spread, negativeSamples, repulsion, localConnectivity)
            UMAP.Options uo = new UMAP.Options(k, dims, epochs, 1.0, o.minDist(), 1.0, 5, 1.0, 1.0);
            y = umap(x, k, epochs, uo, o);
        }
        if (y.length != n) {
            throw new IllegalStateException("layout returned " + y.length + " positions for " + n + " samples");
        }
        float[] out = new float[dims * n];
        for (int i = 0; i < n; i++) {
            for (int k = 0; k < dims; k++) out[dims * i + k] = (float) y[i][k];
        }
        // the inputs were finite: a NaN here is the layout's own numerics (or a coordinate beyond float range)
        Finite.requireFinite(out, n, dims, i -> "sample " + i, "layout coordinate", "the layout", LAYOUT_CAUSE);
        return out;
    }

    private static UserError nonFinite(int sample, int column, float v) {
        return new UserError("activation " + column + " of sample " + sample + " is " + v + "; layouts need finite "
                + "activations. Check the model and its preprocessing (a NaN input or an overflowing layer), then collect again.");
    }

    /**
     * Work (N²·D multiply-adds) up to which cosine UMAP builds the exact graph; beyond it, or beyond
     * {@link #EXACT_KNN_LIMIT} rows, NN-descent. Measured here (2 shared cores, load 15–19): 50,000 × 512 (1.3e12),
     * exact graph 105 s, NN-descent 53 s at recall@20 0.9999; the exact graph grows as N², NN-descent about as N, so
     * they meet near a third of that work. The demo's 70,000 × 96 (4.7e11) stays exact, its layout unchanged.
     */
    static final double EXACT_WORK = 6e11;
    /** System property: threads for the large-N kNN graph and the layout's epochs (default: every core above the switch). */
    public static final String THREADS_PROPERTY = "atlas4j.reduce.threads";

    static boolean approximate(int n, int d, Options o) {
        return o.method().equals("umap") && o.metric().equals("cosine")
                && (n > EXACT_KNN_LIMIT || (double) n * n * d > EXACT_WORK);
    }

    /**
     * Threads for the UMAP epochs: the {@value #THREADS_PROPERTY} property when set, else 1 for inputs on the exact
     * path (the demo's layout stays the sequential one) and every core beyond it. The layout is a function of the seed
     * and this number.
     */
    static int layoutThreads(int n, int d, Options o) {
        String p = System.getProperty(THREADS_PROPERTY);
        if (p != null && !p.isBlank()) {
            try {
                int t = Integer.parseInt(p.strip());
                if (t >= 1) return t;
            } catch (NumberFormatException e) {
                // reported below
            }
            throw new UserError("-D" + THREADS_PROPERTY + "=" + p + " is not a thread count; give a whole number >= 1 "
                    + "(the layout is reproducible for a given seed and thread count), or leave it unset for the default");
        }
        return approximate(n, d, o) ? Runtime.getRuntime().availableProcessors() : 1;
    }

    /**
     * Cosine UMAP beyond the exact graph's reach: NN-descent graph and parallel epochs, reading the caller's float
     * rows in place (no N×D double copy: 1,000,000 × 512 stays at its own 2 GB).
     */
    static float[] large(float[] data, int n, int d, Options o, int dims) {
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < d; j++) {
                float v = data[i * d + j];
                if (!Float.isFinite(v)) throw nonFinite(i, j, v);
            }
        }
        int k = Math.min(o.neighbors(), n - 1);
        int epochs = o.epochs() > 0 ? o.epochs() : (n > 10_000 ? 200 : 500);
        int threads = layoutThreads(n, d, o);
        NnDescent.Options ko = NnDescent.Options.defaults(n, k, threads, o.seed());
        NearestNeighborGraph graph;
        try (Progress p = Progress.start("reduce: NN-descent kNN (k=" + k + ", " + threads + " threads)",
                1 + ko.maxIterations(), "passes")) {
            graph = NnDescent.build(data, n, d, ko, p);
        }
        double[][] y;
        try (Progress p = Progress.start("reduce: UMAP layout (" + threads + " threads)", epochs, "epochs")) {
            y = UmapLayout.fit(UmapLayout.Rows.unit(data, n, d), graph,
                    new UmapLayout.Options(dims, epochs, o.minDist(), 1.0, 5, 1.0, 1.0, o.seed(), threads), p);
        }
        float[] out = new float[dims * n];
        for (int i = 0; i < n; i++) {
            for (int c = 0; c < dims; c++) out[dims * i + c] = (float) y[i][c];
        }
        Finite.requireFinite(out, n, dims, i -> "sample " + i, "layout coordinate", "the layout", LAYOUT_CAUSE);
        return out;
    }

    /**
     * UMAP with a bar over its epochs. The default ({@code umap}, cosine, up to {@link #EXACT_KNN_LIMIT} rows): our
     * exact kNN graph and {@link UmapLayout}. Otherwise Smile's UMAP, on our graph ({@code umap-smile}, cosine) or on
     * its own NN-descent graph (euclidean, or more rows).
     */
    private static double[][] umap(double[][] x, int k, int epochs, UMAP.Options uo, Options o) {
        // exact kNN is O(N²·D) on BLAS: 6–10 s at 70k × 96 here; beyond a few hundred thousand rows Smile's NN-descent
        // (approximate, used by UMAP.fit itself) is the better trade
        NearestNeighborGraph graph = o.metric().equals("cosine") && x.length <= EXACT_KNN_LIMIT ? CosineKnn.build(x, k) : null;
        if (graph != null && o.method().equals("umap")) {
            try (Progress p = Progress.start("reduce: UMAP layout", epochs, "epochs")) {
                return UmapLayout.fit(x, graph, new UmapLayout.Options(uo.d(), epochs, o.minDist(), 1.0, 5, 1.0, 1.0, o.seed(),
                        layoutThreads(x.length, x[0].length, o)), p);
            }
        }
        // Up to 10,000 points Smile 4.4.2 starts a connected graph from a spectral layout through ARPACK, which here
        // is slow (50 s at 10k), draws its start vector from a process-global seed, and sometimes fails outright
        // ("Invalid matrix size: N x 0"). For every other graph it starts from PCA of the data. When the graph is ours
        // we give it that: k+1 extra rows at the data's mean, linked only to each other, make the graph disconnected
        // (PCA axes unchanged, the mean is the same); their positions are dropped afterwards. Smile's own graph
        // (euclidean) cannot be padded, so a connected one still takes the spectral start.
        if (allRowsEqual(x)) {
            // Smile's PCA start then fails with "Invalid dimension of feature space: D+1"; our UMAP falls back to a
            // random start instead, but with no differences between rows there is nothing to lay out either way
            throw new UserError("all " + x.length + " activation vectors are identical (" + (o.metric().equals("cosine")
                    ? "after L2 normalization; " : "") + "e.g. a layer that is all zero for these images): "
                    + o.method() + "/" + o.metric() + " cannot lay them out. Choose another layer, or use --method umap "
                    + "with the cosine metric for a random placement.");
        }
        boolean pad = graph != null && x.length <= 10_000;
        double[][] data = pad ? withMeanRows(x, k + 1) : x;
        NearestNeighborGraph g = pad ? withClique(graph, k, x.length) : graph;
        try (Progress p = Progress.start("reduce: UMAP layout", epochs, "epochs")) {
            AtlasLoggerProvider.setInfoListener((logger, msg) -> {
                // Smile logs "The learning rate at <epoch> iterations: ..." once per epoch
                if (logger.endsWith("UMAP") && msg.startsWith("The learning rate at ")) p.step(1);
            });
            double[][] y = inOnePool(o.seed(), () -> g == null ? UMAP.fit(data, uo) : UMAP.fit(data, g, uo));
            return pad ? java.util.Arrays.copyOf(y, x.length) : y;
        } finally {
            AtlasLoggerProvider.setInfoListener(null);
        }
    }

    static boolean allRowsEqual(double[][] x) {
        for (double[] r : x) if (!java.util.Arrays.equals(r, x[0])) return false;
        return true;
    }

    private static double[][] withMeanRows(double[][] x, int extra) {
        int d = x[0].length;
        double[] mean = new double[d];
        for (double[] r : x) for (int j = 0; j < d; j++) mean[j] += r[j] / x.length;
        double[][] out = java.util.Arrays.copyOf(x, x.length + extra);
        for (int i = x.length; i < out.length; i++) out[i] = mean.clone();
        return out;
    }

    /** The kNN graph plus k+1 vertices (indices n..n+k) that are each other's only neighbours. */
    private static NearestNeighborGraph withClique(NearestNeighborGraph g, int k, int n) {
        int[][] nbr = java.util.Arrays.copyOf(g.neighbors(), n + k + 1);
        double[][] dist = java.util.Arrays.copyOf(g.distances(), n + k + 1);
        for (int i = n; i < n + k + 1; i++) {
            nbr[i] = new int[k];
            dist[i] = new double[k];
            int q = 0;
            for (int j = n; j < n + k + 1; j++) {
                if (j == i) continue;
                nbr[i][q] = j;
                dist[i][q] = 1e-3;
                q++;
            }
        }
        return new NearestNeighborGraph(k, nbr, dist);
    }

    private static double[][] inOnePool(long seed, java.util.concurrent.Callable<double[][]> task) {
        ForkJoinPool pool = new ForkJoinPool(1);
        try {
            return pool.submit(() -> {
                MathEx.setSeed(seed);
                return task.call();
            }).get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            // JDK 25's ForkJoinTask.get() rethrows a copy of the task's exception wrapping the original
            if (c != null && c.getCause() != null && c.getCause().getClass() == c.getClass()) c = c.getCause();
            if (c instanceof RuntimeException r) throw r;
            throw new IllegalStateException(c);
        } finally {
            pool.shutdown();
        }
    }

    public static Result run(float[] data, int n, int d, Options o, Path dir) {
        long t0 = System.nanoTime();
        Progress.info(String.format(Locale.ROOT, "reduce: %s of %,d × %d activations (%s, n_neighbors %d, min_dist %s) ...",
                o.method(), n, d, o.metric(), o.neighbors(), o.minDist()));
        float[] raw = fit(data, n, d, o);
        float[] norm = LayoutNormalizer.normalize(raw, 1, 99);
        Finite.requireFinite(norm, n, 2, i -> "sample " + i, "normalized layout coordinate", dir.resolve(LAYOUT),
                LAYOUT_CAUSE);
        Npy.writeFloat32(dir.resolve(RAW_LAYOUT), raw, n, 2);
        Npy.writeFloat32(dir.resolve(LAYOUT), norm, n, 2);
        double secs = (System.nanoTime() - t0) / 1e9;
        Result r = new Result(o.method(), n, d, secs, o);
        Json.write(dir.resolve(META), r);
        Progress.info(String.format(Locale.ROOT, "reduce: %,d samples → %,d positions in %s", n, n, Progress.format(secs)));
        return r;
    }
}
