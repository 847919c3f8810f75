package org.atlas4j.reduce;

import java.util.SplittableRandom;
import java.util.stream.IntStream;

/**
 * Clustered activations for layout benchmarks at any N: a mixture of Gaussian clusters, each spread along a few
 * latent directions of its own plus a little isotropic noise, then ReLU, like a conv layer's pooled channels (sparse,
 * non-negative, low intrinsic dimension within a class). Row i depends only on (seed, i), so the same rows come out
 * at any N and with any thread count.
 */
public final class SyntheticActivations {
    private SyntheticActivations() {
    }

    /** N×D row-major floats; {@code clusters} centres, {@code latent} directions per cluster. */
    public static float[] make(int n, int d, int clusters, int latent, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[][] centre = new float[clusters][d];
        float[][][] basis = new float[clusters][latent][d];
        for (int c = 0; c < clusters; c++) {
            for (int j = 0; j < d; j++) centre[c][j] = (float) r.nextGaussian();
            for (int l = 0; l < latent; l++) for (int j = 0; j < d; j++) basis[c][l][j] = (float) (r.nextGaussian() * 0.35);
        }
        float[] x = new float[Math.multiplyExact(n, d)];
        IntStream.range(0, n).parallel().forEach(i -> {
            SplittableRandom ri = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + i);
            int c = ri.nextInt(clusters);
            double[] z = new double[latent];
            for (int l = 0; l < latent; l++) z[l] = ri.nextGaussian();
            for (int j = 0; j < d; j++) {
                double v = centre[c][j] + 0.1 * ri.nextGaussian();
                for (int l = 0; l < latent; l++) v += z[l] * basis[c][l][j];
                x[i * d + j] = (float) Math.max(0, v);
            }
        });
        return x;
    }
}
