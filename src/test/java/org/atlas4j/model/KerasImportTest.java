package org.atlas4j.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;

import org.atlas4j.io.Json;
import org.atlas4j.util.UserError;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Models made by another framework (TensorFlow.js, see src/test/resources/fixtures/tfjs-keras/README.md): our import
 * must give TF.js's own predictions, through DL4J and through our SameDiff graph, and its gradients must equal finite
 * differences.
 */
@org.atlas4j.UnitTest
class KerasImportTest {
    static final Path FIXTURES = Path.of("src/test/resources/fixtures/tfjs-keras");

    @TempDir
    Path tmp;

    record Reference(INDArray nchw, INDArray nhwc, double[] outputs) {
    }

    static Reference reference(String name) throws Exception {
        JsonNode ref = Json.MAPPER.readTree(FIXTURES.resolve(name).resolve("reference.json").toFile());
        JsonNode s = ref.get("inputShapeNHWC");
        float[] in = new float[ref.get("inputs").size()];
        for (int i = 0; i < in.length; i++) in[i] = (float) ref.get("inputs").get(i).asDouble();
        INDArray nhwc = Nd4j.create(in, new long[] {s.get(0).asLong(), s.get(1).asLong(), s.get(2).asLong(), s.get(3).asLong()}, 'c');
        double[] out = new double[ref.get("outputs").size()];
        for (int i = 0; i < out.length; i++) out[i] = ref.get("outputs").get(i).asDouble();
        return new Reference(nhwc.permute(0, 3, 1, 2).dup('c'), nhwc, out);
    }

    static void assertClose(double[] want, INDArray got, double tol, String what) {
        assertEquals(want.length, got.length(), what + ": size");
        double worst = 0;
        for (int i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(want[i] - got.getDouble(i)));
        assertTrue(worst < tol, what + ": max |difference| " + worst);
    }

    @ParameterizedTest
    @ValueSource(strings = {"functional-cnn", "sequential-flatten", "functional-cnn-uint8", "functional-cnn-uint16"})
    void tfjsModelsPredictWhatTfjsPredicts(String name) throws Exception {
        LoadedModel m = LoadedModel.load(FIXTURES.resolve(name), null);
        assertEquals(LoadedModel.Format.TFJS, m.format());
        assertTrue(m.channelsLast());
        Reference r = reference(name);
        assertClose(r.outputs(), m.dl4jOutput(r.nchw()), 1e-4, name + " DL4J");
        NetGraph g = m.graph();
        assertClose(r.outputs(), g.forward(r.nchw(), g.output()).get(g.output()), 1e-4, name + " SameDiff");
        assertNotNull(g.logits(), "a Dense softmax head gives class scores");
        if (name.startsWith("functional")) {
            // conv2 → GAP → Dense softmax: CAM applies, and its weights are the Dense kernel
            var cam = org.atlas4j.attribution.CamHead.find(m.network(), "conv2");
            assertEquals(12, cam.channels());
            assertEquals(5, cam.classes());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"functional-cnn", "sequential-flatten"})
    void kerasH5ModelsPredictWhatTfjsPredicts(String name) throws Exception {
        LoadedModel m = LoadedModel.load(FIXTURES.resolve(name + ".h5"), null);
        assertEquals(LoadedModel.Format.KERAS, m.format());
        Reference r = reference(name);
        assertClose(r.outputs(), m.dl4jOutput(r.nchw()), 1e-4, name + ".h5 DL4J");
        NetGraph g = m.graph();
        assertClose(r.outputs(), g.forward(r.nchw(), g.output()).get(g.output()), 1e-4, name + ".h5 SameDiff");
    }

