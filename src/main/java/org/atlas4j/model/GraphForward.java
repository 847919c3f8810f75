package org.atlas4j.model;

import java.util.List;

import org.atlas4j.util.Progress;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Forward passes from images to one graph variable for the stages that only read values (fidelity's tile
 * activations, the patch test's probabilities): on the {@link NativeGraph} engine whenever it compiles the graph
 * (several times faster than SameDiff on ImageNet networks, with planned buffers), else on SameDiff, saying why once.
 * Batches are split into passes whose forward-only session fits half the batch memory budget (ATLAS_BATCH_MEMORY_MB),
 * as collect does; images do not interact, so the split changes nothing but memory.
 */
public final class GraphForward {
    private final NetGraph graph;
    private final String variable;
    private final int c;
    private final int h;
    private final int w;
    private final NativeGraph dag;
    private final String why;
    private final int chunk;
    private final java.util.Map<Integer, NativeGraph.Session> sessions = new java.util.HashMap<>();

    private GraphForward(NetGraph graph, String variable, int c, int h, int w, NativeGraph.Compiled compiled) {
        this.graph = graph;
        this.variable = variable;
        this.c = c;
        this.h = h;
        this.w = w;
        this.dag = compiled.engine();
        this.why = compiled.unsupported();
        this.chunk = dag == null ? Integer.MAX_VALUE
                : (int) Math.max(1, budgetBytes() / Math.max(1, dag.inferenceSession(1).bufferBytes()));
    }

    /** Half the batch memory budget: a forward-only session's activation buffers (default 768 MB). */
    static long budgetBytes() {
        return MemoryBudget.budgetBytes() / 2;
    }

    /**
     * Passes from c×h×w inputs to {@code variable}; logs one line naming the engine (and why not the native one).
     *
     * @param stage the command's name for the log line
     */
    public static GraphForward of(NetGraph graph, String variable, int c, int h, int w, String stage) {
        GraphForward f = new GraphForward(graph, variable, c, h, w,
                NativeGraph.compileVariables(graph, variable, List.of(), c, h, w));
        Progress.info(stage + ": " + f.engine());
        return f;
    }

    /** True when the native graph engine runs the passes. */
    public boolean isNative() {
        return dag != null;
    }

    public String engine() {
        return dag != null ? "native graph engine (" + dag.opCount() + " ops, up to " + chunk + " images per pass)"
                : "SameDiff (" + why + " is not covered by the native graph engine)";
    }

    /** The variable's values for b row-major [b, c, h, w] images, as a new [b, ...] array (NCHW for maps). */
    public INDArray forward(float[] images, int b) {
        int len = c * h * w;
        if (dag == null) {
            INDArray x = Nd4j.create(images, new long[] {b, c, h, w}, 'c')
                    .castTo(graph.sameDiff().getVariable(graph.input()).dataType());
            return graph.forward(x, variable).get(variable);
        }
        INDArray out = null;
        for (int s = 0; s < b; s += chunk) {
            int m = Math.min(chunk, b - s);
            NativeGraph.Session session = sessions.computeIfAbsent(m, dag::inferenceSession);
            float[] part = s == 0 && m == b && images.length == (long) b * len ? images
                    : java.util.Arrays.copyOfRange(images, s * len, (s + m) * len);
            INDArray y = session.forwardMap(part);
            if (out == null) {
                long[] shape = y.shape().clone();
                shape[0] = b;
                out = Nd4j.create(y.dataType() == DataType.DOUBLE ? DataType.DOUBLE : DataType.FLOAT, shape, 'c');
            }
            out.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(s, s + m)).assign(y);
        }
        return out;
    }
}
