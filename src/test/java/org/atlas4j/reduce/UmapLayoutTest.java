package org.atlas4j.reduce;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;

import org.junit.jupiter.api.Test;

import smile.graph.NearestNeighborGraph;

/** Our UMAP layout stage: its pieces against umap-learn's numbers, and its maps against Smile's UMAP. */
@org.atlas4j.UnitTest
class UmapLayoutTest {

    @Test
    void curveParametersMatchUmapLearn() {
        // umap.umap_.find_ab_params(spread, min_dist) from umap-learn 0.5.3 (scipy curve_fit) on this machine
        double[][] cases = {{1.0, 0.01, 1.8956058659900246, 0.8006378439765344}, {1.0, 0.1, 1.5769434601962196, 0.8950608779914887},
            {2.0, 0.5, 0.25887874119038884, 1.057499699581397}};
        for (double[] c : cases) {
            double[] ab = UmapLayout.fitAB(c[1], c[0]);
            assertEquals(c[2], ab[0], 2e-3 * c[2], "a for spread " + c[0] + ", min_dist " + c[1]);
            assertEquals(c[3], ab[1], 2e-3 * c[3], "b for spread " + c[0] + ", min_dist " + c[1]);
        }
    }

    @Test
    void fuzzyUnionIsSymmetricWithProbabilisticOr() {
        // 4 points on a line, k = 2
        int[][] nbr = {{1, 2}, {0, 2}, {1, 3}, {2, 1}};
        double[][] dist = {{1, 2}, {1, 1}, {1, 1}, {1, 2}};
        UmapLayout.Edges e = UmapLayout.fuzzyUnion(4, nbr, dist);
        double[][] w = new double[4][4];
        for (int i = 0; i < e.size; i++) {
            assertTrue(e.weight[i] > 0 && e.weight[i] <= 1, "weight " + e.weight[i]);
            w[e.head[i]][e.tail[i]] = e.weight[i];
        }
        for (int i = 0; i < 4; i++) for (int j = 0; j < 4; j++) assertEquals(w[i][j], w[j][i], 1e-15, "symmetric " + i + "," + j);
        // nearest neighbours (distance = rho) have membership 1 in their direction: the union is 1
        assertEquals(1.0, w[0][1], 1e-12);
        assertEquals(1.0, w[1][2], 1e-12);
        // 0→2 only one way (2 does not list 0): the union equals that one membership, strictly between 0 and 1
        assertTrue(w[0][2] > 0 && w[0][2] < 1, "w02 " + w[0][2]);
        assertEquals(0.0, w[0][3], 0.0, "no edge between 0 and 3");
    }

    /** Three Gaussian clusters in 12-D, rows L2-normalized (cosine), with the exact kNN graph. */
    static double[][] clusters(int n, long seed) {
        Random r = new Random(seed);
        double[][] centres = new double[3][12];
        for (double[] c : centres) for (int j = 0; j < 12; j++) c[j] = r.nextGaussian() * 3;
        double[][] x = new double[n][12];
        for (int i = 0; i < n; i++) {
            double norm = 0;
            for (int j = 0; j < 12; j++) {
                x[i][j] = centres[i % 3][j] + r.nextGaussian();
                norm += x[i][j] * x[i][j];
            }
            norm = Math.sqrt(norm);
            for (int j = 0; j < 12; j++) x[i][j] /= norm;
        }
        return x;
    }

    @Test
    void seededLayoutsAreReproducibleAndDifferAcrossSeeds() {
        double[][] x = clusters(300, 1);
        NearestNeighborGraph g = CosineKnn.build(x, 10);
        double[][] a = UmapLayout.fit(x, g, new UmapLayout.Options(2, 100, 0.01, 1, 5, 1, 1, 7), null);
        double[][] b = UmapLayout.fit(x, g, new UmapLayout.Options(2, 100, 0.01, 1, 5, 1, 1, 7), null);
        double[][] c = UmapLayout.fit(x, g, new UmapLayout.Options(2, 100, 0.01, 1, 5, 1, 1, 8), null);
        for (int i = 0; i < x.length; i++) {
            assertArrayEquals(a[i], b[i], 0.0, "row " + i);
            assertTrue(Double.isFinite(a[i][0]) && Double.isFinite(a[i][1]));
        }
        assertFalse(Arrays.deepEquals(a, c), "another seed gave the same layout");
    }

    @Test
    void mapQualityMatchesSmilesUmap() {
        double[][] x = clusters(600, 2);
        float[] flat = new float[600 * 12];
        for (int i = 0; i < 600; i++) for (int j = 0; j < 12; j++) flat[i * 12 + j] = (float) x[i][j];
        float[] ours = Reducer.fit(flat, 600, 12, new Reducer.Options("umap", 15, 0.01, "cosine", 200, 50, 10_000, 3));
        float[] smile = Reducer.fit(flat, 600, 12, new Reducer.Options("umap-smile", 15, 0.01, "cosine", 200, 50, 10_000, 3));
        double to = trustworthiness(x, ours, 10);
        double ts = trustworthiness(x, smile, 10);
        assertTrue(to > 0.85, "our layout's trustworthiness " + to);
        assertTrue(to > ts - 0.02, "ours " + to + " vs Smile's " + ts);
        // and the clusters stay apart: every point's nearest layout neighbour is from its own cluster for ≥ 95 %
        int same = 0;
        for (int i = 0; i < 600; i++) {
            int best = -1;
            double bd = Double.POSITIVE_INFINITY;
            for (int j = 0; j < 600; j++) {
                if (j == i) continue;
                double dx = ours[2 * i] - ours[2 * j], dy = ours[2 * i + 1] - ours[2 * j + 1];
                double d = dx * dx + dy * dy;
                if (d < bd) {
                    bd = d;
                    best = j;
                }
            }
            if (best % 3 == i % 3) same++;
        }
        assertTrue(same >= 570, "nearest layout neighbour in the same cluster for " + same + " of 600");
    }

    /** sklearn's trustworthiness (Venna & Kaski) with Euclidean distances on the given rows and the 2-D layout. */
    static double trustworthiness(double[][] x, float[] y, int k) {
        int n = x.length;
        double penalty = 0;
        for (int i = 0; i < n; i++) {
            double[] dx = new double[n];
            double[] dy = new double[n];
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int c = 0; c < x[i].length; c++) s += (x[i][c] - x[j][c]) * (x[i][c] - x[j][c]);
                dx[j] = j == i ? -1 : s;
                double a = y[2 * i] - y[2 * j], b = y[2 * i + 1] - y[2 * j + 1];
                dy[j] = j == i ? -1 : a * a + b * b;
            }
            Integer[] byX = rankOrder(dx);
            int[] rankX = new int[n];
            for (int r = 0; r < n; r++) rankX[byX[r]] = r; // rank 0 = self
            Integer[] byY = rankOrder(dy);
            for (int r = 1; r <= k; r++) {
                int j = byY[r];
                if (rankX[j] > k) penalty += rankX[j] - k;
            }
        }
        return 1 - penalty * 2.0 / (n * k * (2.0 * n - 3 * k - 1));
    }

    private static Integer[] rankOrder(double[] d) {
        Integer[] idx = new Integer[d.length];
        for (int i = 0; i < d.length; i++) idx[i] = i;
        Arrays.sort(idx, (p, q) -> Double.compare(d[p], d[q]));
        return idx;
    }
}