    @ParameterizedTest
    @ValueSource(strings = {"functional-cnn", "sequential-flatten"})
    void importedGraphGradientsMatchFiniteDifferences(String name) throws Exception {
        LoadedModel m = LoadedModel.load(FIXTURES.resolve(name), null);
        int[] shape = m.graph().inputShape();
        NetGraph g = m.network() instanceof ComputationGraph cg ? SameDiffConverter.convert(cg, shape, DataType.DOUBLE)
                : SameDiffConverter.convert((MultiLayerNetwork) m.network(), shape, DataType.DOUBLE);
        INDArray x = reference(name).nchw().get(org.nd4j.linalg.indexing.NDArrayIndex.interval(0, 1)).castTo(DataType.DOUBLE).dup('c');
        int classes = g.classCount();
        int cls = classes - 1;
        INDArray w = Nd4j.zeros(DataType.DOUBLE, 1, classes);
        w.putScalar(0, cls, 1);
        INDArray grad = g.classScoreGradient(x, w, g.input());
        double eps = 1e-5;
        double scale = grad.amaxNumber().doubleValue();
        assertTrue(scale > 0);
        java.util.Random rnd = new java.util.Random(1);
        for (int k = 0; k < 40; k++) {
            long i = rnd.nextInt((int) x.length());
            double keep = x.getDouble(i);
            x.putScalar(i, keep + eps);
            double up = g.forward(x, g.logits()).get(g.logits()).getDouble(0, cls);
            x.putScalar(i, keep - eps);
            double down = g.forward(x, g.logits()).get(g.logits()).getDouble(0, cls);
            x.putScalar(i, keep);
            assertEquals((up - down) / (2 * eps), grad.getDouble(i), 1e-4 * scale, name + " input " + i);
        }
    }

    @Test
    void convertedZipReloadsWithTheSamePredictions() throws Exception {
        org.atlas4j.util.Progress.setQuiet(true);
        Path zip = tmp.resolve("out/functional-cnn.zip");
        assertEquals(0, org.atlas4j.cli.Main.run("convert", FIXTURES.resolve("functional-cnn.h5").toString(), zip.toString()));
        LoadedModel m = LoadedModel.load(zip, null);
        assertEquals(LoadedModel.Format.DL4J, m.format());
        assertTrue(m.channelsLast(), "an imported NHWC network stays NHWC in its zip");
        Reference r = reference("functional-cnn");
        assertClose(r.outputs(), m.dl4jOutput(r.nchw()), 1e-4, "converted zip, DL4J");
        assertClose(r.outputs(), m.graph().forward(r.nchw(), m.graph().output()).get(m.graph().output()), 1e-4,
                "converted zip, SameDiff");
    }

    @Test
    void normalizationFixesWhatDl4jRejects() throws Exception {
        String json = "{\"class_name\":\"Functional\",\"keras_version\":\"tfjs-layers 4.22.0\",\"config\":{\"layers\":["
                + "{\"class_name\":\"ReLU\",\"config\":{\"max_value\":6,\"name\":\"r\"}},"
                + "{\"class_name\":\"SeparableConv2D\",\"config\":{\"filters\":8,\"name\":\"s\"}},"
                + "{\"class_name\":\"Dense\",\"config\":{\"units\":3,\"name\":\"d\"}}]}}";
        JsonNode n = Json.MAPPER.readTree(KerasImport.normalize(json, true));
        assertEquals("Model", n.get("class_name").asText());
        assertEquals("2.2.4", n.get("keras_version").asText());
        assertEquals("tensorflow", n.get("backend").asText());
        JsonNode layers = n.get("config").get("layers");
        assertTrue(layers.get(0).get("config").get("max_value").isDouble(), "max_value 6 → 6.0");
        assertEquals(1, layers.get(1).get("config").get("depth_multiplier").asInt());
        assertTrue(layers.get(2).get("config").get("units").isInt(), "integer fields stay integers");
    }

