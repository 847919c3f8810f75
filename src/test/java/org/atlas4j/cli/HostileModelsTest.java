package org.atlas4j.cli;

import static org.atlas4j.cli.CliErrorsTest.atlas;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

import org.atlas4j.io.Json;
import org.atlas4j.util.Progress;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.node.ObjectNode;

import onnx.Onnx;

/**
 * Hostile model files and cards (issue 15): each kind of damage, built here from the demo model and the small
 * fixtures, ends in exit code 2 with one line that names the file and what is wrong; never a stack trace, a native
 * crash or NaN in the outputs.
 */
@org.atlas4j.IntegrationTest
class HostileModelsTest {
    static final Path DEMO = CliErrorsTest.DEMO_MODEL;
    static final Path DEMO_CARD = Path.of("models/fashion-mnist-cnn.json");
    static final Path TFJS = Path.of("src/test/resources/fixtures/tfjs-keras");
    static final Path ONNX = Path.of("src/test/resources/fixtures/onnx");

    @TempDir
    Path tmp;

    @BeforeAll
    static void quiet() {
        Progress.setQuiet(true);
    }

    /** Exit 2 and exactly one line on stderr, an "error:" line holding every expected fragment. */
    static String oneLine(CliErrorsTest.Outcome o, String... expected) {
        assertEquals(2, o.exit(), "exit code; stderr:\n" + o.err());
        List<String> lines = o.err().lines().filter(l -> !l.isBlank()).toList();
        assertEquals(1, lines.size(), "one line expected, got:\n" + o.err());
        String line = lines.get(0);
        assertTrue(line.startsWith("error: "), line);
        assertFalse(line.contains("Exception") && !line.contains("NonFinite"), "an exception name is not a message: " + line);
        for (String s : expected) assertTrue(line.contains(s), "should mention '" + s + "': " + line);
        return line;
    }

    /** The demo model and its card copied to {@code dir} as m.zip / m.json. */
    Path demoCopy(String dir) throws Exception {
        CliErrorsTest.assumeDemoModel();
        Path d = Files.createDirectories(tmp.resolve(dir));
        Files.copy(DEMO, d.resolve("m.zip"));
        Files.copy(DEMO_CARD, d.resolve("m.json"));
        return d.resolve("m.zip");
    }

    static byte[] entry(Path zip, String name) throws Exception {
        try (ZipFile z = new ZipFile(zip.toFile())) {
            return z.getInputStream(z.getEntry(name)).readAllBytes();
        }
    }

    static void writeZip(Path zip, byte[] config, byte[] coefficients) throws Exception {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        try (ZipOutputStream z = new ZipOutputStream(buf)) {
            z.putNextEntry(new ZipEntry("configuration.json"));
            z.write(config);
            z.putNextEntry(new ZipEntry("coefficients.bin"));
            z.write(coefficients);
        }
        Files.write(zip, buf.toByteArray());
    }

    // ---- DL4J zips ----

    @Test
    void truncatedDl4jZip() throws Exception {
        Path m = demoCopy("trunc");
        byte[] all = Files.readAllBytes(m);
        Files.write(m, Arrays.copyOf(all, all.length / 2));
        oneLine(atlas("layers", "--model", m.toString()), m.toString(), "truncated", "save the model again");
    }

    @Test
    void dl4jZipWithTruncatedWeights() throws Exception {
        Path m = demoCopy("shortcoef");
        byte[] coef = entry(m, "coefficients.bin");
        writeZip(m, entry(m, "configuration.json"), Arrays.copyOf(coef, coef.length / 2));
        oneLine(atlas("layers", "--model", m.toString()), m.toString(), "truncated", "coefficients.bin");
    }

    @Test
    void dl4jConfigThatDoesNotFitTheWeights() throws Exception {
        Path m = demoCopy("shape");
        ObjectNode conf = (ObjectNode) Json.MAPPER.readTree(entry(m, "configuration.json"));
        // conv1 24 → 32 filters (and bn1 to match): a valid configuration, but not the one the weights were saved with
        ((ObjectNode) conf.get("confs").get(0).get("layer")).put("nout", 32);
        ((ObjectNode) conf.get("confs").get(1).get("layer")).put("nin", 32).put("nout", 32);
        ((ObjectNode) conf.get("confs").get(4).get("layer")).put("nin", 32);
        writeZip(m, Json.MAPPER.writeValueAsBytes(conf), entry(m, "coefficients.bin"));
        oneLine(atlas("layers", "--model", m.toString()), m.toString(), "coefficients.bin holds", "configuration.json need",
                "do not belong together");
    }

