package org.atlas4j.model;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.VariableType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** A network as an inference-mode SameDiff graph, with the DL4J layer names mapped to graph variables. */
public final class NetGraph {
    /** One DL4J layer: its index, name, type and the SameDiff variable holding its output. */
    public record Node(int index, String name, String type, String variable) {
    }

    /** A layer's per-sample output shape, e.g. [C, H, W] or [D]. */
    public record LayerShape(Node node, long[] shape) {
        public boolean spatial() {
            return shape.length == 3;
        }

        public String shapeString() {
            return Arrays.stream(shape).mapToObj(Long::toString).collect(Collectors.joining("×"));
        }
    }

    /** Thrown when a layer name does not exist; the message lists the valid ones. */
    public static final class UnknownLayerException extends org.atlas4j.util.UserError {
        public UnknownLayerException(String message) {
            super(message);
        }
    }

    private final SameDiff sd;
    private final String input;
    private final int[] inputShape;
    private final List<Node> nodes;
    private final String logits;
    private final String output;
    private List<LayerShape> shapes;
    private int classCount = -1;
    private java.util.function.BiFunction<Node, int[], NetGraph> tailFactory;
    private final Map<String, NetGraph> tails = new java.util.HashMap<>();
    /** Names accepted by {@link #layer} without being listed (ONNX raw node and tensor names). */
    private Map<String, Node> aliases = Map.of();
    private final Map<String, LayerShape> aliasShapes = new HashMap<>();

    NetGraph(SameDiff sd, String input, int[] inputShape, List<Node> nodes, String logits, String output) {
        this.sd = sd;
        this.input = input;
        this.inputShape = inputShape.clone();
        this.nodes = List.copyOf(nodes);
        this.logits = logits;
        this.output = output;
    }

    public SameDiff sameDiff() { return sd; }
    public String input() { return input; }
    public int[] inputShape() { return inputShape.clone(); }
    public List<Node> nodes() { return nodes; }
    /** Pre-softmax scores, or null when the network has no output layer. */
    public String logits() { return logits; }
    public String output() { return output; }

    public Node layer(String name) {
        for (Node n : nodes) {
            if (n.name().equals(name)) return n;
        }
        Node alias = aliases.get(name);
        if (alias != null) return alias;
        List<String> closest = nodes.stream().map(Node::name)
                .sorted(java.util.Comparator.comparingInt((String n) -> editDistance(n.toLowerCase(), name.toLowerCase())))
                .limit(3).toList();
        throw new UnknownLayerException("Unknown layer '" + name + "'. Closest: " + String.join(", ", closest)
                + ". All layers: " + nodes.stream().map(Node::name).collect(Collectors.joining(", ")));
    }

