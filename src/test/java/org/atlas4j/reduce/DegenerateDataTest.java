package org.atlas4j.reduce;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import java.util.SplittableRandom;

import org.atlas4j.util.UserError;
import org.junit.jupiter.api.Test;

import smile.graph.NearestNeighborGraph;

/**
 * The reduce stage on data as real ReLU layers give it: N < D, most channels dead (all-zero columns), constant
 * columns, all-zero rows, duplicate rows, all rows identical. Nothing may crash and no NaN may come out.
 */
@org.atlas4j.UnitTest
class DegenerateDataTest {

    /** ReLU-like sparse activations: 60 % dead channels, one constant channel, a few all-zero rows. */
    static double[][] relu(int n, int d, long seed) {
        Random rng = new Random(seed);
        double[][] x = new double[n][d];
        for (int i = 0; i < n; i++) {
            if (i % 37 == 5) continue; // an all-zero row
            for (int j = 0; j < d; j++) {
                if (j % 5 < 3) continue; // dead channel
                x[i][j] = Math.max(0, rng.nextGaussian() * (1 + (j % 11)) - 0.7);
            }
            x[i][1] = 3.0; // constant channel (except in the all-zero rows)
        }
        return x;
    }

    static void assertUnitAxisOfCovariance(double[][] x, double[] v) {
        int n = x.length;
        int d = x[0].length;
        double[] mean = new double[d];
        for (double[] r : x) for (int j = 0; j < d; j++) mean[j] += r[j] / n;
        // C·v and Cᵀ(C·v) = λ·v with λ = |C·v|²
        double[] cv = new double[n];
        for (int i = 0; i < n; i++) for (int j = 0; j < d; j++) cv[i] += (x[i][j] - mean[j]) * v[j];
        double lambda = 0;
        for (double t : cv) lambda += t * t;
        double[] ctcv = new double[d];
        for (int i = 0; i < n; i++) for (int j = 0; j < d; j++) ctcv[j] += (x[i][j] - mean[j]) * cv[i];
        double res = 0;
        double nv = 0;
        for (int j = 0; j < d; j++) {
            res += (ctcv[j] - lambda * v[j]) * (ctcv[j] - lambda * v[j]);
            nv += v[j] * v[j];
        }
        assertEquals(1, nv, 1e-9, "unit axis");
        assertTrue(Math.sqrt(res) <= 1e-8 * lambda, "eigen-residual " + Math.sqrt(res) + " for λ " + lambda);
    }

    static double[] mean(double[][] x) {
        double[] m = new double[x[0].length];
        for (double[] r : x) for (int j = 0; j < m.length; j++) m[j] += r[j];
        for (int j = 0; j < m.length; j++) m[j] /= x.length;
        return m;
    }

    @Test
    void principalAxesWhenNIsSmallerThanD() {
        double[][] x = relu(150, 768, 1);
        for (double[] r : x) r[1] = 3.0; // truly constant in every row (the all-zero rows included)
        double[][] axes = UmapLayout.principalAxes(x, mean(x), 2);
        for (double[] v : axes) {
            assertNotNull(v);
            assertUnitAxisOfCovariance(x, v);
            for (int j = 0; j < 768; j++) if (j % 5 < 3) assertEquals(0, v[j], 1e-12, "dead or constant channel " + j + " has no weight");
        }
        // each row six times: N > D, so the covariance path; duplicates leave the axes (and the fixed sign) as they were
        double[][] six = new double[900][];
        for (int i = 0; i < 900; i++) six[i] = x[i % 150];
        double[][] same = UmapLayout.principalAxes(six, mean(six), 2);
        for (int k = 0; k < 2; k++) assertArrayEquals(axes[k], same[k], 1e-8, "axis " + k + " Gram vs covariance path");
    }

    @Test
    void pcaStartOnReluDataIsFiniteAndReproducible() {
        double[][] x = relu(150, 768, 2);
        double[] a = UmapLayout.pcaStart(x, 2, new SplittableRandom(5));
        double[] b = UmapLayout.pcaStart(x, 2, new SplittableRandom(5));
        assertArrayEquals(a, b, 0.0);
        for (double v : a) assertTrue(v >= 0 && v <= 10, "coordinate " + v);
    }

    @Test
    void wideLayersOf2048Channels() {
        for (int n : new int[] {200, 2300}) {
            double[][] x = relu(n, 2048, n);
            double[][] axes = UmapLayout.principalAxes(x, mean(x), 2);
            assertUnitAxisOfCovariance(x, axes[0]);
            assertUnitAxisOfCovariance(x, axes[1]);
        }
    }

