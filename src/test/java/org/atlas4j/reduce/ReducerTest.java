package org.atlas4j.reduce;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Random;

import org.atlas4j.io.Npy;
import org.atlas4j.util.Progress;
import org.atlas4j.util.UserError;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Stage 2: every sample gets a position (even with a disconnected kNN graph), normalization, determinism, t-SNE. */
@org.atlas4j.IntegrationTest
class ReducerTest {
    static final int CLUSTERS = 6;
    static final int PER = 60;
    static final int DIM = 16;
    static final int N = CLUSTERS * PER;

    @BeforeAll
    static void quiet() {
        Progress.setQuiet(true);
    }

    /**
     * Well-separated gaussian clusters: cluster k is centred on 10·e_k with noise 0.3, so after the cosine
     * normalization every point's 20 nearest neighbours lie in its own cluster and the kNN graph has 6 components.
     * Rows are interleaved (point i is in cluster i % 6) so no component is a contiguous block.
     */
    static float[] clusters(long seed) {
        Random r = new Random(seed);
        float[] x = new float[N * DIM];
        for (int i = 0; i < N; i++) {
            int k = i % CLUSTERS;
            for (int j = 0; j < DIM; j++) {
                x[i * DIM + j] = (float) ((j == k ? 10 : 0) + 0.3 * r.nextGaussian());
            }
        }
        return x;
    }

    static Reducer.Options umap(long seed) {
        return new Reducer.Options("umap", 20, 0.01, "cosine", 100, 50, 10_000, seed);
    }

    @Test
    void clustersReallyGiveADisconnectedKnnGraph() {
        // guards the premise of the regression test below: every point's 20 nearest cosine neighbours share its cluster
        float[] x = clusters(1);
        double[][] u = new double[N][DIM];
        for (int i = 0; i < N; i++) {
            double n = 0;
            for (int j = 0; j < DIM; j++) n += x[i * DIM + j] * x[i * DIM + j];
            for (int j = 0; j < DIM; j++) u[i][j] = x[i * DIM + j] / Math.sqrt(n);
        }
        for (int i = 0; i < N; i++) {
            double maxSame = 0;
            double minOther = Double.MAX_VALUE;
            for (int k = 0; k < N; k++) {
                if (k == i) continue;
                double d = 0;
                for (int j = 0; j < DIM; j++) d += (u[i][j] - u[k][j]) * (u[i][j] - u[k][j]);
                if (k % CLUSTERS == i % CLUSTERS) maxSame = Math.max(maxSame, d);
                else minOther = Math.min(minOther, d);
            }
            assertTrue(maxSame < minOther, "point " + i + " has a neighbour in another cluster");
        }
    }

    @Test
    void umapGivesEverySampleAPositionOnADisconnectedKnnGraph(@TempDir Path dir) {
        float[] x = clusters(1);
        float[] raw = Reducer.fit(x, N, DIM, umap(42));
        assertEquals(2 * N, raw.length, "UMAP must return one position per sample (Smile 3.1.1 dropped components)");
        for (float v : raw) assertTrue(Float.isFinite(v), "non-finite coordinate");

        Reducer.Result r = Reducer.run(x, N, DIM, umap(42), dir);
        assertEquals(N, r.samples());
        Npy.NpyArray layout = Npy.read(dir.resolve(Reducer.LAYOUT));
        assertArrayEquals(new int[] {N, 2}, layout.shape());
        for (float v : layout.data()) assertTrue(v >= 0 && v <= 1, "normalized coordinate outside [0,1]: " + v);
        Npy.NpyArray rawFile = Npy.read(dir.resolve(Reducer.RAW_LAYOUT));
        assertArrayEquals(new int[] {N, 2}, rawFile.shape());
        assertArrayEquals(LayoutNormalizer.normalize(rawFile.data(), 1, 99), layout.data());

        // the layout keeps the clusters apart: mean within-cluster distance well below mean between-cluster distance
        float[] y = layout.data();
        double within = 0;
        double between = 0;
        long nw = 0;
        long nb = 0;
        for (int i = 0; i < N; i++) {
            for (int k = i + 1; k < N; k++) {
                double d = Math.hypot(y[2 * i] - y[2 * k], y[2 * i + 1] - y[2 * k + 1]);
                if (i % CLUSTERS == k % CLUSTERS) {
                    within += d;
                    nw++;
                } else {
                    between += d;
                    nb++;
                }
            }
        }
        within /= nw;
        between /= nb;
        assertTrue(within < 0.5 * between, "clusters are not separated: within " + within + ", between " + between);
    }

