package org.atlas4j.model;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import org.atlas4j.util.UserError;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import onnx.Onnx;

/**
 * An ONNX model (a torchvision-style classifier export) read with the ONNX protobuf classes nd4j-api already ships,
 * translated by {@link OnnxTranslator} into the same kind of inference-mode SameDiff graph {@link SameDiffConverter}
 * builds from DL4J. Why our own translator: samediff-import-onnx M2.1 adds ~100 jars and mistranslates raw torch
 * exports (Gemm bias, ceil-mode pooling, Pad, Clip gradients); the dozen op types of classification nets are a few
 * hundred lines here.
 *
 * <p>Layer names: torch ≥ 1.13 names nodes by module scope ({@code /layer3/layer3.5/relu_2/Relu}). Each scope becomes
 * one layer named like PyTorch's {@code named_modules} ({@code layer3}, {@code layer3.5}, {@code layer3.5.relu_2}),
 * holding the output of the last node inside it. Raw node names and tensor names are accepted too (not listed).
 */
public final class OnnxModel {
    /** Op types the translator handles (for error messages). */
    public static final List<String> SUPPORTED = List.of("Conv", "BatchNormalization", "Relu", "Clip", "LeakyRelu",
            "Sigmoid", "Tanh", "HardSigmoid", "HardSwish", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool",
            "ReduceMean", "Add", "Sub", "Mul", "Div", "Concat", "Flatten", "Reshape", "Gemm", "MatMul", "Dropout",
            "Identity", "Constant", "Pad", "Softmax");

    private final String label;
    private final Onnx.GraphProto graph;
    private final int opset;
    private final Map<String, Onnx.TensorProto> initializers = new HashMap<>();
    private final String input;
    private final long[] inputDims;
    private final Map<String, List<Onnx.NodeProto>> consumers = new HashMap<>();
    private final Map<String, Onnx.NodeProto> producers = new HashMap<>();
    /** Listed layer name → the ONNX tensor it shows, in graph order. */
    private final Map<String, String> layers = new LinkedHashMap<>();
    private final Map<String, Onnx.NodeProto> layerLastNode = new HashMap<>();
    /** Raw node names and tensor names → tensor. */
    private final Map<String, String> aliases = new LinkedHashMap<>();
    /** Nodes holding weights (Conv, Gemm, MatMul, BatchNormalization), by module path, in graph order. */
    private final Map<String, Onnx.NodeProto> weighted = new LinkedHashMap<>();
    /** Each weighted node's enclosing module scopes, outermost first (empty for unscoped exports). */
    private final Map<String, List<String>> weightedScopes = new HashMap<>();

    private OnnxModel(Onnx.ModelProto model, String label) {
        this.label = label;
        this.graph = model.getGraph();
        int op = 0;
        for (var o : model.getOpsetImportList()) {
            if (o.getDomain().isEmpty() || o.getDomain().equals("ai.onnx")) op = (int) o.getVersion();
        }
        this.opset = op == 0 ? 13 : op;
        for (var t : graph.getInitializerList()) initializers.put(t.getName(), t);
        List<Onnx.ValueInfoProto> real = graph.getInputList().stream().filter(v -> !initializers.containsKey(v.getName())).toList();
        if (real.size() != 1) {
            throw new UserError("ONNX model " + label + " has " + real.size() + " inputs ("
                    + real.stream().map(Onnx.ValueInfoProto::getName).collect(Collectors.joining(", "))
                    + "); only single-input image classifiers are supported");
        }
        if (graph.getOutputCount() < 1) throw new UserError("ONNX model " + label + " declares no output");
        this.input = real.get(0).getName();
        var dims = real.get(0).getType().getTensorType().getShape().getDimList();
        this.inputDims = dims.stream().mapToLong(d -> d.hasDimValue() ? d.getDimValue() : -1).toArray();
        for (var n : graph.getNodeList()) {
            for (String i : n.getInputList()) consumers.computeIfAbsent(i, k -> new ArrayList<>()).add(n);
            for (String o : n.getOutputList()) producers.put(o, n);
        }
        nameLayers();
    }

