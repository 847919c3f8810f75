package org.atlas4j.util;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;

import org.junit.jupiter.api.Test;

@org.atlas4j.UnitTest
class SymmetricEigenTest {

    /** A·v = λ·v, |v| = 1, vectors orthogonal, values descending. */
    static void assertDecomposes(double[][] a, SymmetricEigen.Result r, double tol) {
        int d = a.length;
        double scale = 0;
        for (double[] row : a) for (double v : row) scale = Math.max(scale, Math.abs(v));
        for (int k = 0; k < d; k++) {
            if (k > 0) assertTrue(r.values()[k] <= r.values()[k - 1], "descending at " + k);
            double[] v = r.vectors()[k];
            double n = 0;
            for (double x : v) n += x * x;
            assertEquals(1, n, 1e-9, "unit vector " + k);
            for (int i = 0; i < d; i++) {
                double av = 0;
                for (int j = 0; j < d; j++) av += a[i][j] * v[j];
                assertEquals(r.values()[k] * v[i], av, tol * Math.max(scale, 1e-300), "A·v = λ·v, vector " + k + " row " + i);
            }
            for (int q = 0; q < k; q += Math.max(1, k / 7)) {
                double dot = 0;
                for (int i = 0; i < d; i++) dot += v[i] * r.vectors()[q][i];
                assertEquals(0, dot, 1e-9, "orthogonal " + q + "," + k);
            }
        }
    }

    @Test
    void smallKnownMatrix() {
        double[][] a = {{2, 1}, {1, 2}};
        SymmetricEigen.Result r = SymmetricEigen.of(a);
        assertEquals(3, r.values()[0], 1e-12);
        assertEquals(1, r.values()[1], 1e-12);
        assertEquals(Math.abs(r.vectors()[0][0]), Math.abs(r.vectors()[0][1]), 1e-12);
        assertDecomposes(a, r, 1e-12);
    }

    /** Covariance of ReLU-like activations (Commons Math's EigenDecomposition fails on this one: "convergence failed") with 60 % dead channels: many exactly-zero rows and columns. */
    static double[][] reluCovariance(int n, int d, long seed) {
        Random rng = new Random(seed);
        double[][] x = new double[n][d];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < d; j++) {
                if (j % 5 < 3) continue; // dead channel
                x[i][j] = Math.max(0, rng.nextGaussian() * (1 + j % 7) - 0.8);
            }
        }
        double[] mean = new double[d];
        for (double[] r : x) for (int j = 0; j < d; j++) mean[j] += r[j] / n;
        double[][] c = new double[d][d];
        for (double[] r : x) {
            for (int a = 0; a < d; a++) {
                double ca = r[a] - mean[a];
                if (ca == 0) continue;
                for (int b = 0; b < d; b++) c[a][b] += ca * (r[b] - mean[b]);
            }
        }
        return c;
    }

    @Test
    void rankDeficientReluCovarianceDecomposes() {
        double[][] c = reluCovariance(150, 768, 3);
        SymmetricEigen.Result r = SymmetricEigen.of(c);
        assertDecomposes(c, r, 1e-10);
        // rank ≤ 149 (150 centred rows): the rest is zero up to rounding
        assertTrue(Math.abs(r.values()[200]) < 1e-9 * r.values()[0], "λ_200 = " + r.values()[200]);
    }

    @Test
    void zeroAndConstantMatrices() {
        SymmetricEigen.Result z = SymmetricEigen.of(new double[5][5]);
        for (double v : z.values()) assertEquals(0, v, 0);
        double[][] ones = new double[4][4];
        for (double[] row : ones) java.util.Arrays.fill(row, 1);
        SymmetricEigen.Result o = SymmetricEigen.of(ones);
        assertEquals(4, o.values()[0], 1e-12);
        assertDecomposes(ones, o, 1e-12);
    }

    @Test
    void refusesNonFiniteEntries() {
        double[][] a = {{1, Double.NaN}, {Double.NaN, 1}};
        assertThrows(IllegalArgumentException.class, () -> SymmetricEigen.of(a));
    }
}