    static int editDistance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) prev[j] = j;
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int sub = prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
                cur[j] = Math.min(sub, Math.min(prev[j] + 1, cur[j - 1] + 1));
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }

    /** Output shapes of every layer, found by running one blank input through the graph. */
    public synchronized List<LayerShape> shapes() {
        if (shapes == null) {
            long[] s = new long[] {1, inputShape[0], inputShape[1], inputShape[2]};
            Map<String, INDArray> out = forward(Nd4j.zeros(sd.getVariable(input).dataType(), s), nodes.stream().map(Node::variable).toArray(String[]::new));
            List<LayerShape> list = new ArrayList<>();
            for (Node n : nodes) {
                long[] full = out.get(n.variable()).shape();
                list.add(new LayerShape(n, Arrays.copyOfRange(full, 1, full.length)));
            }
            shapes = List.copyOf(list);
            free(out.values()); // every layer's map at batch 1: ~100 MB on InceptionV3, only the shapes were wanted
        }
        return shapes;
    }

    /**
     * Frees arrays a forward pass returned (probes read for their shapes or values), except any that is one of the
     * graph's own weights (an output may be a constant itself).
     */
    public synchronized void free(java.util.Collection<INDArray> arrays) {
        java.util.Set<INDArray> own = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        for (SDVariable v : sd.variables()) {
            if (v.getVariableType() == VariableType.VARIABLE || v.getVariableType() == VariableType.CONSTANT) {
                own.add(v.getArr());
            }
        }
        for (INDArray a : arrays) {
            if (a != null && !own.contains(a)) NativeGraph.closeQuietly(a);
        }
        releaseCaches();
    }

    /**
     * Frees SameDiff's session caches. Each thread's inference session keeps the arrays its passes released for reuse,
     * up to a quarter of JavaCPP's physical-memory limit (1 GB under the launcher), until the graph is collected; once
     * the native engine runs the passes SameDiff only probes shapes, so that cache is dead weight.
     */
    public synchronized void releaseCaches() {
        for (org.nd4j.autodiff.samediff.internal.InferenceSession s : sd.getSessions().values()) {
            if (s != null && s.getMmgr() != null) s.getMmgr().close();
        }
        sd.getSessions().clear();
    }

    /**
     * Frees this graph's weights, caches and cut tails now rather than at a garbage collection (the sanity cascade
     * translates one randomized graph per step). The graph must not be used afterwards.
     */
    public synchronized void close() {
        for (NetGraph t : tails.values()) {
            if (t != null) t.close();
        }
        tails.clear();
        releaseCaches();
        for (SDVariable v : sd.variables()) {
            if (v.getVariableType() == VariableType.VARIABLE || v.getVariableType() == VariableType.CONSTANT) {
                NativeGraph.closeQuietly(v.getArr());
            }
        }
    }

    public synchronized LayerShape shape(String layerName) {
        Node n = layer(layerName);
        int i = nodes.indexOf(n);
        if (i >= 0) return shapes().get(i);
        return aliasShapes.computeIfAbsent(layerName, k -> {
            long[] s = new long[] {1, inputShape[0], inputShape[1], inputShape[2]};
            Map<String, INDArray> out = forward(Nd4j.zeros(sd.getVariable(input).dataType(), s), n.variable());
            long[] full = out.get(n.variable()).shape();
            free(out.values());
            return new LayerShape(n, Arrays.copyOfRange(full, 1, full.length));
        });
    }

    void setAliases(Map<String, Node> aliases) {
        this.aliases = Map.copyOf(aliases);
    }

    /** Requires a layer with spatial (C×H×W) output; throws a clear message otherwise. */
    public LayerShape spatialLayer(String layerName) {
        LayerShape s = shape(layerName);
        if (!s.spatial()) {
            throw new org.atlas4j.util.UserError("Layer '" + layerName + "' has no spatial dimensions (output "
                    + s.shapeString() + "); an atlas needs a C×H×W layer. Spatial layers: "
                    + shapes().stream().filter(LayerShape::spatial).map(x -> x.node().name() + " (" + x.shapeString() + ")")
                            .collect(Collectors.joining(", ")));
        }
        return s;
    }

    public Map<String, INDArray> forward(INDArray batch, String... variables) {
        Map<String, INDArray> ph = new HashMap<>();
        ph.put(input, batch);
        return sd.output(ph, variables);
    }

    /**
     * Gradients of the graph's current loss with respect to the given variables (placeholders or activations).
     * The first call builds SameDiff's gradient graph, which prints a line per op to stdout in M2.1: silenced.
     */
    public Map<String, INDArray> gradients(Map<String, INDArray> placeholders, String... variables) {
        if (sd.getFunction("grad") != null) return sd.calculateGradients(placeholders, variables);
        java.io.PrintStream out = System.out;
        System.setOut(new java.io.PrintStream(java.io.OutputStream.nullOutputStream()));
        try {
            return sd.calculateGradients(placeholders, variables);
        } finally {
            System.setOut(out);
        }
    }

    public static final String CLASS_WEIGHTS = "class_score_weights";
    public static final String CLASS_LOSS = "class_score_loss";

    /** Number of class scores (the logits' width); throws a clear error when the network has no output layer. */
    public synchronized int classCount() {
        if (logits == null) {
            throw new org.atlas4j.util.UserError("the model has no pre-softmax class scores (no OutputLayer or LossLayer); "
                    + "class attribution needs them");
        }
        if (classCount < 0) {
            long[] s = new long[inputShape.length + 1];
            s[0] = 1;
            for (int k = 0; k < inputShape.length; k++) s[k + 1] = inputShape[k];
            Map<String, INDArray> out = forward(Nd4j.zeros(sd.getVariable(logits).dataType(), s), logits);
            classCount = (int) out.get(logits).size(1);
            free(out.values());
        }
        return classCount;
    }

    /**
     * Gradient of Σ_i Σ_c logits[i,c]·weights[i,c] with respect to {@code wrt} (the input placeholder or any
     * activation). Samples do not interact at inference, so one-hot rows give every sample its own ∂logit_c/∂wrt in
     * one backward pass.
     */
    public INDArray classScoreGradient(INDArray input, INDArray weights, String wrt) {
        int classes = classCount();
        if (!sd.hasVariable(CLASS_LOSS)) {
            var w = sd.placeHolder(CLASS_WEIGHTS, sd.getVariable(logits).dataType(), -1, classes);
            sd.sum(CLASS_LOSS, sd.getVariable(logits).mul(w));
        }
        // setLossVariables discards SameDiff's cached gradient graph: only call it when the loss really changes
        if (!sd.getLossVariables().equals(List.of(CLASS_LOSS))) sd.setLossVariables(CLASS_LOSS);
        Map<String, INDArray> ph = new HashMap<>();
        ph.put(this.input, input);
        ph.put(CLASS_WEIGHTS, weights.castTo(sd.getVariable(logits).dataType()));
        return gradients(ph, wrt).get(wrt);
    }

    void setTailFactory(java.util.function.BiFunction<Node, int[], NetGraph> factory) {
        this.tailFactory = factory;
    }

    /**
     * The part of the network after {@code layerName}, fed with that layer's activations (cached); null when the
     * model kind cannot be cut there (then use the whole graph).
     */
    public synchronized NetGraph tailAfter(String layerName) {
        if (tailFactory == null) return null;
        return tails.computeIfAbsent(layerName, n -> {
            long[] sh = shape(n).shape();
            int[] in = new int[sh.length];
            for (int k = 0; k < sh.length; k++) in[k] = (int) sh[k];
            try {
                return tailFactory.apply(layer(n), in);
            } catch (SameDiffConverter.UnsupportedLayerException e) {
                return null; // e.g. nothing with weights after the layer
            }
        });
    }
}
