package org.atlas4j.spark;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;

/**
 * Images [first, first + count) of the dataset: the unit of work of a distributed collect (one Spark partition).
 * Serializable because Spark ships it to the executor that runs it.
 */
public record Slice(int part, int first, int count) implements Serializable {
    public Slice {
        if (part < 0 || first < 0 || count < 1) {
            throw new IllegalArgumentException("slice " + part + " [" + first + ", +" + count + ") is not a valid range");
        }
    }

    /**
     * Contiguous slices of {@code size} images covering [0, n), the last one shorter. The size is rounded up to a
     * multiple of {@code align} (the collect batch): a slice then holds whole batches of the local run, so the native
     * engine sees the same batch compositions and sizes as a local collect.
     */
    public static List<Slice> plan(int n, int size, int align) {
        if (n < 1) throw new IllegalArgumentException("no images to slice (n = " + n + ")");
        if (size < 1 || align < 1) throw new IllegalArgumentException("slice size and alignment must be >= 1");
        int s = (int) Math.min(Integer.MAX_VALUE, ((long) size + align - 1) / align * align);
        List<Slice> out = new ArrayList<>();
        for (int first = 0, part = 0; first < n; first += s, part++) out.add(new Slice(part, first, Math.min(s, n - first)));
        return out;
    }

    /** The shard folder name of this slice, e.g. {@code part-00007}. */
    public String name() {
        return String.format(java.util.Locale.ROOT, "part-%05d", part);
    }
}