    /** Reads a .onnx file; a clear error when it is not one. */
    public static OnnxModel read(Path file) {
        if (!Files.isReadable(file) || Files.isDirectory(file)) throw new UserError("ONNX model file is not a readable file: " + file);
        Onnx.ModelProto m;
        try (InputStream in = new java.io.BufferedInputStream(Files.newInputStream(file), 1 << 20)) {
            m = Onnx.ModelProto.parseFrom(in);
        } catch (org.nd4j.shade.protobuf.InvalidProtocolBufferException e) {
            String why = String.valueOf(e.getMessage());
            boolean truncated = why.contains("truncated") || why.contains("ended unexpectedly");
            throw new UserError("cannot read ONNX model " + file + ": " + (truncated ? "the file is truncated (it ends in "
                    + "the middle of a field); copy it again or export it again" : "it is corrupt or not an .onnx file ("
                    + why.lines().findFirst().orElse("") + "); valid: one .onnx file as torch.onnx.export writes it "
                    + "(external-data models must be saved as one file)"));
        } catch (IOException e) {
            throw new UserError("cannot read ONNX model " + file + ": " + e.getMessage()
                    + " (is it an .onnx file? external-data models must be saved as one file)");
        }
        if (!m.hasGraph() || m.getGraph().getNodeCount() == 0) {
            throw new UserError("ONNX model " + file + " has no graph nodes (is it an .onnx file?)");
        }
        ModelChecks.onnxInitializers(m.getGraph(), file.toString());
        return new OnnxModel(m, file.toString());
    }

    public static OnnxModel of(Onnx.ModelProto model) {
        return new OnnxModel(model, model.getGraph().getName().isEmpty() ? "(in memory)" : model.getGraph().getName());
    }

    Onnx.GraphProto graph() { return graph; }
    int opset() { return opset; }
    String inputName() { return input; }
    String label() { return label; }
    Onnx.TensorProto initializer(String name) { return initializers.get(name); }
    List<Onnx.NodeProto> consumers(String tensor) { return consumers.getOrDefault(tensor, List.of()); }
    Onnx.NodeProto producer(String tensor) { return producers.get(tensor); }

    /** The batch size of the export (reshape targets are written for it); 1 when symbolic. */
    long exportBatch() {
        return inputDims.length > 0 && inputDims[0] > 0 ? inputDims[0] : 1;
    }

    /** [C, H, W] when the model fixes them, else null. */
    public int[] inputShape() {
        if (inputDims.length != 4 || inputDims[1] <= 0 || inputDims[2] <= 0 || inputDims[3] <= 0) return null;
        return new int[] {(int) inputDims[1], (int) inputDims[2], (int) inputDims[3]};
    }

    /** The inference graph for NCHW input of per-sample {@code shape} [C,H,W]. */
    public NetGraph toNetGraph(int[] shape, DataType dataType) {
        return toNetGraph(shape, dataType, Map.of());
    }

    private NetGraph toNetGraph(int[] shape, DataType dataType, Map<String, INDArray> overrides) {
        long[] s = Arrays.stream(shape).asLongStream().toArray();
        NetGraph g = new OnnxTranslator(this, dataType, overrides).translate(input, s, false);
        g.setTailFactory((node, in) -> {
            String tensor = tensorOf(node.name());
            return new OnnxTranslator(this, dataType, overrides).translate(tensor,
                    Arrays.stream(in).asLongStream().toArray(), true);
        });
        return g;
    }

    // ---- layer names ----

    private void nameLayers() {
        Map<String, Integer> lastIndex = new HashMap<>();
        List<Onnx.NodeProto> nodes = graph.getNodeList();
        for (int i = 0; i < nodes.size(); i++) {
            Onnx.NodeProto n = nodes.get(i);
            if (n.getOpType().equals("Constant") || n.getOutputCount() == 0) continue;
            String out = n.getOutput(0);
            for (String o : n.getOutputList()) aliases.put(o, o);
            List<String> names = new ArrayList<>();
            String raw = n.getName();
            if (raw.startsWith("/")) {
                aliases.put(raw, out);
                names.addAll(scopes(raw));
            } else {
                names.add(raw.isEmpty() ? out : raw);
            }
            for (String s : names.reversed()) { // inner scopes before the enclosing ones that end at the same node
                layers.remove(s); // re-inserted: the order follows each scope's last node
                layers.put(s, out);
                layerLastNode.put(s, n);
                lastIndex.put(s, i);
            }
            if (n.getOpType().equals("Conv") || n.getOpType().equals("Gemm") || n.getOpType().equals("MatMul")
                    || n.getOpType().equals("BatchNormalization")) {
                if (n.getInputCount() > 1 && constantLike(n.getInput(1))) {
                    String base = names.isEmpty() ? out : names.get(names.size() - 1);
                    String key = base;
                    for (int k = 2; weighted.containsKey(key); k++) key = base + "#" + k;
                    weighted.put(key, n);
                    weightedScopes.put(key, raw.startsWith("/") ? scopes(raw) : List.of());
                }
            }
        }
    }

    private boolean constantLike(String tensor) {
        if (initializers.containsKey(tensor)) return true;
        Onnx.NodeProto p = producers.get(tensor);
        return p != null && p.getOpType().equals("Constant");
    }