    @Test
    void brokenTfjsModelsAreClearErrors() throws Exception {
        Path src = FIXTURES.resolve("functional-cnn");
        Path d = Files.createDirectories(tmp.resolve("m"));
        Files.copy(src.resolve("model.json"), d.resolve("model.json"));
        UserError missing = assertThrows(UserError.class, () -> LoadedModel.load(d, null));
        assertTrue(missing.getMessage().contains("weights.bin"), missing.getMessage());
        byte[] bin = Files.readAllBytes(src.resolve("weights.bin"));
        Files.write(d.resolve("weights.bin"), java.util.Arrays.copyOf(bin, bin.length - 8));
        UserError shortShard = assertThrows(UserError.class, () -> LoadedModel.load(d, null));
        assertTrue(shortShard.getMessage().contains("shorter"), shortShard.getMessage());
        Files.write(d.resolve("weights.bin"), java.util.Arrays.copyOf(bin, bin.length + 8));
        UserError longShard = assertThrows(UserError.class, () -> LoadedModel.load(d, null));
        assertTrue(longShard.getMessage().contains("more than the manifest"), longShard.getMessage());
        Files.writeString(d.resolve("model.json"), "{\"format\":\"graph-model\"}");
        UserError graph = assertThrows(UserError.class, () -> LoadedModel.load(d, null));
        assertTrue(graph.getMessage().contains("layers model"), graph.getMessage());
        UserError unknown = assertThrows(UserError.class, () -> LoadedModel.load(tmp.resolve("model.onnx"), null));
        assertTrue(unknown.getMessage().contains("not found"), unknown.getMessage());
        Files.writeString(tmp.resolve("model.onnx"), "x");
        UserError onnx = assertThrows(UserError.class, () -> LoadedModel.load(tmp.resolve("model.onnx"), null));
        assertTrue(onnx.getMessage().startsWith("cannot read ONNX model"), onnx.getMessage());
        Files.writeString(tmp.resolve("model.pt"), "x");
        UserError format = assertThrows(UserError.class, () -> LoadedModel.load(tmp.resolve("model.pt"), null));
        assertTrue(format.getMessage().contains("--format dl4j|keras|tfjs|onnx"), format.getMessage());
    }

    @Test
    void unsupportedKerasLayerIsNamed() throws Exception {
        Path d = Files.createDirectories(tmp.resolve("u"));
        Files.copy(FIXTURES.resolve("sequential-flatten/weights.bin"), d.resolve("weights.bin"));
        String json = Files.readString(FIXTURES.resolve("sequential-flatten/model.json"))
                .replace("\"class_name\": \"Dropout\"", "\"class_name\": \"FancyAttention\"");
        assertTrue(json.contains("FancyAttention"));
        Files.writeString(d.resolve("model.json"), json);
        UserError e = assertThrows(UserError.class, () -> LoadedModel.load(d, null));
        assertTrue(e.getMessage().contains("FancyAttention"), e.getMessage());
    }

    @Test
    void cardWithUnknownKeyNamesTheValidOnes() throws Exception {
        Path d = Files.createDirectories(tmp.resolve("c"));
        for (String f : new String[] {"model.json", "weights.bin"}) {
            Files.copy(FIXTURES.resolve("functional-cnn").resolve(f), d.resolve(f));
        }
        Files.writeString(d.resolve("model.yaml"), "inputShape: [3, 16, 16]\nclassName: [a, b]\n");
        UserError e = assertThrows(UserError.class, () -> LoadedModel.load(d, null));
        assertTrue(e.getMessage().contains("'className'") && e.getMessage().contains("classNames"), e.getMessage());
        Files.writeString(d.resolve("model.yaml"), "inputShape: [3, 20, 20]\n");
        UserError size = assertThrows(UserError.class, () -> LoadedModel.load(d, null));
        assertTrue(size.getMessage().contains("input size mismatch"), size.getMessage());
        Files.writeString(d.resolve("classes.txt"), "a\nb\nc\nd\ne\n");
        Files.writeString(d.resolve("model.yaml"), "classNamesFile: classes.txt\npixelScaling: pixels / 255\n");
        LoadedModel ok = LoadedModel.load(d, null);
        assertEquals(java.util.List.of("a", "b", "c", "d", "e"), ok.card().classNames());
        Files.writeString(d.resolve("model.yaml"), "resize: pad\nchannelOrder: bgr\npixelScaling: mean=0.5,0.5,0.5 std=0.5,0.5,0.5\n");
        var pre = LoadedModel.load(d, null).preprocess(null, null, java.awt.Color.BLACK);
        assertTrue(pre.bgr());
        assertEquals(org.atlas4j.data.ImageFiles.Resize.PAD, pre.resize());
        assertEquals(1.0, pre.scaling().apply(0, 255), 1e-6);
        assertEquals(org.atlas4j.data.ImageFiles.Resize.STRETCH,
                LoadedModel.load(d, null).preprocess(null, "stretch", java.awt.Color.BLACK).resize(), "flags override the card");
        Files.writeString(d.resolve("model.yaml"), "resize: zoom\n");
        UserError bad = assertThrows(UserError.class, () -> LoadedModel.load(d, null));
        assertTrue(bad.getMessage().contains("crop, pad or stretch"), bad.getMessage());
    }
}
