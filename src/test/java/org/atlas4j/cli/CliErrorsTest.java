package org.atlas4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import org.atlas4j.util.Progress;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** User mistakes end with a non-zero exit code and one clear message on stderr, never a stack trace. */
@org.atlas4j.IntegrationTest
class CliErrorsTest {
    static final Path DEMO_MODEL = Path.of("models/fashion-mnist-cnn.zip");

    @TempDir
    Path out;

    @BeforeAll
    static void quiet() {
        Progress.setQuiet(true); // also initialises Progress with the real System.err before we swap it
    }

    record Outcome(int exit, String err) {
    }

    static Outcome atlas(String... args) {
        PrintStream original = System.err;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        int exit;
        try (PrintStream capture = new PrintStream(buf, true, StandardCharsets.UTF_8)) {
            System.setErr(capture);
            exit = Main.run(args);
            capture.flush();
        } finally {
            System.setErr(original);
        }
        return new Outcome(exit, buf.toString(StandardCharsets.UTF_8));
    }

    static void assertCleanFailure(Outcome o, String... expectedInMessage) {
        assertNotEquals(0, o.exit(), "exit code must be non-zero; stderr:\n" + o.err());
        for (String s : expectedInMessage) {
            assertTrue(o.err().contains(s), "stderr should mention '" + s + "' but was:\n" + o.err());
        }
        assertFalse(o.err().contains("\tat "), "stderr must not contain a stack trace:\n" + o.err());
        assertFalse(o.err().contains("internal error"), "a user mistake reported as an internal error:\n" + o.err());
    }

    static void assumeDemoModel() {
        Assumptions.assumeTrue(Files.exists(DEMO_MODEL), "demo model " + DEMO_MODEL + " is absent");
    }

    @Test
    void missingModelFile() {
        Outcome o = atlas("layers", "--model", "/nonexistent.zip");
        assertCleanFailure(o, "model file not found", "nonexistent.zip");
        assertEquals(2, o.exit());
    }

    @Test
    void missingConfigFile() {
        assertCleanFailure(atlas("run", "--config", "/nonexistent/atlas.yaml", "--output", out.toString()),
                "config file not found", "/nonexistent/atlas.yaml");
    }

    @Test
    void unknownOption() {
        Outcome o = atlas("run", "--no-such-flag");
        assertCleanFailure(o, "--no-such-flag");
    }

    @Test
    void gridOfZero() {
        assertCleanFailure(atlas("run", "--grid", "0", "--output", out.toString()), "grid size must be at least 1", "got 0");
    }

    @Test
    void negativeThreshold() {
        assertCleanFailure(atlas("run", "--threshold", "-1", "--output", out.toString()), "threshold", "-1");
    }

    @Test
    void unknownLayerListsTheValidOnes() {
        assumeDemoModel();
        Outcome o = atlas("run", "--layer", "nope", "--output", out.toString(), "--name", "x");
        assertCleanFailure(o, "Unknown layer 'nope'", "relu3");
        Outcome typo = atlas("layers", "--model", DEMO_MODEL.toString());
        assertEquals(0, typo.exit());
        Outcome close = atlas("explain", "--layer", "rleu3", "--images", out.toString(), "--out", out.resolve("e").toString());
        assertCleanFailure(close, "Closest: relu3");
    }

    @Test
    void nonSpatialLayer() {
        assumeDemoModel();
        Outcome o = atlas("run", "--layer", "gap", "--output", out.toString(), "--name", "x");
        assertCleanFailure(o, "'gap'", "no spatial dimensions", "relu3");
    }

    @Test
    void missingDatasetSaysHowToInstallIt() {
        assumeDemoModel();
        Outcome o = atlas("run", "--data-dir", "/nonexistent", "--limit", "10", "--name", "x", "--output", out.toString());
        assertCleanFailure(o, "/nonexistent", "apt-get install dataset-fashion-mnist");
    }

    Path oneImage() throws Exception {
        Path dir = Files.createDirectories(out.resolve("imgs"));
        javax.imageio.ImageIO.write(new java.awt.image.BufferedImage(28, 28, java.awt.image.BufferedImage.TYPE_BYTE_GRAY),
                "png", dir.resolve("x.png").toFile());
        return dir;
    }

    @Test
    void explainRejectsUnknownMethodClassAndResize() throws Exception {
        assumeDemoModel();
        String imgs = oneImage().toString();
        assertCleanFailure(atlas("explain", "--images", imgs, "--out", out.resolve("e").toString(), "--method", "lime"),
                "unknown attribution method 'lime'", "gradcam++");
        assertCleanFailure(atlas("explain", "--images", imgs, "--out", out.resolve("e").toString(), "--class", "Boots"),
                "--class 'Boots'", "Ankle boot");
        assertCleanFailure(atlas("explain", "--images", imgs, "--out", out.resolve("e").toString(), "--class", "12"),
                "out of range", "10 classes");
        assertCleanFailure(atlas("explain", "--images", imgs, "--resize", "zoom"), "crop, pad or stretch");
        assertCleanFailure(atlas("explain", "--images", out.resolve("nope").toString()), "no such file or folder");
    }

    @Test
    void explainRefusesCamOnAHeadWithoutGlobalAveragePooling() throws Exception {
        assumeDemoModel();
        Outcome o = atlas("explain", "--images", oneImage().toString(), "--out", out.resolve("e").toString(), "--layer",
                "relu2", "--method", "cam");
        assertCleanFailure(o, "CAM needs", "global average pooling", "--method gradcam");
    }
}