    /** "/features/features.13/conv/conv.2/Conv" → features, features.13, features.13.conv, features.13.conv.2. */
    static List<String> scopes(String nodeName) {
        String[] seg = Arrays.stream(nodeName.split("/")).filter(x -> !x.isEmpty()).toArray(String[]::new);
        List<String> out = new ArrayList<>();
        String cur = "";
        String prev = null;
        for (int k = 0; k < seg.length - 1; k++) {
            String s = seg[k];
            if (prev == null) cur = s;
            else if (s.startsWith(prev + ".")) cur = cur + s.substring(prev.length());
            else cur = cur + "." + s;
            prev = s;
            out.add(cur);
        }
        return out;
    }

    /** The tensor a layer name (listed, raw node name or tensor name) stands for, or null. */
    public String tensorOf(String layer) {
        String t = layers.get(layer);
        return t != null ? t : aliases.get(layer);
    }

    /** Listed layer names → the tensor each shows, in graph order. */
    Map<String, String> layerTensors() {
        return layers;
    }

    String layerType(String layer) {
        Onnx.NodeProto n = layerLastNode.get(layer);
        if (n != null) return n.getOpType();
        Onnx.NodeProto p = producers.get(aliases.get(layer));
        return p == null ? "input" : p.getOpType();
    }

    Map<String, String> aliasTensors() {
        return aliases;
    }

    // ---- randomization (sanity checks) ----

    /** Names of the nodes that hold weights, output side first. */
    public List<String> parameterizedLayersTopDown() {
        List<String> names = new ArrayList<>(weighted.keySet());
        java.util.Collections.reverse(names);
        return names;
    }

    /** A run of consecutive weighted layers (top-down) under one module scope: one step of a block-wise cascade. */
    public record Block(String name, int layers) {
    }

    /**
     * The weighted layers grouped top-down into module blocks (GoogLeNet's inception4c, ResNet's layer3.2,
     * MobileNetV2's features.13): the deepest scope level that gives at most {@code maxBlocks} blocks, so a cascade
     * of randomizations over a 50–150-layer network has one step per block, as Adebayo et al. ran Inception v3.
     * Falls back to single layers when the export has no module scopes or is already small.
     */
    public List<Block> parameterizedBlocksTopDown(int maxBlocks) {
        List<String> top = parameterizedLayersTopDown();
        List<Block> best = null;
        for (int depth = 1; depth <= 4; depth++) {
            List<Block> blocks = new ArrayList<>();
            String cur = null;
            int count = 0;
            for (String k : top) {
                List<String> sc = weightedScopes.getOrDefault(k, List.of());
                String g = sc.isEmpty() ? k : sc.get(Math.min(depth, sc.size()) - 1);
                if (!g.equals(cur)) {
                    if (cur != null) blocks.add(new Block(cur, count));
                    cur = g;
                    count = 0;
                }
                count++;
            }
            if (cur != null) blocks.add(new Block(cur, count));
            if (blocks.size() > maxBlocks) break;
            if (best == null || blocks.size() > best.size()) best = blocks; // same blocks deeper: keep the shorter names
        }
        if (best == null || top.size() <= maxBlocks) {
            best = top.stream().map(k -> new Block(k, 1)).toList();
        }
        return best;
    }

    /** A randomized copy: its graph and the weights that replaced the trained ones (by initializer name). */
    public record Randomized(NetGraph graph, Map<String, INDArray> overrides) {
    }

    /**
     * The graph with its {@code count} topmost weighted nodes re-initialized as PyTorch initializes a fresh module
     * (weights and biases U(−1/√fan_in, 1/√fan_in); BatchNormalization to the identity), each node from its own
     * seeded generator so step s re-draws the same weights step s−1 did plus one more node.
     */
    public Randomized randomizeTop(int count, long seed, int[] shape, DataType dataType) {
        List<String> top = parameterizedLayersTopDown();
        Map<String, INDArray> over = new HashMap<>();
        for (int s = 0; s < Math.min(count, top.size()); s++) {
            Onnx.NodeProto n = weighted.get(top.get(s));
            java.util.SplittableRandom r = new java.util.SplittableRandom(seed * 1_000_003L + s);
            INDArray w = new OnnxTranslator(this, DataType.FLOAT, Map.of()).constantOrNull(n.getInput(1));
            if (w == null) continue; // weights computed by other nodes: nothing to re-draw
            if (n.getOpType().equals("BatchNormalization")) {
                long c = w.length();
                over.put(n.getInput(1), Nd4j.ones(DataType.FLOAT, c));
                over.put(n.getInput(2), Nd4j.zeros(DataType.FLOAT, c));
                over.put(n.getInput(3), Nd4j.zeros(DataType.FLOAT, c));
                over.put(n.getInput(4), Nd4j.ones(DataType.FLOAT, c));
                continue;
            }
            long fanIn;
            if (n.getOpType().equals("Conv")) fanIn = w.length() / w.size(0);
            else if (n.getOpType().equals("Gemm") && OnnxTranslator.attrInt(n, "transB", 0) == 1) fanIn = w.size(1);
            else fanIn = w.size(0);
            double bound = 1 / Math.sqrt(Math.max(1, fanIn));
            over.put(n.getInput(1), uniform(r, w.shape(), bound));
            if (n.getInputCount() > 2 && !n.getInput(2).isEmpty()) {
                INDArray b = new OnnxTranslator(this, DataType.FLOAT, Map.of()).constantOrNull(n.getInput(2));
                if (b != null) over.put(n.getInput(2), uniform(r, b.shape(), bound));
            }
        }
        return new Randomized(toNetGraph(shape, dataType, over), over);
    }

