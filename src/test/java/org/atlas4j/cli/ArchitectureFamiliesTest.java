package org.atlas4j.cli;

import static org.atlas4j.cli.CommandMatrix.allFinite;
import static org.atlas4j.cli.CommandMatrix.exists;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.atlas4j.io.Npy;
import org.atlas4j.model.OnnxFamilies;
import org.atlas4j.model.ZooNets;
import org.atlas4j.util.Progress;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every command on every architecture family, through the CLI entry, on a small slice (18 images in 3 class folders,
 * 3×3 grids, 4 render steps): layers, run (collect → reduce → grid → render → stitch → viewer), collect
 * --attribution, class-atlas, compare, patch-test, compare-layers, fidelity, explain with every method and --sanity.
 * ONNX models are built by {@link OnnxFamilies} (torchvision's ops and node names); the TF.js, Keras .h5 and DL4J
 * ComputationGraph routes run the same matrix on the functional TF.js fixture (conv, BN, ReLU6, depthwise, separable,
 * add, concatenate).
 */
@org.atlas4j.IntegrationTest
class ArchitectureFamiliesTest {
    /** Folder names are card classes, deliberately not the card's first three: labels must follow the card. */
    static final List<String> FOLDERS = List.of("boat", "dog", "fish");

    @TempDir
    static Path tmp;
    static Path images;
    static Path explainImages;
    static Path sanityImages;

    @BeforeAll
    static void images() throws Exception {
        Progress.setQuiet(true);
        images = CommandMatrix.classImages(tmp.resolve("images"), FOLDERS, 6, 64, 5);
        // explain's slices: 3 dog images, 2 fish images
        explainImages = copyFirst(images.resolve("dog"), tmp.resolve("explain-images"), 3);
        sanityImages = copyFirst(images.resolve("fish"), tmp.resolve("sanity-images"), 2);
    }

    static Path copyFirst(Path from, Path to, int n) throws Exception {
        Files.createDirectories(to);
        try (var d = Files.list(from)) {
            for (Path p : d.sorted().limit(n).toList()) Files.copy(p, to.resolve(p.getFileName()));
        }
        return to;
    }

    @ParameterizedTest
    @EnumSource(OnnxFamilies.Family.class)
    void everyCommandOnOnnx(OnnxFamilies.Family family) throws Exception {
        onlyIfSelected(family.name());
        Path model = OnnxFamilies.write(family, tmp.resolve("models"));
        everyCommand(family.name(), model, family.defaultLayer, family.otherLayer, 10, tmp.resolve("out-" + family.stem));
    }

    @ParameterizedTest
    @ValueSource(strings = {"tfjs", "keras", "dl4j"})
    void everyCommandOnKerasRoutes(String format) throws Exception {
        onlyIfSelected(format);
        Path fixtures = Path.of("src/test/resources/fixtures/tfjs-keras");
        Path dir = Files.createDirectories(tmp.resolve("models-" + format));
        String card = "inputShape: [3, 16, 16]\nclassNames: [apple, boat, cat, dog, fish]\ndefaultLayer: conv2\n"
                + "pixelScaling: pixels / 255\n";
        Path model = switch (format) {
            case "tfjs" -> {
                for (String f : List.of("model.json", "weights.bin")) {
                    Files.copy(fixtures.resolve("functional-cnn").resolve(f), dir.resolve(f));
                }
                Files.writeString(dir.resolve("model.yaml"), card);
                yield dir.resolve("model.json");
            }
            case "keras" -> {
                Files.copy(fixtures.resolve("functional-cnn.h5"), dir.resolve("functional-cnn.h5"));
                Files.writeString(dir.resolve("functional-cnn.yaml"), card);
                yield dir.resolve("functional-cnn.h5");
            }
            default -> { // a DL4J ComputationGraph zip, made by our convert command (the card goes with it)
                Files.copy(fixtures.resolve("functional-cnn.h5"), dir.resolve("functional-cnn.h5"));
                Files.writeString(dir.resolve("functional-cnn.yaml"), card);
                Path zip = dir.resolve("functional-cnn.zip");
                var o = CommandMatrix.atlas("convert", dir.resolve("functional-cnn.h5").toString(), zip.toString());
                assertEquals(0, o.exit(), o.err());
                yield zip;
            }
        };
        everyCommand(format, model, "conv2", "concat", 5, tmp.resolve("out-" + format));
    }

    /**
     * DL4J zoo ComputationGraphs built with {@code init()} (no download), saved as a user's zip + card by
     * {@link ZooNets}, 10 classes. Below their native sizes, to keep each family in minutes: at 224/227 px SqueezeNet
     * alone took 254 s here (collect --attribution 74 s, the sanity cascade 94 s) and ResNet-50 over ten minutes.
     * ResNet-50 runs at 128 px (107 s), SqueezeNet at 115 (16 s), Darknet19 at 128 (320 s, of which the sanity
     * cascade 170 s), Xception at 96 (365 s), VGG16 at 64 (275 s; at 224 px its 138M parameters make every command's
     * load take 23 s), InceptionResNetV1 at 96 (its sanity cascade, 24 steps over 364 layers, had not finished after
     * 10 minutes beside other jobs). ZooNetsTest checks the native sizes against DL4J's own inference.
     */
    @ParameterizedTest
    @EnumSource(ZooNets.Arch.class)
    void everyCommandOnDl4jZoo(ZooNets.Arch arch) throws Exception {
        // SqueezeNet by default (~20 s); the others take 1–7 minutes each here: -Datlas4j.zoo=all
        org.junit.jupiter.api.Assumptions.assumeTrue(ZooNets.selected(arch, arch == ZooNets.Arch.SQUEEZENET),
                arch + ": -Datlas4j.zoo=all runs it");
        Path model = ZooNets.write(arch, zooSize(arch), OnnxFamilies.CLASSES, tmp.resolve("zoo-" + arch.stem));
        everyCommand(arch.name(), model, arch.defaultLayer, arch.otherLayer, 10, tmp.resolve("out-" + arch.stem));
    }

    static int zooSize(ZooNets.Arch arch) {
        return switch (arch) {
            case RESNET50, DARKNET19 -> 128;
            case SQUEEZENET -> 115;
            case INCEPTION_RESNET_V1, XCEPTION -> 96;
            case VGG16 -> 64;
        };
    }

    /**
     * The command matrix on one model. Class folders boat/dog/fish (18 images); class-atlas on dog, compare and
     * patch-test between dog and fish.
     */
    static void everyCommand(String label, Path model, String layer, String otherLayer, int classes, Path out)
            throws Exception {
        CommandMatrix m = new CommandMatrix(out);
        String name = "run";
        Path run = out.resolve(name);
        List<String> common = List.of("--model", model.toString(), "--images", images.toString(), "--output", out.toString(),
                "--name", name, "--seed", "3");
        m.step("layers", o -> {
            assertTrue(o.out().contains(layer), "layers does not list " + layer + ":\n" + o.out());
            assertTrue(o.out().contains("yes (default)"), "no default layer marked:\n" + o.out());
        }, "layers", "--model", model.toString());

        m.step("run", o -> {
            for (String f : List.of("atlas.png", "atlas.svg", "atlas.json", "index.html", "provenance.json",
                    "collect/activations.npy", "reduce/layout.npy", "grid/cells.json", "render/fidelity.json")) {
                exists(run.resolve(f));
            }
            Npy.NpyArray acts = Npy.read(run.resolve("collect/activations.npy"));
            assertEquals(18, acts.rows());
            assertTrue(nonZero(acts.data()), "all activations are zero");
            try (var tiles = Files.list(run.resolve("render/tiles"))) {
                assertTrue(tiles.anyMatch(p -> p.toString().endsWith(".png")), "no tiles");
            }
            // labels follow the card's class indices (folders boat, dog, fish are card classes 1, 3, 5 or 1, 3, 4)
            List<String> lines = Files.readAllLines(run.resolve("collect/samples.csv"));
            assertTrue(lines.get(1).split(",")[1].equals("1"), "first image (boat) should have the card's label 1: " + lines.get(1));
            allFinite(run);
        }, args(common, "run", "--layer", layer, "--grid", "3", "--threshold", "0", "--steps", "4", "--render-batch", "16"));

        m.step("collect --attribution", o -> {
            Npy.NpyArray a = Npy.read(run.resolve("collect/attribution.npy"));
            assertEquals(18, a.rows());
            assertEquals(classes, a.cols());
            assertTrue(nonZero(a.data()), "all attributions are zero");
            allFinite(run.resolve("collect"));
        }, args(common, "collect", "--layer", layer, "--attribution"));

        // random weights: the class most samples attribute to positively (the card's classes are not the folders')
        int[] byAttribution = classesByPositiveAttribution(run.resolve("collect/attribution.npy"), classes);
        String best = Integer.toString(byAttribution[0]);
        String second = Integer.toString(byAttribution[1]);
        m.step("class-atlas", o -> {
            try (var d = Files.list(run)) {
                Path c = d.filter(p -> p.getFileName().toString().startsWith("class-")).findFirst().orElseThrow();
                exists(c.resolve("atlas.png"));
                allFinite(c);
            }
        }, args(common, "class-atlas", "--layer", layer, "--class", best, "--top", "8", "--class-grid", "2",
                "--class-threshold", "0", "--steps", "4"));

        m.step("compare", o -> {
            try (var d = Files.list(run)) {
                Path c = d.filter(p -> p.getFileName().toString().startsWith("compare-")).findFirst().orElseThrow();
                exists(c.resolve("atlas.png"));
                exists(c.resolve("dual-role.json"));
                allFinite(c);
            }
        }, args(common, "compare", "--layer", layer, "--classes", best + "," + second, "--per-class", "6", "--compare-grid",
                "2", "--compare-threshold", "0", "--steps", "4"));

        m.step("patch-test", o -> {
            Path p = run.resolve("patch-dog-to-fish");
            exists(p.resolve("patch-test.json"));
            exists(p.resolve("patch-test.txt"));
            allFinite(p);
        }, args(common, "patch-test", "--layer", layer, "--from", "dog", "--to", "fish", "--icon", "0", "--test-images", "4",
                "--sizes", "0.4"));

        m.step("compare-layers", o -> {
            for (String f : List.of("layers.png", "layers.json", "layers.html")) exists(run.resolve(f));
            allFinite(run.resolve("layers"));
        }, args(common, "compare-layers", "--layer", layer, "--layers", otherLayer + "," + layer, "--grid", "2",
                "--threshold", "0", "--steps", "4"));

        m.step("fidelity", o -> {
            exists(run.resolve("render/fidelity.json"));
            allFinite(run.resolve("render"));
        }, "fidelity", run.toString());

        Path ex = out.resolve("explain");
        m.step("explain --method every", o -> {
            exists(ex.resolve("index.json"));
            exists(ex.resolve("report.txt"));
            int maps = 0;
            try (var walk = Files.walk(ex)) {
                for (Path p : walk.filter(p -> p.toString().endsWith(".npy")).toList()) maps++;
            }
            // 3 images × 7 methods, or 3 × 6 when CAM does not apply to the layer
            assertTrue(maps >= 3 * 6, "only " + maps + " maps");
            allFinite(ex);
        }, "explain", "--model", model.toString(), "--images", explainImages.toString(), "--out", ex.toString(),
                "--method", "all,smooth-gradcam,smooth-gradcam++", "--smooth-samples", "3", "--batch", "8");
        Path sanity = out.resolve("sanity");
        m.step("explain --sanity", o -> {
            exists(sanity.resolve("sanity.json"));
            exists(sanity.resolve("sanity.txt"));
            allFinite(sanity);
        }, "explain", "--model", model.toString(), "--images", sanityImages.toString(), "--out", sanity.toString(),
                "--method", "all", "--sanity", "--sanity-images", "2", "--smooth-samples", "2", "--batch", "8");
        m.assertAllPassed(label);
    }

    /** -Datlas4j.families=RESNET,tfjs runs only those (for working on one family). */
    static void onlyIfSelected(String label) {
        String only = System.getProperty("atlas4j.families", "");
        org.junit.jupiter.api.Assumptions.assumeTrue(only.isBlank() || List.of(only.split(",")).contains(label),
                label + " not in -Datlas4j.families=" + only);
    }

    static String[] args(List<String> common, String command, String... more) {
        List<String> a = new ArrayList<>();
        a.add(command);
        a.addAll(common);
        a.addAll(List.of(more));
        return a.toArray(String[]::new);
    }

    /** Class indices ordered by how many samples attribute positively to them (then by total attribution). */
    static int[] classesByPositiveAttribution(Path attribution, int classes) throws Exception {
        if (!Files.exists(attribution)) return new int[] {0, 1};
        Npy.NpyArray a = Npy.read(attribution);
        double[] score = new double[classes];
        for (int i = 0; i < a.rows(); i++) {
            for (int c = 0; c < classes; c++) {
                float v = a.data()[i * classes + c];
                if (v > 0) score[c] += 1 + 1e-6 * Math.min(v, 1e5);
            }
        }
        return java.util.stream.IntStream.range(0, classes).boxed()
                .sorted((x, y) -> Double.compare(score[y], score[x])).mapToInt(Integer::intValue).toArray();
    }

    static boolean nonZero(float[] v) {
        for (float x : v) if (x != 0) return true;
        return false;
    }
}
