package org.atlas4j.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.awt.Color;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;

import javax.imageio.ImageIO;

import org.atlas4j.collect.Collector;
import org.atlas4j.provenance.Provenance;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A stage command alone skips when its stamp is up to date, and --force redoes it, as for ./atlas run. */
class StageForceTest {
    @TempDir
    Path dir;

    @Test
    void collectAloneSkipsWhenUpToDateAndRedoesWithForce() throws Exception {
        CliErrorsTest.assumeDemoModel();
        Path images = dir.resolve("photos");
        Files.createDirectories(images);
        for (int f = 0; f < 3; f++) {
            BufferedImage img = new BufferedImage(40, 40, BufferedImage.TYPE_INT_RGB);
            img.setRGB(10 * f, 10, Color.WHITE.getRGB());
            ImageIO.write(img, "png", images.resolve("p" + f + ".png").toFile());
        }
        String[] args = {"collect", "--model", CliErrorsTest.DEMO_MODEL.toString(), "--images", images.toString(),
                "--output", dir.toString(), "--name", "r"};
        Path run = dir.resolve("r");
        assertEquals(0, Main.run(args));
        String first = Provenance.read(run).stages().get("collect").finished();
        byte[] acts = Files.readAllBytes(run.resolve("collect").resolve(Collector.ACTIVATIONS));

        assertEquals(0, Main.run(args));
        assertEquals(first, Provenance.read(run).stages().get("collect").finished(), "collect ran again although up to date");

        String[] forced = java.util.Arrays.copyOf(args, args.length + 1);
        forced[args.length] = "--force";
        assertEquals(0, Main.run(forced));
        assertNotEquals(first, Provenance.read(run).stages().get("collect").finished(), "--force did not redo collect");
        assertArrayEquals(acts, Files.readAllBytes(run.resolve("collect").resolve(Collector.ACTIVATIONS)), "same seed, same activations");
    }
}
