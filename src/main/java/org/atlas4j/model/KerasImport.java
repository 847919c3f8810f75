package org.atlas4j.model;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.atlas4j.util.UserError;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.modelimport.keras.Hdf5Archive;
import org.deeplearning4j.nn.modelimport.keras.KerasLayer;
import org.deeplearning4j.nn.modelimport.keras.KerasModel;
import org.deeplearning4j.nn.modelimport.keras.KerasSequentialModel;
import org.deeplearning4j.nn.modelimport.keras.utils.KerasModelBuilder;
import org.deeplearning4j.nn.modelimport.keras.utils.KerasModelUtils;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Keras models into DL4J: full-model {@code .h5} files and TensorFlow.js layers models ({@code model.json} + binary
 * weight shards, float32 or uint8/uint16/float16-quantized), both through DL4J's Keras importer. The Keras JSON is
 * normalized first: DL4J reads float fields with a cast that fails on the whole numbers JS writes without ".0"
 * (ReLU {@code max_value: 6}), and it refuses a {@code keras_version} that does not start with a digit (TF.js writes
 * "tfjs-layers 4.x").
 */
public final class KerasImport {
    /** Keras config fields that hold floats; a whole number there becomes a double before DL4J sees it. */
    static final Set<String> FLOAT_FIELDS = Set.of("max_value", "negative_slope", "threshold", "alpha", "theta", "momentum",
            "epsilon", "rate", "l1", "l2", "stddev", "mean", "minval", "maxval", "scale", "gain", "dropout",
            "recurrent_dropout", "value", "factor", "height_factor", "width_factor");

    private KerasImport() {
    }

    /** An imported network with the input shape its Keras config declares ([C,H,W]; Keras images are NHWC). */
    public record Imported(Model network, int[] inputShape) {
    }

    /** [C,H,W] from the first batch_input_shape [null, H, W, C] (channels_last), or null when there is none. */
    static int[] inputShapeOf(String json) {
        try {
            JsonNode found = org.atlas4j.io.Json.MAPPER.readTree(json).findValue("batch_input_shape");
            if (found == null || found.size() != 4) return null;
            int h = found.get(1).asInt();
            int w = found.get(2).asInt();
            int c = found.get(3).asInt();
            if (h <= 0 || w <= 0 || c <= 0) return null; // variable-size input: the card or --input-shape must say
            return new int[] {c, h, w};
        } catch (IOException e) {
            return null;
        }
    }

