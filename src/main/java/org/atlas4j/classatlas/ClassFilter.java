package org.atlas4j.classatlas;

import java.util.Arrays;
import java.util.TreeSet;

/**
 * Which samples a class atlas keeps (the paper's rule): every sample whose top-attributed class is the target,
 * plus the {@code topN} samples with the largest positive attribution to the target.
 */
public final class ClassFilter {
    private ClassFilter() {
    }

    /**
     * @param attribution N×C row-major (a · ∂logit_c/∂a per sample and class)
     * @return sorted sample indices
     */
    public static int[] select(float[] attribution, int classes, int target, int topN) {
        if (target < 0 || target >= classes) {
            throw new org.atlas4j.util.UserError("class index " + target + " is out of range 0.." + (classes - 1));
        }
        int n = attribution.length / classes;
        TreeSet<Integer> keep = new TreeSet<>();
        for (int i = 0; i < n; i++) {
            int best = 0;
            for (int c = 1; c < classes; c++) if (attribution[i * classes + c] > attribution[i * classes + best]) best = c;
            if (best == target) keep.add(i);
        }
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) order[i] = i;
        // stable on ties: by attribution descending, then index ascending
        Arrays.sort(order, (a, b) -> {
            int cmp = Float.compare(attribution[b * classes + target], attribution[a * classes + target]);
            return cmp != 0 ? cmp : Integer.compare(a, b);
        });
        for (int k = 0; k < Math.min(topN, n); k++) {
            int i = order[k];
            if (attribution[i * classes + target] <= 0) break;
            keep.add(i);
        }
        return keep.stream().mapToInt(Integer::intValue).toArray();
    }

    /** Class index from a name (case-insensitive) or a number. */
    public static int resolve(String cls, java.util.List<String> names) {
        for (int i = 0; i < names.size(); i++) if (names.get(i).equalsIgnoreCase(cls)) return i;
        try {
            int i = Integer.parseInt(cls.trim());
            if (i >= 0 && (names.isEmpty() || i < names.size())) return i;
        } catch (NumberFormatException e) {
            // fall through to the error
        }
        throw new org.atlas4j.util.UserError("unknown class '" + cls + "'; valid: "
                + (names.isEmpty() ? "a class index (the model card lists no classNames; add them to use names)" : String.join(", ", names) + " (or 0.." + (names.size() - 1) + ")"));
    }
}
