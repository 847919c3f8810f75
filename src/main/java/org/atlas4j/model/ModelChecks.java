package org.atlas4j.model;

import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.atlas4j.util.Finite;
import org.atlas4j.util.UserError;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import onnx.Onnx;

/**
 * Load-time checks of a model file and its card, so a broken model is one clear line (exit 2) before any work
 * instead of a native crash, a stack trace or NaN in the outputs: the input shape is possible, the first layer takes
 * that many channels, every weight is finite, and one blank image goes through the graph.
 */
final class ModelChecks {
    /** Largest input side accepted: the biggest classification CNNs take 600 px; 4,096 px already needs GBs per image. */
    static final int MAX_SIDE = 4096;
    /** Image files and IDX data give 1 (grey) or 3 (RGB) channels; 4 leaves room for an alpha-aware model. */
    static final int MAX_CHANNELS = 4;

    private ModelChecks() {
    }

    /** Refuses an impossible [C, H, W]: wrong length, a size below 1, more than 4 channels or a side over 4,096. */
    static void inputShape(int[] shape, String source) {
        if (shape == null) return;
        String given = java.util.Arrays.toString(shape);
        if (shape.length != 3) {
            throw new UserError(source + ": inputShape " + given + " must be three numbers [C, H, W] (channels, height, "
                    + "width), e.g. [3, 224, 224]");
        }
        if (shape[0] < 1 || shape[0] > MAX_CHANNELS) {
            throw new UserError(source + ": inputShape " + given + " has " + shape[0] + " channels; valid: 1 (grey) or 3 "
                    + "(RGB), at most " + MAX_CHANNELS + ". Give the channel count the model's first layer takes");
        }
        if (shape[1] < 1 || shape[2] < 1 || shape[1] > MAX_SIDE || shape[2] > MAX_SIDE) {
            throw new UserError(source + ": inputShape " + given + " has height " + shape[1] + " and width " + shape[2]
                    + "; valid: 1 to " + MAX_SIDE + " pixels per side. Give the size the model was trained at (e.g. 224)");
        }
    }

    /** The channels the network's first convolution takes, or -1 when its first layer is not a convolution. */
    static int firstConvChannels(Model net) {
        if (net instanceof MultiLayerNetwork mln) {
            var conf = mln.getLayerWiseConfigurations();
            if (conf.getConfs().isEmpty()) return -1;
            return conf.getConf(0).getLayer() instanceof ConvolutionLayer c ? (int) c.getNIn() : -1;
        }
        if (net instanceof ComputationGraph cg) {
            var conf = cg.getConfiguration();
            List<String> inputs = conf.getNetworkInputs();
            for (Map.Entry<String, List<String>> e : conf.getVertexInputs().entrySet()) {
                if (e.getValue().stream().noneMatch(inputs::contains)) continue;
                if (conf.getVertices().get(e.getKey()) instanceof org.deeplearning4j.nn.conf.graph.LayerVertex lv
                        && lv.getLayerConf().getLayer() instanceof ConvolutionLayer c) {
                    return (int) c.getNIn();
                }
            }
        }
        return -1;
    }

    /** Refuses a shape whose channel count the network's first convolution does not take. */
    static void channels(Model net, int[] shape, Path file, String source) {
        int c = firstConvChannels(net);
        if (c > 0 && shape != null && shape.length == 3 && c != shape[0]) {
            throw new UserError("the model " + file + " takes " + c + "-channel images (its first convolution has " + c
                    + " input channel" + (c == 1 ? "" : "s") + ") but " + source + " says " + shape[0] + " (inputShape " + java.util.Arrays.toString(shape)
                    + "); set inputShape to [" + c + ", " + shape[1] + ", " + shape[2] + "]");
        }
    }

    /** Where the input shape came from, for messages. */
    static String shapeSource(int[] given, ModelCard card, Path model) {
        if (given != null) return "--input-shape";
        return card != null && card.inputShape() != null ? "its model card " + cardFile(model) : "the model file";
    }

    static String cardFile(Path model) {
        for (Path p : ModelCard.candidates(model)) {
            if (java.nio.file.Files.exists(p)) return p.toString();
        }
        return ModelCard.cardPath(model).toString();
    }

    /**
     * Refuses a DL4J network with NaN or infinite weights, naming each parameter and its count. One pass over the flat
     * parameter buffer (no copy); the per-parameter walk runs only when something was found.
     */
    static void finiteWeights(Model net, Path file) {
        INDArray flat = net.params();
        if (flat == null || flat.isEmpty()) return;
        long bad = countNonFinite(flat);
        if (bad == 0) return;
        List<String> where = new ArrayList<>();
        for (Map.Entry<String, INDArray> e : net.paramTable().entrySet()) {
            long c = countNonFinite(e.getValue());
            if (c > 0) where.add(paramName(net, e.getKey()) + " (" + c + ")");
        }
        throw new UserError(String.format(Locale.ROOT, "the model %s has %,d NaN or infinite weight%s, in %s; valid weights "
                + "are finite numbers. The file is corrupt or its training diverged: use an earlier checkpoint or train it "
                + "again", file, bad, bad == 1 ? "" : "s", String.join(", ", where)));
    }

