package org.atlas4j.reduce;

import org.apache.commons.math3.stat.descriptive.rank.Percentile;

/**
 * The paper's layout normalization: per axis, clip to the 1st–99th percentile and scale to [0,1],
 * so a few outliers do not squeeze the rest of the map into a corner.
 */
public final class LayoutNormalizer {
    private LayoutNormalizer() {
    }

    /** @param xy N×2 row-major; returns a new N×2 array in [0,1] */
    public static float[] normalize(float[] xy, double lowPct, double highPct) {
        int n = xy.length / 2;
        float[] out = new float[xy.length];
        for (int axis = 0; axis < 2; axis++) {
            double[] v = new double[n];
            for (int i = 0; i < n; i++) v[i] = xy[2 * i + axis];
            Percentile p = new Percentile().withEstimationType(Percentile.EstimationType.R_7);
            p.setData(v);
            double lo = n == 1 ? v[0] : p.evaluate(lowPct);
            double hi = n == 1 ? v[0] : p.evaluate(highPct);
            double span = hi - lo;
            for (int i = 0; i < n; i++) {
                double t = span > 0 ? (v[i] - lo) / span : 0.5;
                out[2 * i + axis] = (float) Math.max(0, Math.min(1, t));
            }
        }
        return out;
    }
}
