package org.atlas4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.atlas4j.util.Progress;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * --force means the same for every stage command: without it a stage whose outputs are up to date is skipped (its
 * output file is not touched), with it the stage is redone (the file is written anew). The demo model on six small
 * pictures, a 2×2 grid and two render steps.
 */
class StageForceTest {
    /** Each stage command and the output it writes last. */
    static final Map<String, String> OUTPUT = Map.of("collect", "collect/activations.npy", "reduce", "reduce/layout.npy",
            "grid", "grid/cells.json", "render", "render/render.json");

    @TempDir
    static Path tmp;
    static Path run;

    @BeforeAll
    static void firstRun() throws Exception {
        CliErrorsTest.assumeDemoModel();
        Progress.setQuiet(true);
        Path images = CommandMatrix.classImages(tmp.resolve("images"), List.of("a"), 6, 28, 5);
        // one class folder, "a", not one of the card's classes: labels do not matter to what is redone
        run = tmp.resolve("out").resolve("f");
        var o = CliErrorsTest.atlas(args("run", images));
        assertEquals(0, o.exit(), o.err());
    }

    static String[] args(String command, Path images, String... more) {
        List<String> a = new ArrayList<>(List.of(command, "--model", CliErrorsTest.DEMO_MODEL.toString(), "--images",
                images == null ? tmp.resolve("images").toString() : images.toString(), "--output", tmp.resolve("out").toString(),
                "--name", "f", "--seed", "3", "--grid", "2", "--threshold", "0", "--steps", "2", "--render-batch", "8",
                "--neighbors", "3", "--epochs", "20"));
        a.addAll(List.of(more));
        return a.toArray(String[]::new);
    }

    /** The file's identity and time: a rename of a new file changes the first, a rewrite in place the second. */
    static List<Object> written(Path f) throws Exception {
        var a = Files.readAttributes(f, BasicFileAttributes.class);
        return List.of(String.valueOf(a.fileKey()), a.lastModifiedTime());
    }

    @Test
    void withoutForceAnUpToDateStageIsSkippedWithForceItIsRedone() throws Exception {
        for (String stage : List.of("collect", "reduce", "grid", "render")) {
            Path out = run.resolve(OUTPUT.get(stage));
            List<Object> before = written(out);
            var skip = CliErrorsTest.atlas(args(stage, null));
            assertEquals(0, skip.exit(), skip.err());
            assertEquals(before, written(out), stage + " without --force rewrote " + out + " although it was up to date");

            var redo = CliErrorsTest.atlas(args(stage, null, "--force"));
            assertEquals(0, redo.exit(), redo.err());
            assertNotEquals(before, written(out), stage + " --force did not redo " + out);
        }
        // stitch keeps no stamp: it is always redone, and takes --force like the others
        var stitch = CliErrorsTest.atlas(args("stitch", null, "--force"));
        assertEquals(0, stitch.exit(), stitch.err());
    }
}