    @Test
    void dl4jWeightsWithNaNAndInfinity() throws Exception {
        Path m = demoCopy("nan");
        MultiLayerNetwork net = ModelSerializer.restoreMultiLayerNetwork(m.toFile(), false);
        net.getParam("0_W").putScalar(3, Float.NaN);
        net.getParam("0_W").putScalar(5, Float.NaN);
        net.getParam("9_beta").putScalar(1, Float.POSITIVE_INFINITY);
        ModelSerializer.writeModel(net, m.toFile(), false);
        oneLine(atlas("layers", "--model", m.toString()), m.toString(), "3 NaN or infinite weights", "conv1/W (2)",
                "bn3/beta (1)");
    }

    // ---- Keras .h5 and TF.js ----

    @Test
    void truncatedKerasH5() throws Exception {
        byte[] h5 = Files.readAllBytes(TFJS.resolve("functional-cnn.h5"));
        Path m = tmp.resolve("k.h5");
        Files.write(m, Arrays.copyOf(h5, h5.length / 2));
        // (libhdf5's own "HDF5-DIAG" screen goes to the process's stderr, not System.err: checked by hand, now silent)
        oneLine(atlas("layers", "--model", m.toString()), m.toString(), "truncated or corrupt", "model.save");
    }

    @Test
    void kerasH5WithANaNWeight() throws Exception {
        byte[] h5 = Files.readAllBytes(TFJS.resolve("functional-cnn.h5"));
        byte[] shard = Files.readAllBytes(TFJS.resolve("functional-cnn/weights.bin"));
        // the .h5 stores conv1's kernel uncompressed: find its first 16 bytes (as in the TF.js shard) and poison one float
        int at = indexOf(h5, Arrays.copyOf(shard, 16));
        assertTrue(at > 0, "conv1's kernel not found in the .h5");
        ByteBuffer.wrap(h5, at, 4).order(ByteOrder.LITTLE_ENDIAN).putFloat(Float.NaN);
        Path m = tmp.resolve("k.h5");
        Files.write(m, h5);
        oneLine(atlas("layers", "--model", m.toString()), m.toString(), "1 NaN or infinite weight", "conv1_W (1)");
    }

    @Test
    void kerasH5ConfigThatDoesNotFitTheWeights() throws Exception {
        byte[] h5 = Files.readAllBytes(TFJS.resolve("functional-cnn.h5"));
        // the model_config attribute, edited in place (same length): the Dense layer now has 4 units, its weights 5
        int at = indexOf(h5, "\"units\": 5".getBytes());
        assertTrue(at > 0);
        h5[at + "\"units\": ".length()] = '4';
        Path m = tmp.resolve("k.h5");
        Files.write(m, h5);
        oneLine(atlas("layers", "--model", m.toString()), m.toString(), "layer 'dense'", "[5]", "[4]",
                "do not belong together");
    }

    Path tfjsCopy() throws Exception {
        Path d = Files.createDirectories(tmp.resolve("tfjs"));
        for (String f : List.of("model.json", "weights.bin")) Files.copy(TFJS.resolve("functional-cnn").resolve(f), d.resolve(f));
        return d;
    }

    @Test
    void truncatedTfjsShard() throws Exception {
        Path d = tfjsCopy();
        byte[] bin = Files.readAllBytes(d.resolve("weights.bin"));
        Files.write(d.resolve("weights.bin"), Arrays.copyOf(bin, bin.length - 100));
        oneLine(atlas("layers", "--model", d.toString()), "weights.bin", "shorter than the manifest", "truncated");
    }

    @Test
    void tfjsShardWithInfinity() throws Exception {
        Path d = tfjsCopy();
        byte[] bin = Files.readAllBytes(d.resolve("weights.bin"));
        ByteBuffer.wrap(bin).order(ByteOrder.LITTLE_ENDIAN).putFloat(0, Float.NEGATIVE_INFINITY);
        Files.write(d.resolve("weights.bin"), bin);
        oneLine(atlas("layers", "--model", d.toString()), "model.json", "1 NaN or infinite weight", "conv1_W");
    }

    @Test
    void tfjsTopologyThatDoesNotFitTheManifest() throws Exception {
        Path d = tfjsCopy();
        String json = Files.readString(d.resolve("model.json"));
        String edited = json.replaceFirst("\"units\":\\s*5", "\"units\": 4");
        assertFalse(edited.equals(json));
        Files.writeString(d.resolve("model.json"), edited);
        oneLine(atlas("layers", "--model", d.toString()), "layer 'dense'", "do not belong together");
    }

    // ---- ONNX ----

    Path onnxCopy(Onnx.ModelProto model) throws Exception {
        Path d = Files.createDirectories(tmp.resolve("onnx"));
        Files.copy(ONNX.resolve("small.json"), d.resolve("small.json"));
        Files.write(d.resolve("small.onnx"), model.toByteArray());
        return d.resolve("small.onnx");
    }

    static Onnx.ModelProto small() throws Exception {
        return Onnx.ModelProto.parseFrom(Files.readAllBytes(ONNX.resolve("small.onnx")));
    }