    /** "0_W" of a MultiLayerNetwork → "conv1/W" (its layer's name); a ComputationGraph key is already "conv1_W". */
    private static String paramName(Model net, String key) {
        int u = key.indexOf('_');
        if (net instanceof MultiLayerNetwork mln && u > 0) {
            try {
                int i = Integer.parseInt(key.substring(0, u));
                String name = mln.getLayer(i).conf().getLayer().getLayerName();
                return (name != null ? name : "layer " + i) + "/" + key.substring(u + 1);
            } catch (NumberFormatException | IndexOutOfBoundsException e) {
                return key;
            }
        }
        return key;
    }

    private static long countNonFinite(INDArray a) {
        if (a.dataType() == DataType.FLOAT && a.elementWiseStride() == 1 && a.ordering() == 'c') {
            java.nio.FloatBuffer b = a.data().asNioFloat();
            b.position((int) a.offset()).limit((int) (a.offset() + a.length()));
            return Finite.countNonFinite(b);
        }
        long c = 0;
        INDArray d = a.castTo(DataType.DOUBLE).dup('c');
        for (double v : d.data().asDouble()) {
            if (!Double.isFinite(v)) c++;
        }
        return c;
    }

    /**
     * Refuses an ONNX model whose float initializers hold NaN or ±Infinity or less data than their dims say. Reads the
     * raw bytes where they lie (protobuf keeps them as one array): one pass, no copy.
     */
    static void onnxInitializers(Onnx.GraphProto graph, String label) {
        List<String> where = new ArrayList<>();
        long bad = 0;
        for (Onnx.TensorProto t : graph.getInitializerList()) {
            long c = onnxNonFinite(t, label);
            if (c > 0) {
                bad += c;
                where.add(t.getName() + " (" + c + ")");
            }
        }
        if (bad > 0) {
            throw new UserError(String.format(Locale.ROOT, "the ONNX model %s has %,d NaN or infinite weight%s, in tensor%s "
                    + "%s; valid weights are finite numbers. The file is corrupt or its training diverged: export an earlier "
                    + "checkpoint", label, bad, bad == 1 ? "" : "s", where.size() == 1 ? "" : "s", String.join(", ", where)));
        }
    }

    private static long onnxNonFinite(Onnx.TensorProto t, String label) {
        if (t.getDataLocation() == Onnx.TensorProto.DataLocation.EXTERNAL) return 0; // refused when it is decoded
        int type = t.getDataType();
        boolean f32 = type == Onnx.TensorProto.DataType.FLOAT_VALUE;
        boolean f64 = type == Onnx.TensorProto.DataType.DOUBLE_VALUE;
        long n = 1;
        for (long d : t.getDimsList()) n *= d;
        int size = switch (type) {
            case Onnx.TensorProto.DataType.FLOAT_VALUE, Onnx.TensorProto.DataType.INT32_VALUE -> 4;
            case Onnx.TensorProto.DataType.DOUBLE_VALUE, Onnx.TensorProto.DataType.INT64_VALUE -> 8;
            default -> 0;
        };
        if (!t.getRawData().isEmpty()) {
            if (size > 0 && t.getRawData().size() != n * size) throw sizeMismatch(t, label, t.getRawData().size(), n * size);
            if (f32) return Finite.countNonFinite(t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer());
            if (f64) {
                var b = t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asDoubleBuffer();
                long c = 0;
                for (int i = 0; i < b.limit(); i++) if (!Double.isFinite(b.get(i))) c++;
                return c;
            }
            return 0;
        }
        long have = f32 ? t.getFloatDataCount() : f64 ? t.getDoubleDataCount()
                : type == Onnx.TensorProto.DataType.INT64_VALUE ? t.getInt64DataCount()
                : type == Onnx.TensorProto.DataType.INT32_VALUE ? t.getInt32DataCount() : n;
        if (have != n) throw sizeMismatch(t, label, have * size, n * size);
        long c = 0;
        if (f32) for (int i = 0; i < have; i++) if (!Float.isFinite(t.getFloatData(i))) c++;
        if (f64) for (int i = 0; i < have; i++) if (!Double.isFinite(t.getDoubleData(i))) c++;
        return c;
    }

    private static UserError sizeMismatch(Onnx.TensorProto t, String label, long have, long need) {
        return new UserError(String.format(Locale.ROOT, "ONNX tensor '%s' of %s holds %,d bytes but its shape %s needs %,d: "
                + "the file is corrupt or was edited; export the model again", t.getName(), label, have, t.getDimsList(), need));
    }

    /**
     * One blank image through the graph (the layer shapes every command needs next, now cached): a shape the layers
     * cannot take becomes one line naming the input size instead of a native error later.
     */
    static void probe(NetGraph graph, Path file, String source) {
        try {
            graph.shapes();
        } catch (UserError e) {
            throw e;
        } catch (RuntimeException e) {
            String why = e.getMessage() == null ? e.toString() : e.getMessage();
            Throwable c = e.getCause();
            if (c != null && c.getMessage() != null && !c.getMessage().equals(why)) why += ": " + c.getMessage();
            int[] s = graph.inputShape();
            throw new UserError("the model " + file + " cannot take " + s[0] + "×" + s[1] + "×" + s[2] + " (C×H×W) input, "
                    + "which " + source + " gives (" + why.replace('\n', ' ') + "); give the input size the model was "
                    + "trained at", e);
        }
    }
}
