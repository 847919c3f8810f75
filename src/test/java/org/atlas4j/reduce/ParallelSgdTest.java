package org.atlas4j.reduce;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.SplittableRandom;

import org.atlas4j.util.UserError;
import org.junit.jupiter.api.Test;

import smile.graph.NearestNeighborGraph;

/** The multi-threaded epochs: same arithmetic as the sequential loop, reproducible per (seed, threads), same quality. */
@org.atlas4j.UnitTest
class ParallelSgdTest {

    static UmapLayout.Options opts(int epochs, long seed, int threads) {
        return new UmapLayout.Options(2, epochs, 0.01, 1, 5, 1, 1, seed, threads);
    }

    @Test
    void oneLaneIsTheSequentialLoop() {
        double[][] x = UmapLayoutTest.clusters(300, 4);
        NearestNeighborGraph g = CosineKnn.build(x, 10);
        UmapLayout.Edges e = UmapLayout.fuzzyUnion(300, g.neighbors(), g.distances());
        double[] eps = new double[e.size];
        for (int i = 0; i < e.size; i++) eps[i] = 1 / e.weight[i];
        double[] ab = UmapLayout.fitAB(0.01, 1);
        double[] start = UmapLayout.pcaStart(x, 2, new SplittableRandom(1));
        double[] seq = start.clone();
        double[] par = start.clone();
        UmapLayout.optimize(seq, 2, 300, e.head.clone(), e.tail.clone(), eps, ab[0], ab[1], opts(60, 3, 1),
                new SplittableRandom(9).split(), null);
        ParallelSgd.optimize(par, 2, 300, e.head.clone(), e.tail.clone(), eps, ab[0], ab[1], opts(60, 3, 1),
                new SplittableRandom(9), null);
        assertArrayEquals(seq, par, 0.0);
    }

    @Test
    void everyAttractiveMoveIsMergedSoAttractionAloneKeepsTheCentroid() {
        // each attractive step moves head and tail by opposite amounts: without repulsion the sum of all positions is
        // invariant, so a pull on another thread's point that was lost (or applied twice) in the merge shows up here
        double[][] x = UmapLayoutTest.clusters(400, 6);
        NearestNeighborGraph g = CosineKnn.build(x, 10);
        UmapLayout.Edges e = UmapLayout.fuzzyUnion(400, g.neighbors(), g.distances());
        double[] eps = new double[e.size];
        for (int i = 0; i < e.size; i++) eps[i] = 1 / e.weight[i];
        double[] ab = UmapLayout.fitAB(0.01, 1);
        double[] y = UmapLayout.pcaStart(x, 2, new SplittableRandom(1));
        double[] before = {0, 0};
        for (int i = 0; i < 400; i++) for (int c = 0; c < 2; c++) before[c] += y[2 * i + c];
        ParallelSgd.optimize(y, 2, 400, e.head, e.tail, eps, ab[0], ab[1],
                new UmapLayout.Options(2, 40, 0.01, 1, 5, 0.0, 1, 3, 3), new SplittableRandom(2), null);
        double[] after = {0, 0};
        double moved = 0;
        for (int i = 0; i < 400; i++) for (int c = 0; c < 2; c++) after[c] += y[2 * i + c];
        for (int c = 0; c < 2; c++) assertEquals(before[c], after[c], 1e-7 * 400, "sum of coordinate " + c);
        double[] start = UmapLayout.pcaStart(x, 2, new SplittableRandom(1));
        for (int i = 0; i < y.length; i++) moved += Math.abs(y[i] - start[i]);
        assertTrue(moved > 1, "the points did not move");
    }

    @Test
    void sameSeedAndThreadsGiveTheSameBytes() {
        double[][] x = UmapLayoutTest.clusters(600, 5);
        NearestNeighborGraph g = CosineKnn.build(x, 15);
        double[][] a = UmapLayout.fit(x, g, opts(150, 7, 2), null);
        double[][] b = UmapLayout.fit(x, g, opts(150, 7, 2), null);
        double[][] c = UmapLayout.fit(x, g, opts(150, 8, 2), null);
        double[][] three = UmapLayout.fit(x, g, opts(150, 7, 3), null);
        for (int i = 0; i < x.length; i++) {
            assertArrayEquals(a[i], b[i], 0.0, "row " + i);
            assertTrue(Double.isFinite(a[i][0]) && Double.isFinite(a[i][1]));
        }
        assertFalse(Arrays.deepEquals(a, c), "another seed gave the same layout");
        assertFalse(Arrays.deepEquals(a, three), "three threads gave the two-thread layout");
    }

    @Test
    void parallelLayoutIsAsTrustworthyAsTheSequentialOne() {
        double[][] x = UmapLayoutTest.clusters(600, 2);
        NearestNeighborGraph g = CosineKnn.build(x, 15);
        for (int threads : new int[] {2, 4}) {
            double[][] seq = UmapLayout.fit(x, g, opts(200, 3, 1), null);
            double[][] par = UmapLayout.fit(x, g, opts(200, 3, threads), null);
            double ts = UmapLayoutTest.trustworthiness(x, flat(seq), 10);
            double tp = UmapLayoutTest.trustworthiness(x, flat(par), 10);
            assertTrue(tp > ts - 0.02 && tp > 0.85, threads + " threads: " + tp + " vs sequential " + ts);
        }
    }

    @Test
    void largeInputPathIsReproducibleAndReportsBadInput() {
        int n = 3000, d = 32;
        float[] x = SyntheticActivations.make(n, d, 8, 4, 2);
        Reducer.Options o = Reducer.Options.paperDefaults(5);
        System.setProperty(Reducer.THREADS_PROPERTY, "2");
        try {
            float[] a = Reducer.large(x, n, d, new Reducer.Options("umap", 20, 0.01, "cosine", 60, 50, 10_000, 5), 2);
            float[] b = Reducer.large(x, n, d, new Reducer.Options("umap", 20, 0.01, "cosine", 60, 50, 10_000, 5), 2);
            assertArrayEquals(a, b, 0f);
            System.setProperty(Reducer.THREADS_PROPERTY, "two");
            UserError err = assertThrows(UserError.class, () -> Reducer.large(x, n, d, o, 2));
            assertTrue(err.getMessage().contains("whole number"), err.getMessage());
        } finally {
            System.clearProperty(Reducer.THREADS_PROPERTY);
        }
        float[] bad = x.clone();
        bad[5 * d + 3] = Float.NaN;
        UserError err = assertThrows(UserError.class, () -> Reducer.large(bad, n, d, o, 2));
        assertTrue(err.getMessage().contains("sample 5"), err.getMessage());
    }

    @Test
    void theDemoStaysOnTheExactSequentialPath() {
        Reducer.Options o = Reducer.Options.paperDefaults(1);
        assertFalse(Reducer.approximate(70_000, 96, o), "the demo's 70,000 × 96 must keep the exact graph");
        assertTrue(Reducer.layoutThreads(70_000, 96, o) == 1, "the demo's epochs must stay sequential");
        assertTrue(Reducer.approximate(100_000, 512, o));
        assertTrue(Reducer.approximate(300_001, 8, o));
        assertFalse(Reducer.approximate(1_000_000, 512, new Reducer.Options("umap", 20, 0.01, "euclidean", 0, 50, 10_000, 1)));
    }

    static float[] flat(double[][] y) {
        float[] f = new float[2 * y.length];
        for (int i = 0; i < y.length; i++) {
            f[2 * i] = (float) y[i][0];
            f[2 * i + 1] = (float) y[i][1];
        }
        return f;
    }
}