    /** HDF5's signature sits at byte 0, 512, 1024, 2048… (a user block may precede it). */
    static boolean isHdf5(Path file) {
        byte[] sig = {(byte) 0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
        try (var ch = java.nio.channels.FileChannel.open(file)) {
            long size = ch.size();
            for (long at = 0; at + sig.length <= size; at = at == 0 ? 512 : at * 2) {
                java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(sig.length);
                ch.read(b, at);
                if (java.util.Arrays.equals(b.array(), sig)) return true;
            }
            return false;
        } catch (IOException e) {
            return true; // let the HDF5 reader report it
        }
    }

    /** The imported network (ComputationGraph for functional models, MultiLayerNetwork for Sequential ones). */
    public static Imported importH5(Path file) {
        // checked here: libhdf5 prints a screen of native diagnostics on stderr before failing on a non-HDF5 file
        if (!isHdf5(file)) {
            throw new UserError(file + " is not an HDF5 file (no HDF5 signature): a Keras model must be saved with "
                    + "model.save('x.h5'); for other formats pass --format dl4j|tfjs|onnx or the file's own extension");
        }
        quietHdf5();
        String json;
        try (Hdf5Archive archive = new Hdf5Archive(file.toString())) {
            if (!archive.hasAttribute("model_config")) {
                throw new UserError(file + " has no model_config attribute: it holds weights only, not a full Keras model. "
                        + "Save it with model.save('x.h5') (Keras 2 HDF5 format)");
            }
            json = archive.readAttributeAsJson("model_config");
        } catch (UserError e) {
            throw e;
        } catch (Exception | UnsatisfiedLinkError e) {
            // the signature is there (checked above), so a file HDF5 cannot open is damaged, typically cut short
            String why = String.valueOf(e.getMessage());
            throw new UserError("cannot read Keras HDF5 file " + file + ": " + (why.contains("H5Fopen")
                    ? "it is truncated or corrupt (HDF5 cannot open it). Copy the file again or save the model again "
                            + "with model.save('x.h5')" : why), e);
        }
        String fixed = normalize(json, false);
        try {
            KerasModelBuilder b = new KerasModel().modelBuilder().modelHdf5Filename(file.toString()).modelJson(fixed)
                    .enforceTrainingConfig(false);
            return new Imported(build(b, isSequential(fixed), null, file), inputShapeOf(fixed));
        } catch (UserError e) {
            throw e;
        } catch (Exception e) {
            throw importError(file, e);
        }
    }

    /**
     * Turns off libhdf5's automatic error printing: on a damaged file it writes a screen of "HDF5-DIAG" lines to the
     * process's stderr before the Java exception our one-line message comes from.
     */
    static void quietHdf5() {
        try {
            org.bytedeco.hdf5.global.hdf5.H5Eset_auto2(org.bytedeco.hdf5.global.hdf5.H5E_DEFAULT(), null, null);
        } catch (Throwable e) {
            // the native library is missing or different: the diagnostics stay, the error is still reported
        }
    }

    /** A TF.js layers model: {@code model.json} (or its folder) with its weight shards beside it. */
    public static Imported importTfjs(Path modelJson) {
        JsonNode root;
        try {
            root = org.atlas4j.io.Json.MAPPER.readTree(modelJson.toFile());
        } catch (IOException e) {
            throw new UserError("cannot read TF.js model " + modelJson + ": " + e.getMessage());
        }
        if (!root.has("modelTopology") || !root.has("weightsManifest")) {
            throw new UserError(modelJson + " is not a TF.js layers model (needs modelTopology and weightsManifest; "
                    + "graph models from tf.saved_model conversions are not supported — convert with "
                    + "--output_format=tfjs_layers_model)");
        }
        JsonNode topology = root.get("modelTopology");
        // TF.js nests the Keras JSON under model_config in some versions
        if (topology.has("model_config")) topology = topology.get("model_config");
        String fixed = normalize(topology.toString(), true);
        Map<String, Map<String, INDArray>> weights = readWeights(modelJson, root.get("weightsManifest"));
        try {
            KerasModelBuilder b = new KerasModel().modelBuilder().modelJson(fixed).enforceTrainingConfig(false);
            return new Imported(build(b, isSequential(fixed), weights, modelJson), inputShapeOf(fixed));
        } catch (UserError e) {
            throw e;
        } catch (Exception e) {
            throw importError(modelJson, e);
        }
    }

    private static Model build(KerasModelBuilder b, boolean sequential, Map<String, Map<String, INDArray>> weights, Path file)
            throws Exception {
        KerasModel km = sequential ? b.buildSequential() : b.buildModel();
        if (weights != null) {
            Map<String, KerasLayer> layers = km.getLayers();
            for (var e : weights.entrySet()) {
                KerasLayer layer = layers.get(e.getKey());
                if (layer == null) {
                    throw new UserError("the weights name a layer '" + e.getKey() + "' that the topology does not have; "
                            + "layers: " + layers.keySet());
                }
                layer.setWeights(e.getValue());
            }
            for (var e : layers.entrySet()) {
                if (e.getValue().getNumParams() > 0 && !weights.containsKey(e.getKey())) {
                    throw new UserError("no weights for layer '" + e.getKey() + "' in the weights manifest");
                }
            }
        }
        Model net = sequential ? ((KerasSequentialModel) km).getMultiLayerNetwork(false) : km.getComputationGraph(false);
        checkWeightShapes(net, km.getLayers(), file);
        KerasModelUtils.copyWeightsToModel(net, km.getLayers());
        return net;
    }

    /**
     * Refuses weights whose size the layer's config does not give: DL4J's copy assigns them silently (a Dense kernel
     * of 12×5 into a 12×4 layer loaded without a word). The Keras layers hold their weights under DL4J's parameter
     * names already, so each is compared with the built network's parameter of that name.
     */
    static void checkWeightShapes(Model net, Map<String, KerasLayer> layers, Path file) {
        for (var e : layers.entrySet()) {
            Map<String, INDArray> w = e.getValue().getWeights();
            if (w == null || w.isEmpty()) continue;
            org.deeplearning4j.nn.api.Layer l;
            try {
                l = net instanceof org.deeplearning4j.nn.graph.ComputationGraph cg ? cg.getLayer(e.getKey())
                        : ((org.deeplearning4j.nn.multilayer.MultiLayerNetwork) net).getLayer(e.getKey());
            } catch (RuntimeException notALayer) {
                continue;
            }
            if (l == null) continue;
            for (var p : w.entrySet()) {
                INDArray want = l.paramTable().get(p.getKey());
                if (want != null && want.length() != p.getValue().length()) {
                    throw new UserError(file + ", layer '" + e.getKey() + "': its weight " + p.getKey() + " has shape "
                            + java.util.Arrays.toString(p.getValue().shape()) + " (" + p.getValue().length()
                            + " values) but the layer's config makes it " + java.util.Arrays.toString(want.shape()) + " ("
                            + want.length() + " values): the weights and the model config do not belong together. Save "
                            + "the model again in one piece (model.save, or tfjs.converters for TF.js)");
                }
            }
        }
    }

    private static UserError importError(Path file, Exception e) {
        String msg = e.getMessage() == null ? e.toString() : e.getMessage();
        return new UserError("DL4J's Keras importer cannot import " + file + ": " + msg
                + " (supported: see deeplearning4j-modelimport's Keras layer list; common Keras-application blocks "
                + "such as Conv2D, DepthwiseConv2D, SeparableConv2D, BatchNormalization, ReLU, Add, Concatenate, pooling "
                + "and Dense work)", e);
    }

    static boolean isSequential(String json) {
        try {
            return "Sequential".equals(org.atlas4j.io.Json.MAPPER.readTree(json).path("class_name").asText());
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * Makes a Keras model JSON digestible for DL4J: whole numbers in float fields become doubles, a non-numeric
     * keras_version (TF.js) becomes "2.2.4" with backend "tensorflow", and Keras 2.4+'s "Functional" becomes "Model".
     */
    public static String normalize(String json, boolean fromTfjs) {
        try {
            JsonNode node = org.atlas4j.io.Json.MAPPER.readTree(json);
            fix(node);
            if (node instanceof ObjectNode o) {
                String v = o.path("keras_version").asText("");
                if (v.isEmpty() || !Character.isDigit(v.charAt(0))) o.put("keras_version", "2.2.4");
                if (fromTfjs || !o.has("backend")) o.put("backend", "tensorflow");
                if ("Functional".equals(o.path("class_name").asText())) o.put("class_name", "Model");
            }
            return org.atlas4j.io.Json.MAPPER.writeValueAsString(node);
        } catch (IOException e) {
            throw new UserError("the Keras model config is not valid JSON: " + e.getMessage());
        }
    }

    private static void fix(JsonNode node) {
        if (node instanceof ObjectNode o) {
            // TF.js omits SeparableConv2D's depth_multiplier (default 1); DL4J requires it
            if ("SeparableConv2D".equals(o.path("class_name").asText()) && o.get("config") instanceof ObjectNode c
                    && !c.has("depth_multiplier")) {
                c.put("depth_multiplier", 1);
            }
            List<String> names = new ArrayList<>();
            o.fieldNames().forEachRemaining(names::add);
            for (String k : names) {
                JsonNode v = o.get(k);
                if (FLOAT_FIELDS.contains(k) && v.isIntegralNumber()) {
                    o.put(k, v.asDouble());
                } else {
                    fix(v);
                }
            }
        } else if (node instanceof ArrayNode a) {
            for (JsonNode v : a) fix(v);
        }
    }

    /** Reads every weight of the manifest: layer name → (Keras parameter name → array in Keras layout). */
    static Map<String, Map<String, INDArray>> readWeights(Path modelJson, JsonNode manifest) {
        Map<String, Map<String, INDArray>> out = new HashMap<>();
        Path dir = modelJson.toAbsolutePath().getParent();
        for (JsonNode group : manifest) {
            ByteBuffer buf = concat(dir, group.get("paths"));
            for (JsonNode w : group.get("weights")) {
                String name = w.get("name").asText();
                long[] shape = new long[w.get("shape").size()];
                long count = 1;
                for (int i = 0; i < shape.length; i++) {
                    shape[i] = w.get("shape").get(i).asLong();
                    count *= shape[i];
                }
                float[] values = new float[Math.toIntExact(count)];
                JsonNode q = w.get("quantization");
                String dtype = q != null ? q.path("dtype").asText() : w.path("dtype").asText("float32");
                try {
                    readValues(buf, dtype, q, values, name);
                } catch (java.nio.BufferUnderflowException e) {
                    throw new UserError("TF.js weight shards " + group.get("paths") + " of " + modelJson + " are shorter "
                            + "than the manifest says (at " + name + "): a shard is truncated. Copy the shards again with model.json, or convert the model "
                            + "again");
                }
                int slash = name.lastIndexOf('/');
                if (slash < 0) throw new UserError("TF.js weight name '" + name + "' has no layer prefix (layer/param)");
                String layer = name.substring(0, slash);
                // nested names (e.g. "block/conv/kernel") belong to the layer named by the first part the topology has
                String param = name.substring(slash + 1);
                out.computeIfAbsent(layer, k -> new HashMap<>()).put(param,
                        Nd4j.create(values, shape, 'c').castTo(DataType.FLOAT));
            }
            if (buf.hasRemaining()) {
                throw new UserError("TF.js weight shards of " + modelJson + " hold " + buf.remaining()
                        + " bytes more than the manifest describes: manifest and shards do not match");
            }
        }
        return out;
    }

    private static void readValues(ByteBuffer buf, String dtype, JsonNode q, float[] values, String name) {
        switch (dtype) {
            case "float32" -> {
                for (int i = 0; i < values.length; i++) values[i] = buf.getFloat();
            }
            case "uint8", "uint16" -> {
                // affine quantization as tfjs-converter writes it: value = code · scale + min
                if (q == null || !q.has("scale") || !q.has("min")) {
                    throw new UserError("TF.js weight " + name + " is " + dtype + " without quantization scale and min");
                }
                double scale = q.get("scale").asDouble();
                double min = q.get("min").asDouble();
                boolean u8 = dtype.equals("uint8");
                for (int i = 0; i < values.length; i++) {
                    int code = u8 ? Byte.toUnsignedInt(buf.get()) : Short.toUnsignedInt(buf.getShort());
                    values[i] = (float) (code * scale + min);
                }
            }
            case "float16" -> {
                for (int i = 0; i < values.length; i++) values[i] = Float.float16ToFloat(buf.getShort());
            }
            default -> throw new UserError("TF.js weight " + name + " has dtype '" + dtype + "'; supported: float32, and "
                    + "uint8, uint16, float16 quantization");
        }
    }

    private static ByteBuffer concat(Path dir, JsonNode paths) {
        List<byte[]> parts = new ArrayList<>();
        int total = 0;
        for (JsonNode p : paths) {
            Path f = dir.resolve(p.asText());
            try {
                byte[] b = Files.readAllBytes(f);
                parts.add(b);
                total += b.length;
            } catch (IOException e) {
                throw new UserError("TF.js weight shard " + f + " is missing or unreadable: " + e.getMessage());
            }
        }
        ByteBuffer buf = ByteBuffer.allocate(total).order(ByteOrder.LITTLE_ENDIAN);
        for (byte[] b : parts) buf.put(b);
        buf.flip();
        return buf;
    }
}
