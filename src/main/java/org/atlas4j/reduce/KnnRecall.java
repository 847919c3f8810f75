package org.atlas4j.reduce;

import java.util.Arrays;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import smile.graph.NearestNeighborGraph;

/** recall@k of an approximate kNN graph: the share of each row's true k nearest (cosine) neighbours it lists. */
public final class KnnRecall {
    private KnnRecall() {
    }

    /** Mean over all rows of |approx ∩ exact| / k, both graphs with k neighbours per row. */
    public static double recall(NearestNeighborGraph approx, NearestNeighborGraph exact) {
        int[][] a = approx.neighbors(), e = exact.neighbors();
        long hit = 0, total = 0;
        for (int i = 0; i < a.length; i++) {
            hit += overlap(a[i], e[i]);
            total += e[i].length;
        }
        return hit / (double) total;
    }

    /**
     * recall@k on {@code samples} rows drawn with the seed: their exact neighbours by brute force against all N rows
     * (blocked GEMM, so a few thousand queries at 1,000,000 × 512 take a minute, not the N² of the full exact graph).
     */
    public static double sampled(float[] x, int n, int d, NearestNeighborGraph approx, int samples, long seed) {
        int k = approx.neighbors()[0].length;
        int s = Math.min(samples, n);
        int[] q = new java.util.SplittableRandom(seed).ints(0, n).distinct().limit(s).toArray();
        float[] inv = new float[n];
        for (int i = 0; i < n; i++) {
            double t = 0;
            for (int c = 0; c < d; c++) t += (double) x[i * d + c] * x[i * d + c];
            inv[i] = t > 0 ? (float) (1 / Math.sqrt(t)) : 0f;
        }
        float[] qf = new float[s * d];
        for (int a = 0; a < s; a++) for (int c = 0; c < d; c++) qf[a * d + c] = x[q[a] * d + c] * inv[q[a]];
        INDArray qt = Nd4j.create(qf, new long[] {s, d}, 'c').transpose().dup('c');
        float[][] best = new float[s][k];
        int[][] bi = new int[s][k];
        for (float[] b : best) Arrays.fill(b, Float.NEGATIVE_INFINITY);
        int block = 8192;
        for (int b0 = 0; b0 < n; b0 += block) {
            int b1 = Math.min(n, b0 + block);
            float[] rows = Arrays.copyOfRange(x, b0 * d, b1 * d);
            for (int i = b0; i < b1; i++) for (int c = 0; c < d; c++) rows[(i - b0) * d + c] *= inv[i];
            float[] sim = Nd4j.create(rows, new long[] {b1 - b0, d}, 'c').mmul(qt).dup('c').data().asFloat();
            for (int i = b0; i < b1; i++) {
                for (int a = 0; a < s; a++) {
                    if (i == q[a]) continue;
                    float v = sim[(i - b0) * s + a];
                    if (v <= best[a][k - 1]) continue; // ties: the lower index (seen first) stays
                    int pos = k - 1;
                    while (pos > 0 && best[a][pos - 1] < v) {
                        best[a][pos] = best[a][pos - 1];
                        bi[a][pos] = bi[a][pos - 1];
                        pos--;
                    }
                    best[a][pos] = v;
                    bi[a][pos] = i;
                }
            }
        }
        long hit = 0;
        for (int a = 0; a < s; a++) hit += overlap(approx.neighbors()[q[a]], bi[a]);
        return hit / ((double) s * k);
    }

    private static int overlap(int[] a, int[] e) {
        int h = 0;
        for (int v : e) {
            for (int w : a) {
                if (v == w) {
                    h++;
                    break;
                }
            }
        }
        return h;
    }
}