    @Test
    void identicalRowsFallBackToASeededRandomStart() {
        double[][] x = new double[40][16];
        for (double[] r : x) for (int j = 0; j < 16; j++) r[j] = j % 3 == 0 ? 0 : 0.1 * j;
        double[][] axes = UmapLayout.principalAxes(x, mean(x), 2);
        assertNull(axes[0], "no variance, no axis");
        double[] a = UmapLayout.pcaStart(x, 2, new SplittableRandom(9));
        assertArrayEquals(a, UmapLayout.pcaStart(x, 2, new SplittableRandom(9)), 0.0);
        double lo = 10;
        double hi = 0;
        for (double v : a) {
            assertTrue(Double.isFinite(v));
            lo = Math.min(lo, v);
            hi = Math.max(hi, v);
        }
        assertTrue(hi - lo > 5, "the random start spreads the points, span " + (hi - lo));
        // two distinct rows: one axis from the data, the second random
        x[7][2] = 5;
        double[][] one = UmapLayout.principalAxes(x, mean(x), 2);
        assertNotNull(one[0]);
        assertNull(one[1]);
    }

    @Test
    void cosineKnnWithZeroRowsGivesFiniteDistances() {
        double[][] x = relu(60, 40, 3);
        x[10] = new double[40];
        x[11] = new double[40];
        for (double[] r : x) {
            double nrm = 0;
            for (double v : r) nrm += v * v;
            nrm = Math.sqrt(nrm);
            if (nrm > 0) for (int j = 0; j < r.length; j++) r[j] /= nrm;
        }
        NearestNeighborGraph g = CosineKnn.build(x, 8);
        for (int i = 0; i < 60; i++) {
            for (int q = 0; q < 8; q++) {
                double dd = g.distances()[i][q];
                assertTrue(dd >= 0 && dd <= 2 && Double.isFinite(dd), "distance " + dd);
                assertTrue(g.neighbors()[i][q] != i);
            }
        }
        // a zero row is at cosine distance 1 from everything
        for (int q = 0; q < 8; q++) assertEquals(1.0, g.distances()[10][q], 1e-6);
        double[][] bad = {{1, 0}, {Double.NaN, 1}, {0, 1}};
        assertThrows(IllegalArgumentException.class, () -> CosineKnn.build(bad, 1));
    }

    static void assertFiniteLayout(float[] raw) {
        for (float v : raw) assertTrue(Float.isFinite(v), "layout coordinate " + v);
        float[] norm = LayoutNormalizer.normalize(raw, 1, 99);
        for (float v : norm) assertTrue(v >= 0 && v <= 1, "normalized " + v);
    }

    static float[] flat(double[][] x) {
        int d = x[0].length;
        float[] f = new float[x.length * d];
        for (int i = 0; i < x.length; i++) for (int j = 0; j < d; j++) f[i * d + j] = (float) x[i][j];
        return f;
    }

    @Test
    void reducerOnReluDataWithDuplicatesAndZeroRows() {
        double[][] x = relu(150, 768, 4);
        for (int i = 100; i < 130; i++) x[i] = x[i - 100].clone(); // duplicate rows
        float[] raw = Reducer.fit(flat(x), 150, 768, new Reducer.Options("umap", 15, 0.01, "cosine", 100, 50, 10_000, 1));
        assertFiniteLayout(raw);
    }

    @Test
    void reducerOnIdenticalRows() {
        double[][] x = new double[30][12];
        for (double[] r : x) for (int j = 0; j < 12; j++) r[j] = j < 4 ? 0 : 1;
        float[] raw = Reducer.fit(flat(x), 30, 12, new Reducer.Options("umap", 10, 0.01, "cosine", 50, 50, 10_000, 1));
        assertFiniteLayout(raw);
        float[] zeros = Reducer.fit(new float[30 * 12], 30, 12, new Reducer.Options("umap", 10, 0.01, "cosine", 50, 50, 10_000, 1));
        assertFiniteLayout(zeros);
    }

    @Test
    void smilesUmapOnIdenticalRowsIsAUserError() {
        var e = assertThrows(UserError.class, () -> Reducer.fit(new float[30 * 12], 30, 12,
                new Reducer.Options("umap-smile", 10, 0.01, "euclidean", 20, 50, 10_000, 1)));
        assertTrue(e.getMessage().contains("identical"), e.getMessage());
    }

    @Test
    void nonFiniteActivationsAreAUserError() {
        float[] data = flat(relu(20, 8, 5));
        data[3 * 8 + 4] = Float.NaN;
        var e = assertThrows(UserError.class,
                () -> Reducer.fit(data, 20, 8, new Reducer.Options("umap", 5, 0.01, "cosine", 20, 50, 10_000, 1)));
        assertTrue(e.getMessage().contains("sample 3"), e.getMessage());
    }
}
