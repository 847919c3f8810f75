package org.atlas4j.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** Every flag, its own or a shared mixin's, reaches the run config; one not given keeps the config's value. */
class RunOptionsTest {
    @CommandLine.Command
    static final class Holder {
        @CommandLine.Mixin
        RunOptions options;
    }

    @Test
    void noTransformsAndNoWhitenTurnThemOff() {
        Holder h = new Holder();
        new CommandLine(h).parseArgs("--no-transforms", "--no-whiten");
        assertFalse(h.options.resolve().render.transforms);
        assertFalse(h.options.resolve().render.whiten);
        Holder d = new Holder();
        new CommandLine(d).parseArgs();
        assertTrue(d.options.resolve().render.transforms, "the paper's transforms are the default");
        assertTrue(d.options.resolve().render.whiten);
    }

    @Test
    void everyFlagReachesTheConfig(@TempDir Path dir) {
        Holder h = new Holder();
        new CommandLine(h).parseArgs("--name", "n", "--output", "o", "--model", "m.onnx", "--format", "onnx", "--input-shape",
                "3,32,32", "--layer", "l", "--seed", "7", "--data-dir", "d", "--images", dir.toString(), "--labels", "x.csv",
                "--limit", "9", "--crops-per-image", "4", "--crop-scale", "0.2,0.9", "--max-image-megapixels", "2.5",
                "--keep-damaged", "--attribution", "--method", "tsne", "--neighbors", "5", "--min-dist", "0.5", "--epochs", "11",
                "--grid", "6", "--levels", "3,12", "--threshold", "2", "--steps", "8", "--render-batch", "4", "--icon-size", "40",
                "--attempts", "2", "--tile-px", "30", "--force");
        var c = h.options.resolve();
        assertEquals(List.of("n", "o", "m.onnx", "onnx", "l", 7L, "d", "folder", dir.toString(), "x.csv", 9, 4, 2.5, true),
                List.of(c.name, c.output, c.model, c.modelFormat, c.layer, c.seed, c.data.dir, c.data.type, c.data.images,
                        c.data.labels, c.data.limit, c.data.cropsPerImage, c.data.maxImageMegapixels, c.data.keepDamaged));
        assertArrayEquals(new int[] {3, 32, 32}, c.inputShape);
        assertArrayEquals(new double[] {0.2, 0.9}, c.data.cropScale);
        assertEquals(List.of(true, "tsne", 5, 0.5, 11, 6, List.of(3, 12), 2, 8, 4, 40, 2, 30),
                List.of(c.collect.attribution, c.reduce.method, c.reduce.neighbors, c.reduce.minDist, c.reduce.epochs, c.grid.size,
                        c.grid.levels, c.grid.threshold, c.render.steps, c.render.batchSize, c.render.iconSize, c.render.attempts,
                        c.stitch.tilePixels));
        assertTrue(h.options.force());

        // nothing given: the config's values (here the built-in defaults) stay, --force is off
        Holder d = new Holder();
        new CommandLine(d).parseArgs();
        var base = new org.atlas4j.run.RunConfig();
        var r = d.options.resolve();
        assertEquals(List.of(base.model, base.data.dir, base.data.maxImageMegapixels, base.data.keepDamaged, base.grid.levels),
                List.of(r.model, r.data.dir, r.data.maxImageMegapixels, r.data.keepDamaged, r.grid.levels));
        assertEquals(null, r.modelFormat);
        assertEquals(null, r.inputShape);
        assertEquals(null, r.layer);
        assertFalse(d.options.force());
    }
}
