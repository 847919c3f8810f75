package org.atlas4j.cli;

import static org.atlas4j.cli.CliErrorsTest.assertCleanFailure;
import static org.atlas4j.cli.CliErrorsTest.atlas;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.atlas4j.model.OnnxFamilies;
import org.atlas4j.util.Progress;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Regressions found by running every command on the architecture families: mistakes that ended as an internal error,
 * a misleading message, a silent success or a native library's diagnostics, now one clear line each. Checked before
 * any collecting, so each case costs a model load.
 */
@org.atlas4j.IntegrationTest
class CommandErrorsTest {
    @TempDir
    static Path tmp;
    static Path model;
    static Path images;

    @BeforeAll
    static void setUp() throws Exception {
        Progress.setQuiet(true);
        model = OnnxFamilies.write(OnnxFamilies.Family.RESNET, tmp.resolve("m"));
        images = CommandMatrix.classImages(tmp.resolve("images"), List.of("boat", "dog"), 2, 64, 1);
    }

    static String[] with(String command, String... more) {
        List<String> a = new ArrayList<>(List.of(command, "--model", model.toString(), "--images", images.toString(),
                "--output", tmp.resolve("out").toString(), "--name", "r"));
        a.addAll(List.of(more));
        return a.toArray(String[]::new);
    }

    @Test
    void compareLayersWithALayerTwiceIsRefused() {
        // was: two writers on layers/layer1/collect and "file not found: .../.samples.csv.tmp"
        assertCleanFailure(atlas(with("compare-layers", "--layers", "layer1,layer2,layer1")), "'layer1' twice");
    }

    @Test
    void patchTestOptionsAreChecked() {
        // were: a silent run with a patch larger than the image or of size 0, and "no test images of class …" for 0
        assertCleanFailure(atlas(with("patch-test", "--from", "boat", "--to", "dog", "--icon", "0", "--sizes", "0.4,1.5")),
                "--sizes", "(0, 1]", "1.5");
        assertCleanFailure(atlas(with("patch-test", "--from", "boat", "--to", "dog", "--icon", "0", "--sizes", "0")),
                "--sizes");
        assertCleanFailure(atlas(with("patch-test", "--from", "boat", "--to", "dog", "--icon", "0", "--test-images", "0")),
                "--test-images must be >= 1");
        // was: a run that measured flips from a class to itself
        assertCleanFailure(atlas(with("patch-test", "--from", "boat", "--to", "BOAT", "--icon", "0")),
                "two different classes");
    }

    @Test
    void classAtlasAndCompareOptionsAreChecked() {
        // were: "only 0 samples attribute to class" after a whole collect
        assertCleanFailure(atlas(with("class-atlas", "--class", "boat", "--top", "-1")), "--top must be >= 0");
        assertCleanFailure(atlas(with("class-atlas", "--class", "boat", "--class-grid", "0")), "--class-grid must be >= 1");
        assertCleanFailure(atlas(with("compare", "--classes", "boat,dog", "--per-class", "0")), "--per-class must be >= 1");
    }

    @Test
    void oneImageFileForAnAtlasSaysToUseAFolder() throws Exception {
        // was: "IDX images file …: wrong magic number 0x89504E47"
        Path one;
        try (var s = Files.list(images.resolve("boat"))) {
            one = s.findFirst().orElseThrow();
        }
        assertCleanFailure(atlas("run", "--model", model.toString(), "--images", one.toString(), "--output",
                tmp.resolve("out").toString()), "is one image", "folder", "./atlas explain");
    }

    @Test
    void aNonHdf5FileAsKerasIsOneLineWithoutNativeDiagnostics() {
        // was: libhdf5's screen of "HDF5-DIAG: Error detected…" lines on stderr before the message
        assertCleanFailure(atlas("layers", "--model", model.toString(), "--format", "keras"), "is not an HDF5 file");
    }
}