    @Test
    void sameSeedGivesTheSameLayoutOnADisconnectedGraph(@TempDir Path dir) {
        float[] x = clusters(2);
        Reducer.run(x, N, DIM, umap(7), dir.resolve("a").toAbsolutePath());
        float[] a = Npy.read(dir.resolve("a").resolve(Reducer.LAYOUT)).data();
        float[] b = Reducer.fit(x, N, DIM, umap(7));
        assertArrayEquals(Reducer.fit(x, N, DIM, umap(7)), b, "two fits with the same seed differ");
        assertArrayEquals(LayoutNormalizer.normalize(b, 1, 99), a, "run and fit with the same seed differ");
    }

    /**
     * The CLI runs each stage in its own JVM, so a layout must not depend on process state. Overlapping clusters give
     * one connected kNN graph. The default path (our exact cosine kNN, {@link UmapLayout}'s LAPACK PCA start and its
     * own seeded generator) keeps no global state: a fit in this JVM, after fits with other seeds, must equal a fit in
     * a fresh JVM bit for bit. {@code umap-smile} would start a connected graph this small from Smile's spectral
     * layout, whose ARPACK start vector comes from a process-global seed; the Reducer pads the graph so Smile takes its
     * PCA start instead, so two Smile fits in one JVM must agree too.
     */
    @Test
    void sameSeedGivesTheSameLayoutOnAConnectedGraphInThisJvmAndAFreshOne(@TempDir Path dir) throws Exception {
        int n = 400;
        int d = 32;
        Random r = new Random(1);
        float[] x = new float[n * d];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < d; j++) x[i * d + j] = (float) Math.max(0, (j % 5 == i % 5 ? 1.0 : 0) + 0.8 * r.nextGaussian());
        }
        Path in = dir.resolve("x.npy");
        org.atlas4j.io.Npy.writeFloat32(in, x, n, d);
        float[] child = childLayout(in, dir.resolve("a.npy"));
        assertEquals(2 * n, child.length);
        Reducer.fit(x, n, d, ReduceInChildJvm.options(7)); // any process-global state would advance here
        float[] here = Reducer.fit(x, n, d, ReduceInChildJvm.options(42));
        int differ = 0;
        for (int i = 0; i < child.length; i++) if (child[i] != here[i]) differ++;
        assertEquals(0, differ, "this JVM and a fresh one differ in " + differ + " of " + child.length + " coordinates");

        Reducer.Options smile = new Reducer.Options("umap-smile", 15, 0.1, "cosine", 50, 50, 10_000, 42);
        assertArrayEquals(Reducer.fit(x, n, d, smile), Reducer.fit(x, n, d, smile), "two umap-smile fits in one JVM differ");
    }

    private static float[] childLayout(Path in, Path out) throws Exception {
        String java = ProcessHandle.current().info().command().orElse("java");
        Process p = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow",
                "-Xmx1g", "-cp", System.getProperty("java.class.path"), ReduceInChildJvm.class.getName(),
                in.toString(), out.toString(), "42").redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes());
        assertEquals(0, p.waitFor(), "child JVM failed:\n" + log);
        return org.atlas4j.io.Npy.read(out).data();
    }

    @Test
    void euclideanMetricAlsoKeepsEverySample() {
        float[] x = clusters(3);
        float[] raw = Reducer.fit(x, N, DIM, new Reducer.Options("umap", 15, 0.1, "euclidean", 50, 50, 10_000, 1));
        assertEquals(2 * N, raw.length);
    }

    @Test
    void normalizerClipsOutliersAndSpansTheUnitSquare() {
        int n = 300;
        float[] xy = new float[2 * n];
        Random r = new Random(4);
        for (int i = 0; i < n; i++) {
            xy[2 * i] = (float) (5 + r.nextGaussian());
            xy[2 * i + 1] = (float) (-3 + 2 * r.nextGaussian());
        }
        xy[0] = 1e4f;          // far outlier on x (high)
        xy[3] = -1e4f;         // far outlier on y (low)
        float[] out = LayoutNormalizer.normalize(xy, 1, 99);
        assertEquals(1f, out[0], "the high outlier clips to 1");
        assertEquals(0f, out[3], "the low outlier clips to 0");
        for (int axis = 0; axis < 2; axis++) {
            float min = Float.MAX_VALUE;
            float max = -Float.MAX_VALUE;
            int inside = 0;
            for (int i = 1; i < n; i++) {
                float v = out[2 * i + axis];
                assertTrue(v >= 0 && v <= 1);
                min = Math.min(min, v);
                max = Math.max(max, v);
                if (v > 0 && v < 1) inside++;
            }
            assertEquals(0f, min, "the bulk reaches 0 on axis " + axis);
            assertEquals(1f, max, "the bulk reaches 1 on axis " + axis);
            assertTrue(inside > 0.95 * n, "only the 1% tails may clip, but " + (n - inside) + " did on axis " + axis);
        }
        // order-preserving per axis (ties allowed where clipped)
        for (int i = 0; i < n; i++) {
            for (int k = 0; k < n; k++) {
                if (xy[2 * i] < xy[2 * k]) assertTrue(out[2 * i] <= out[2 * k]);
            }
        }
        // symmetric data with a 1/99 clip: the median lands near the middle, not squeezed into a corner by the outlier
        float[] xs = new float[n];
        for (int i = 0; i < n; i++) xs[i] = out[2 * i];
        java.util.Arrays.sort(xs);
        assertEquals(0.5, xs[n / 2], 0.1, "median of the normalized x axis");
    }

    @Test
    void normalizerPutsAConstantAxisInTheMiddle() {
        float[] xy = {1, 7, 2, 7, 3, 7, 4, 7};
        float[] out = LayoutNormalizer.normalize(xy, 1, 99);
        for (int i = 0; i < 4; i++) assertEquals(0.5f, out[2 * i + 1]);
        assertEquals(0f, out[0]);
        assertEquals(1f, out[6]);
    }

    @Test
    void tsneWorksOnSmallData() {
        int n = 120;
        float[] all = clusters(5);
        float[] x = java.util.Arrays.copyOf(all, n * DIM);
        // Smile 4.4.2's t-SNE needs more than 250 iterations (its momentum switch is at iteration 250)
        float[] y = Reducer.fit(x, n, DIM, new Reducer.Options("tsne", 20, 0.01, "cosine", 300, 30, 10_000, 3));
        assertEquals(2 * n, y.length);
        double spread = 0;
        for (int i = 0; i < n; i++) {
            assertTrue(Float.isFinite(y[2 * i]) && Float.isFinite(y[2 * i + 1]));
            spread += Math.abs(y[2 * i] - y[0]) + Math.abs(y[2 * i + 1] - y[1]);
        }
        assertTrue(spread > 0, "t-SNE collapsed every point onto one");
    }

    @Test
    void tsneRefusesMoreThanItsLimitWithTheReason() {
        int n = 120;
        float[] x = java.util.Arrays.copyOf(clusters(5), n * DIM);
        var e = assertThrows(UserError.class,
                () -> Reducer.fit(x, n, DIM, new Reducer.Options("tsne", 20, 0.01, "cosine", 300, 30, 100, 3)));
        String m = e.getMessage();
        assertTrue(m.contains("100") && m.contains("120") && m.contains("umap"), m);
    }

    @Test
    void optionsAndTinyInputsAreRejectedWithUserErrors() {
        assertThrows(UserError.class, () -> new Reducer.Options("pca", 20, 0.01, "cosine", 0, 50, 10_000, 1));
        assertThrows(UserError.class, () -> new Reducer.Options("umap", 20, 0.01, "manhattan", 0, 50, 10_000, 1));
        assertThrows(UserError.class, () -> new Reducer.Options("umap", 1, 0.01, "cosine", 0, 50, 10_000, 1));
        assertThrows(UserError.class, () -> new Reducer.Options("umap", 20, -1, "cosine", 0, 50, 10_000, 1));
        var e = assertThrows(UserError.class, () -> Reducer.fit(new float[4], 2, 2, umap(1)));
        assertTrue(e.getMessage().contains("at least 3"), e.getMessage());
    }
}