    private static INDArray uniform(java.util.SplittableRandom r, long[] shape, double bound) {
        long n = 1;
        for (long d : shape) n *= d;
        float[] v = new float[(int) n];
        for (int i = 0; i < v.length; i++) v[i] = (float) ((r.nextDouble() * 2 - 1) * bound);
        return Nd4j.create(v, shape, 'c');
    }

    // ---- CAM head ----

    /** The dense weights after a layer's global average pooling: {@code weights[k * classes + c]}. */
    public record DenseHead(int channels, int classes, float[] weights) {
    }

    /**
     * The class weights CAM needs when {@code layer} feeds global average pooling, then (flatten/identity/dropout and)
     * one Gemm or MatMul whose output is the class score.
     *
     * @throws SameDiffConverter.UnsupportedLayerException naming what follows the layer instead
     */
    public DenseHead denseHead(String layer, Map<String, INDArray> overrides) {
        String t = tensorOf(layer);
        if (t == null) throw new SameDiffConverter.UnsupportedLayerException("there is no layer named '" + layer + "'");
        List<String> seen = new ArrayList<>();
        Onnx.NodeProto gap = single(t, seen);
        boolean gapOk = gap != null && OnnxTranslator.isGlobalAverage(gap);
        if (!gapOk) throw new SameDiffConverter.UnsupportedLayerException("after it the model has " + describe(seen));
        String cur = gap.getOutput(0);
        Onnx.NodeProto next = single(cur, seen);
        while (next != null && List.of("Flatten", "Reshape", "Identity", "Dropout", "Squeeze").contains(next.getOpType())) {
            cur = next.getOutput(0);
            next = single(cur, seen);
        }
        if (next == null || !(next.getOpType().equals("Gemm") || next.getOpType().equals("MatMul"))
                || OnnxTranslator.attrInt(next, "transA", 0) != 0) {
            throw new SameDiffConverter.UnsupportedLayerException("after it the model has " + describe(seen));
        }
        INDArray b = new OnnxTranslator(this, DataType.DOUBLE, overrides).constantOrNull(next.getInput(1));
        if (b == null || b.rank() != 2) {
            throw new SameDiffConverter.UnsupportedLayerException("its dense layer '" + next.getName() + "' has no constant weights");
        }
        String logits = logitsTensor();
        String scores = next.getOutput(0);
        if (!scores.equals(logits)) {
            Onnx.NodeProto add = single(scores, seen);
            if (!(next.getOpType().equals("MatMul") && add != null && add.getOpType().equals("Add")
                    && add.getOutput(0).equals(logits))) {
                throw new SameDiffConverter.UnsupportedLayerException("its dense layer's output is not the class score "
                        + "(after it: " + describe(seen) + ")");
            }
        }
        INDArray w = b.castTo(DataType.DOUBLE);
        if (OnnxTranslator.attrInt(next, "transB", 0) == 1) w = w.transpose();
        w = w.mul(OnnxTranslator.attrFloat(next, "alpha", 1.0)).castTo(DataType.FLOAT).dup('c');
        return new DenseHead((int) w.size(0), (int) w.size(1), w.data().asFloat());
    }

    private Onnx.NodeProto single(String tensor, List<String> seen) {
        List<Onnx.NodeProto> c = consumers(tensor);
        if (c.size() != 1) {
            seen.add(c.isEmpty() ? "nothing" : c.size() + " consumers ("
                    + c.stream().map(OnnxModel::describe).collect(Collectors.joining(", ")) + ")");
            return null;
        }
        seen.add(describe(c.get(0)));
        return c.get(0);
    }

    private static String describe(Onnx.NodeProto n) {
        return n.getOpType() + (n.getName().isEmpty() ? "" : " '" + n.getName() + "'");
    }

    private static String describe(List<String> seen) {
        return String.join(" → ", seen);
    }

    /** The pre-softmax class scores: the input of a final Softmax, else the graph output. */
    String logitsTensor() {
        String out = graph.getOutput(0).getName();
        Onnx.NodeProto p = producers.get(out);
        return p != null && p.getOpType().equals("Softmax") ? p.getInput(0) : out;
    }
}
