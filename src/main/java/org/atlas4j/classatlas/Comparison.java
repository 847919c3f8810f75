package org.atlas4j.classatlas;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

import org.apache.commons.math3.stat.descriptive.rank.Percentile;

/**
 * Class-vs-class comparison (the paper's): x = attribution difference B − A scaled by its 99th percentile of absolute
 * value and clipped to [−1, 1]; dual-role candidates are cells whose samples attribute strongly to both classes.
 */
public final class Comparison {
    private Comparison() {
    }

    /** x in [−1,1] per sample from the two classes' attributions (N×C row-major). */
    public static float[] axis(float[] attribution, int classes, int a, int b) {
        int n = attribution.length / classes;
        double[] diff = new double[n];
        double[] abs = new double[n];
        for (int i = 0; i < n; i++) {
            diff[i] = attribution[i * classes + b] - attribution[i * classes + a];
            abs[i] = Math.abs(diff[i]);
        }
        double p99 = n == 1 ? abs[0] : new Percentile().withEstimationType(Percentile.EstimationType.R_7).evaluate(abs, 99);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            double v = p99 > 0 ? diff[i] / p99 : 0;
            x[i] = (float) Math.max(-1, Math.min(1, v));
        }
        return x;
    }

    /** One cell's standing: mean attribution of its samples to A and to B; strength = the smaller of the two. */
    public record DualRole(int cell, int row, int col, int samples, double meanA, double meanB, double strength) {
    }

    /** Cells ranked by min(mean attribution to A, to B), strongest first; only cells positive for both. */
    public static List<DualRole> dualRoles(List<int[]> cellMembers, int[] rows, int[] cols, float[] attribution,
            int classes, int a, int b) {
        List<DualRole> out = new ArrayList<>();
        for (int k = 0; k < cellMembers.size(); k++) {
            int[] m = cellMembers.get(k);
            double sa = 0;
            double sb = 0;
            for (int i : m) {
                sa += attribution[i * classes + a];
                sb += attribution[i * classes + b];
            }
            double ma = sa / m.length;
            double mb = sb / m.length;
            if (ma > 0 && mb > 0) out.add(new DualRole(k, rows[k], cols[k], m.length, ma, mb, Math.min(ma, mb)));
        }
        out.sort(Comparator.comparingDouble(DualRole::strength).reversed().thenComparingInt(DualRole::cell));
        return out;
    }
}
