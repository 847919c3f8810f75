package org.atlas4j.cli;

import static org.atlas4j.cli.CliErrorsTest.atlas;
import static org.atlas4j.cli.HostileModelsTest.oneLine;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import org.atlas4j.grid.Gridder;
import org.atlas4j.util.Finite;
import org.atlas4j.util.Progress;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * No NaN or Inf is ever written: a model whose weights are finite but overflow float32 on every image makes collect and explain refuse with the sample or image it came from, and leaves no output file.
 */
@org.atlas4j.IntegrationTest
class NonFiniteOutputsTest {
    @TempDir
    static Path tmp;
    static Path model;
    static Path images;

    @BeforeAll
    static void setUp() throws Exception {
        Progress.setQuiet(true);
        CliErrorsTest.assumeDemoModel();
        Path d = Files.createDirectories(tmp.resolve("model"));
        model = d.resolve("m.zip");
        MultiLayerNetwork net = ModelSerializer.restoreMultiLayerNetwork(CliErrorsTest.DEMO_MODEL.toFile(), false);
        // every weight finite, so the load-time check passes, but bn3 adds beta − mean·gamma/std = 3·10³⁸ + 3·10³⁸,
        // beyond float32: relu3 is +Infinity on any image (a NaN earlier in the net could be hidden by a ReLU)
        net.getParam("9_beta").assign(3e38f);
        net.getParam("9_mean").assign(-3e38f);
        net.getParam("9_gamma").assign(1f);
        net.getParam("9_log10stdev").assign(0f);
        ModelSerializer.writeModel(net, model.toFile(), false);
        Files.copy(HostileModelsTest.DEMO_CARD, d.resolve("m.json"));
        images = CommandMatrix.classImages(tmp.resolve("images"), List.of("boat", "dog"), 3, 28, 1);
    }

    static List<Path> files(Path dir, String suffix) throws Exception {
        if (!Files.exists(dir)) return List.of();
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(p -> p.getFileName().toString().endsWith(suffix)).toList();
        }
    }

    @Test
    void collectRefusesNonFiniteActivationsNamingTheSampleAndWritesNoActivations() throws Exception {
        Path out = tmp.resolve("run");
        String line = oneLine(atlas("collect", "--model", model.toString(), "--images", images.toString(), "--output",
                out.toString(), "--name", "r", "--layer", "relu3"), "activation", "of sample 0 (boat/boat-00.png)",
                "at layer relu3", "activations.npy", "NaN or infinite weight", "overflows");
        assertTrue(line.contains(" is NaN") || line.contains(" is Infinity"), line);
        assertEquals(List.of(), files(out, ".npy"), "no activations (or any .npy) may be written");
        assertEquals(List.of(), files(out, "samples.csv"), "no samples table either");
    }

    @Test
    void explainRefusesNonFiniteMapsNamingTheImage() throws Exception {
        Path out = tmp.resolve("explain");
        oneLine(atlas("explain", "--model", model.toString(), "--images", images.toString(), "--out", out.toString(),
                "--layer", "relu3", "--method", "gradcam"), "of image boat/boat-00.png", "refused to write");
        assertEquals(List.of(), files(out, ".npy"), "no attribution map may be written");
    }

    @Test
    void gridRefusesANonFiniteCellVectorNamingTheCell() throws Exception {
        int n = 40;
        float[] layout = new float[2 * n];
        float[] acts = new float[3 * n];
        for (int i = 0; i < n; i++) {
            layout[2 * i] = (i % 2) * 0.9f;
            layout[2 * i + 1] = 0.5f;
            acts[3 * i] = i;
        }
        acts[3 * 1 + 2] = Float.POSITIVE_INFINITY; // sample 1 lies in the second cell (x = 0.9)
        Path dir = Files.createDirectories(tmp.resolve("grid"));
        var e = assertThrows(Finite.NonFiniteException.class, () -> Gridder.run(layout, acts, 3, null, 0,
                new Gridder.Options(2, 1), dir));
        assertTrue(e.getMessage().contains("mean activation 2 of cell 1"), e.getMessage());
        assertFalse(Files.exists(dir.resolve(Gridder.CELL_VECTORS)));
    }

    @Test
    void renderRefusesAnIconWithANonFiniteObjectiveNamingTheCell() throws Exception {
        // a NaN bias in the rendered layer itself (a ReLU before it could hide a NaN earlier in the net)
        var net = org.atlas4j.TinyNets.cnn(3, org.nd4j.linalg.api.buffer.DataType.FLOAT);
        net.getParam("3_b").putScalar(2, Float.NaN);
        var g = org.atlas4j.model.SameDiffConverter.convert(net, new int[] {1, 9, 9});
        int cells = 2;
        int c = 5;
        float[] vectors = new float[cells * c];
        java.util.Arrays.fill(vectors, 0.5f);
        float[] moment = new float[c * c];
        for (int i = 0; i < c; i++) moment[i * c + i] = 1;
        Path dir = Files.createDirectories(tmp.resolve("render"));
        var o = new org.atlas4j.render.Renderer.Options("c2", 2, 0.05, 8, 0, 1, true, false, 1);
        var e = assertThrows(Finite.NonFiniteException.class,
                () -> org.atlas4j.render.Renderer.run(g, vectors, cells, moment, o, dir));
        assertTrue(e.getMessage().contains("of cell 0's icon is NaN"), e.getMessage());
        assertTrue(e.getMessage().contains("cell-0000.png"), e.getMessage());
        assertEquals(List.of(), files(dir, ".png"), "no tile may be written");
    }

    @Test
    void finiteReportsTheFirstBadValueAndTheCount() {
        float[] block = {1, 2, 3, 4, Float.NaN, 6, Float.NEGATIVE_INFINITY, 8};
        var e = assertThrows(Finite.NonFiniteException.class, () -> Finite.requireFinite(block, 4, 2,
                r -> "sample " + (10 + r), "activation", "a.npy", "check the model"));
        assertEquals("activation 0 of sample 12 is NaN (2 non-finite values in this batch); refused to write a.npy. "
                + "Check the model.", e.getMessage());
        Finite.requireFinite(block, 2, 2, r -> "x", "v", "f", "c"); // the first two rows are finite
        var one = assertThrows(Finite.NonFiniteException.class, () -> Finite.requireFinite(block, 2, 4, "the icon of cell 7",
                "t.png", "lower the rate"));
        assertTrue(one.getMessage().startsWith("the icon of cell 7 holds NaN (1 of 4 values not finite, first at 2)"),
                one.getMessage());
        assertThrows(Finite.NonFiniteException.class, () -> Finite.requireFinite(Double.NaN, "x", "f", "c"));
    }
}
