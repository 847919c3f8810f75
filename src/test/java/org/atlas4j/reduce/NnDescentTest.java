package org.atlas4j.reduce;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

import smile.graph.NearestNeighborGraph;

/** The approximate kNN graph against the exact one, and its determinism. */
@org.atlas4j.UnitTest
class NnDescentTest {
    static final int N = 5000, D = 64, K = 20;

    static double[][] unit(float[] x, int n, int d) {
        double[][] u = new double[n][d];
        for (int i = 0; i < n; i++) {
            double s = 0;
            for (int j = 0; j < d; j++) s += (double) x[i * d + j] * x[i * d + j];
            s = Math.sqrt(s);
            for (int j = 0; j < d; j++) u[i][j] = s > 0 ? x[i * d + j] / s : 0;
        }
        return u;
    }

    @Test
    void recallAt20AgainstTheExactGraphIsAtLeast095() {
        float[] x = SyntheticActivations.make(N, D, 12, 8, 5);
        NearestNeighborGraph exact = CosineKnn.build(unit(x, N, D), K);
        NearestNeighborGraph approx = NnDescent.build(x, N, D, NnDescent.Options.defaults(N, K, 2, 1), null);
        double r = KnnRecall.recall(approx, exact);
        assertTrue(r >= 0.95, "recall@20 " + r);
        // distances are the cosine distances of the listed rows, sorted, no self
        for (int i = 0; i < N; i += 97) {
            int[] nb = approx.neighbors()[i];
            double[] dd = approx.distances()[i];
            for (int q = 0; q < K; q++) {
                assertTrue(nb[q] != i, "self-loop at " + i);
                if (q > 0) assertTrue(dd[q] >= dd[q - 1], "unsorted row " + i);
            }
            assertEquals(exact.distances()[i][0], dd[0], 1e-5, "nearest distance of row " + i);
        }
        // the sampled check used at large N agrees with the full one
        assertEquals(r, KnnRecall.sampled(x, N, D, approx, 1000, 3), 0.03);
    }

    @Test
    void theGraphDependsOnTheSeedNotOnTheThreadCount() {
        float[] x = SyntheticActivations.make(2000, 32, 6, 6, 9);
        NearestNeighborGraph a = NnDescent.build(x, 2000, 32, NnDescent.Options.defaults(2000, 10, 2, 4), null);
        NearestNeighborGraph b = NnDescent.build(x, 2000, 32, NnDescent.Options.defaults(2000, 10, 3, 4), null);
        for (int i = 0; i < 2000; i++) {
            assertArrayEquals(a.neighbors()[i], b.neighbors()[i], "row " + i);
            assertArrayEquals(a.distances()[i], b.distances()[i], 0.0, "row " + i);
        }
    }
}
