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
 * Batches are split into passes whose forward-only session fits a quarter of the batch memory budget
 * (ATLAS_BATCH_MEMORY_MB); images do not interact, so the split changes nothing but memory.
 */
public final class GraphForward implements AutoCloseable {
    private final NetGraph graph;
    private final String variable;
    private final int c;
    private final int h;
    private final int w;
    private final NativeGraph dag;
    private final String why;
    private final int chunk;
    /** One session, grown to the largest pass asked for (never beyond {@link #chunk}); shorter passes reuse it. */
    private NativeGraph.Session session;
    private float[] padded;

    private GraphForward(NetGraph graph, String variable, int c, int h, int w, NativeGraph.Compiled compiled) {
        this.graph = graph;
        this.variable = variable;
        this.c = c;
        this.h = h;
        this.w = w;
        this.dag = compiled.engine();
        this.why = compiled.unsupported();
        this.chunk = dag == null ? Integer.MAX_VALUE : chunk(dag, budgetBytes());
    }

    /** Images per pass whose forward-only session fits the budget, from a one-image session freed at once. */
    private static int chunk(NativeGraph dag, long budget) {
        NativeGraph.Session probe = dag.inferenceSession(1);
        try {
            return (int) Math.max(1, budget / Math.max(1, probe.bufferBytes()));
        } finally {
            probe.close();
        }
    }

    /**
     * A quarter of the batch memory budget (256 MB by default) for the session's buffers: convolutions add temporaries
     * of the same order beside them, and these stages follow render in one process. InceptionV3's fidelity at half the
     * budget lifted a run's peak by 0.7 GB; a pass of 8 rather than 16 299-px images costs no measurable speed here.
     */
    static long budgetBytes() {
        return MemoryBudget.budgetBytes() / 4;
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
        int want = Math.min(chunk, b);
        if (session == null || session.batch() < want) { // one set of buffers: the old one is freed, not left to GC
            close();
            session = dag.inferenceSession(want);
            padded = new float[want * len];
        }
        int per = session.batch();
        INDArray out = null;
        for (int s = 0; s < b; s += per) {
            int m = Math.min(per, b - s);
            float[] src = images;
            if (s > 0 || images.length < (long) per * len) { // the session reads its first per·len values
                System.arraycopy(images, s * len, padded, 0, m * len); // a short pass leaves stale rows, not read
                src = padded;
            }
            INDArray y = session.forwardMap(src);
            if (out == null) {
                long[] shape = y.shape().clone();
                shape[0] = b;
                out = Nd4j.create(y.dataType() == DataType.DOUBLE ? DataType.DOUBLE : DataType.FLOAT, shape, 'c');
            }
            out.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(s, s + m))
                    .assign(y.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(0, m)));
        }
        return out;
    }

    /** Frees the session's buffers now; a later pass makes a new one. */
    @Override
    public void close() {
        if (session != null) session.close();
        session = null;
        padded = null;
    }
}
