package org.atlas4j.cli;

import static org.atlas4j.cli.CommandMatrix.allFinite;
import static org.atlas4j.cli.CommandMatrix.exists;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.atlas4j.io.Npy;
import org.atlas4j.model.OnnxTorchvisionTest;
import org.atlas4j.util.Progress;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The real torchvision architectures at full size (random seeded weights, exported by torch; see
 * {@link OnnxTorchvisionTest}), on a small slice: {@code run} (4 images, 2×2 grid, 3 render steps, icons at the
 * model's input size) and {@code explain} with every method on 2 images. Skipped where torch cannot make the exports
 * (.ci/run installs Debian's python3-torch when it can).
 */
@org.atlas4j.IntegrationTest
class RealSizeNetsTest {
    @TempDir
    static Path tmp;
    static Path images;
    static Path explainImages;

    @BeforeAll
    static void images() throws Exception {
        Progress.setQuiet(true);
        images = CommandMatrix.classImages(tmp.resolve("images"), List.of("a", "b"), 2, 256, 9);
        explainImages = ArchitectureFamiliesTest.copyFirst(images.resolve("a"), tmp.resolve("explain-images"), 2);
    }

    @ParameterizedTest
    @CsvSource({"googlenet, inception4c", "mobilenet_v2, features.13", "inception_v3, Mixed_6c", "resnet50, layer3"})
    void runAndExplainOnASmallSlice(String net, String layer) throws Exception {
        ArchitectureFamiliesTest.onlyIfSelected(net);
        Path onnx = OnnxTorchvisionTest.DIR.resolve(net + ".onnx");
        if (!Files.exists(onnx)) OnnxTorchvisionTest.generate(net);
        Assumptions.assumeTrue(Files.exists(onnx), "no " + onnx + " and no torch to make it (apt-get install python3-torch "
                + "python3-torchvision)");
        Path out = tmp.resolve("out-" + net);
        Path run = out.resolve("run");
        CommandMatrix m = new CommandMatrix(out);
        m.step("run", o -> {
            for (String f : List.of("atlas.png", "index.html", "render/fidelity.json", "collect/activations.npy")) {
                exists(run.resolve(f));
            }
            Npy.NpyArray acts = Npy.read(run.resolve("collect/activations.npy"));
            assertEquals(4, acts.rows());
            assertTrue(ArchitectureFamiliesTest.nonZero(acts.data()), "all activations are zero");
            int side = Files.readString(onnx.resolveSibling(net + ".json")).contains("299") ? 299 : 224;
            try (var tiles = Files.list(run.resolve("render/tiles"))) {
                Path tile = tiles.filter(p -> p.toString().endsWith(".png")).findFirst().orElseThrow();
                assertEquals(side, javax.imageio.ImageIO.read(tile.toFile()).getWidth(), "icon size = model input size");
            }
            allFinite(run);
        }, "run", "--model", onnx.toString(), "--images", images.toString(), "--output", out.toString(), "--name", "run",
                "--layer", layer, "--grid", "2", "--threshold", "0", "--steps", "3", "--render-batch", "4", "--seed", "2");
        Path ex = out.resolve("explain");
        m.step("explain --method all", o -> {
            exists(ex.resolve("index.json"));
            int maps = 0;
            try (var walk = Files.walk(ex)) {
                for (Path p : walk.filter(p -> p.toString().endsWith(".npy")).toList()) maps++;
            }
            assertTrue(maps >= 2 * 4, "only " + maps + " maps");
            allFinite(ex);
        }, "explain", "--model", onnx.toString(), "--images", explainImages.toString(), "--out", ex.toString(), "--method",
                "all", "--smooth-samples", "2", "--batch", "2");
        m.assertAllPassed(net);
    }
}