    /** The model with the kernel of the Conv reading the image replaced by {@code edit}'s result. */
    static Onnx.ModelProto withFirstWeight(Onnx.ModelProto m, java.util.function.UnaryOperator<Onnx.TensorProto> edit) {
        Onnx.GraphProto.Builder g = m.getGraph().toBuilder();
        String input = g.getInput(0).getName();
        String kernel = g.getNodeList().stream().filter(n -> n.getOpType().equals("Conv") && n.getInput(0).equals(input))
                .findFirst().orElseThrow().getInput(1);
        for (int i = 0; i < g.getInitializerCount(); i++) {
            if (g.getInitializer(i).getName().equals(kernel)) {
                g.setInitializer(i, edit.apply(g.getInitializer(i)));
                return m.toBuilder().setGraph(g).build();
            }
        }
        throw new AssertionError("the first Conv's kernel is not an initializer in small.onnx");
    }

    @Test
    void truncatedOnnx() throws Exception {
        byte[] all = Files.readAllBytes(ONNX.resolve("small.onnx"));
        Path m = onnxCopy(small());
        Files.write(m, Arrays.copyOf(all, all.length / 2));
        oneLine(atlas("layers", "--model", m.toString()), m.toString(), "truncated", "export it again");
    }

    @Test
    void onnxWeightsWithNaN() throws Exception {
        Path m = onnxCopy(withFirstWeight(small(), t -> {
            byte[] raw = t.getRawData().toByteArray();
            ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN).putFloat(0, Float.NaN).putFloat(8, Float.NaN);
            return t.toBuilder().setRawData(org.nd4j.shade.protobuf.ByteString.copyFrom(raw)).build();
        }));
        oneLine(atlas("layers", "--model", m.toString()), m.toString(), "2 NaN or infinite weights");
    }

    @Test
    void onnxTensorWithLessDataThanItsShape() throws Exception {
        Path m = onnxCopy(withFirstWeight(small(), t -> t.toBuilder().setRawData(t.getRawData().substring(0,
                t.getRawData().size() - 4)).build()));
        oneLine(atlas("layers", "--model", m.toString()), m.toString(), "holds", "bytes but its shape", "needs");
    }

    @Test
    void onnxWeightShapeThatDoesNotFitTheGraph() throws Exception {
        // the first conv's [O, 3, k, k] kernel relabelled [O·3, 1, k, k]: the same bytes, one input channel
        Path m = onnxCopy(withFirstWeight(small(), t -> t.toBuilder().setDims(0, t.getDims(0) * t.getDims(1)).setDims(1, 1)
                .build()));
        oneLine(atlas("layers", "--model", m.toString()), "weights expect 1 input channels, the input has 3");
    }

    // ---- model cards ----

    void cardSays(Path model, String json, String... expected) throws Exception {
        Files.writeString(model.resolveSibling("m.json"), json);
        oneLine(atlas("layers", "--model", model.toString()), expected);
    }

    @Test
    void impossibleInputShapesInTheCard() throws Exception {
        Path m = demoCopy("card");
        cardSays(m, "{\"inputShape\": [0, 28, 28]}", "m.json", "0 channels", "valid: 1 (grey) or 3 (RGB)");
        cardSays(m, "{\"inputShape\": [1, -28, 28]}", "m.json", "height -28", "valid: 1 to 4096");
        // was a JVM crash (SIGSEGV) while sizing the first activation
        cardSays(m, "{\"inputShape\": [1, 100000, 100000]}", "m.json", "height 100000 and width 100000", "valid: 1 to 4096");
        cardSays(m, "{\"inputShape\": [1, 28]}", "m.json", "three numbers [C, H, W]");
        // was libnd4j's "wrong shape of weights array" on stdout, then an internal error with a stack trace
        cardSays(m, "{\"inputShape\": [3, 28, 28]}", "takes 1-channel images", "m.json", "says 3",
                "set inputShape to [1, 28, 28]");
    }

    @Test
    void unknownPixelScalingInTheCardIsRefusedAtLoad() throws Exception {
        Path m = demoCopy("scaling");
        cardSays(m, "{\"inputShape\": [1, 28, 28], \"pixelScaling\": \"pixels / 256\"}", "m.json",
                "unknown pixel scaling \"pixels / 256\"", "valid:");
        cardSays(m, "{\"inputShape\": [1, 28, 28], \"pixelScaling\": \"mean=0.5 std=0\"}", "m.json", "std values must be > 0");
    }

    @Test
    void impossibleInputShapeOnTheCommandLine() throws Exception {
        CliErrorsTest.assumeDemoModel();
        oneLine(atlas("layers", "--model", DEMO.toString(), "--input-shape", "1,0,28"), "--input-shape", "height 0");
    }

    static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) if (hay[i + j] != needle[j]) continue outer;
            return i;
        }
        return -1;
    }
}
