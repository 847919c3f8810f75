package org.atlas4j.model;

import java.util.List;

/**
 * How many images (or icons) go through a network at once so that one pass stays within a memory budget. Why:
 * a fixed batch that is cheap on the 28-px demo (a few MB of activations) takes gigabytes on an ImageNet network at
 * 224–299 px (Keras MobileNetV2 keeps ~60 MB of activations per image), so the batch is derived from the network.
 *
 * <p>The per-sample cost is the sum of every layer's output (float32) up to the layer a stage reads, times a factor
 * for what the executor keeps beside it: inputs of the next ops and temporaries when only going forward; the
 * activations, their gradients and temporaries when also going backward. The factors were measured on Keras
 * MobileNetV2 under SameDiff (peak resident memory at batch 4 and 16: 3.1–4.2 GB); only explain sizes its passes by
 * this estimate ({@link #batch}), every stage sizes its batches to the budget ({@link #budgetBytes}).
 *
 * <p>The budget defaults to 1 GB ({@value #DEFAULT_BUDGET_MB} MB: with the launcher's 1 GB heap a short whole run on
 * GoogLeNet peaked at 2.8 GB, at 1.5 GB and a 2 GB heap 3.8 GB), overridable with the system property
 * {@code atlas4j.batchMemoryMb} (the launcher passes {@code ATLAS_BATCH_MEMORY_MB}).
 */
public final class MemoryBudget {
    public static final long DEFAULT_BUDGET_MB = 1024;
    /** Bytes kept per activation byte when only going forward. */
    static final double FORWARD_FACTOR = 1.5;
    /** Bytes kept per activation byte when going forward and backward (activations, gradients, temporaries). */
    static final double BACKWARD_FACTOR = 3.0;

    private MemoryBudget() {
    }

    /** The budget for one pass, in bytes. */
    public static long budgetBytes() {
        String v = System.getProperty("atlas4j.batchMemoryMb");
        long mb = DEFAULT_BUDGET_MB;
        if (v != null && !v.isBlank()) {
            try {
                mb = Long.parseLong(v.trim());
            } catch (NumberFormatException e) {
                throw new org.atlas4j.util.UserError("ATLAS_BATCH_MEMORY_MB / atlas4j.batchMemoryMb must be a whole number "
                        + "of megabytes, got '" + v + "'");
            }
            if (mb < 16) throw new org.atlas4j.util.UserError("ATLAS_BATCH_MEMORY_MB must be at least 16, got " + mb);
        }
        return mb << 20;
    }

    /**
     * Float bytes of every layer's output for one sample at the graph's input size, up to and including
     * {@code upTo} (null: the whole network).
     */
    public static long activationBytesPerSample(NetGraph graph, String upTo) {
        List<NetGraph.LayerShape> shapes = graph.shapes();
        long floats = 0;
        int[] in = graph.inputShape();
        floats += (long) in[0] * in[1] * in[2];
        for (NetGraph.LayerShape s : shapes) {
            long n = 1;
            for (long d : s.shape()) n *= d;
            floats += n;
            if (upTo != null && s.node().name().equals(upTo)) break;
        }
        return floats * Float.BYTES;
    }

    /**
     * The largest batch not above {@code requested} whose pass fits the budget (at least 1).
     *
     * @param scale area of the stage's input relative to the model's input size (icons larger or smaller than the
     *        model's input), 1 for images at the model's size
     */
    public static int batch(NetGraph graph, String upTo, boolean backward, double scale, int requested) {
        double perSample = activationBytesPerSample(graph, upTo) * scale * (backward ? BACKWARD_FACTOR : FORWARD_FACTOR);
        long fit = (long) Math.floor(budgetBytes() / Math.max(1.0, perSample));
        return (int) Math.max(1, Math.min(requested, fit));
    }
}
