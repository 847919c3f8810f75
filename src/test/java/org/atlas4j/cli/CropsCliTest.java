package org.atlas4j.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import javax.imageio.ImageIO;

import org.atlas4j.collect.Collector;
import org.atlas4j.collect.SampleTable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** --crops-per-image end to end: K crops per file, reproducible, each sample's file and box in samples.csv. */
@org.atlas4j.IntegrationTest
class CropsCliTest {
    @TempDir
    Path dir;

    @Test
    void collectOverRandomCropsWritesTheirProvenance() throws Exception {
        CliErrorsTest.assumeDemoModel();
        Path images = dir.resolve("photos");
        Files.createDirectories(images);
        int[][] sizes = {{120, 90}, {64, 200}, {300, 300}};
        for (int f = 0; f < sizes.length; f++) {
            BufferedImage img = new BufferedImage(sizes[f][0], sizes[f][1], BufferedImage.TYPE_INT_RGB);
            Graphics2D g = img.createGraphics();
            g.setColor(new Color(40 * f, 200, 90));
            g.fillRect(0, 0, img.getWidth(), img.getHeight());
            g.setColor(Color.WHITE);
            g.fillOval(img.getWidth() / 4, img.getHeight() / 5, img.getWidth() / 2, img.getHeight() / 3);
            g.dispose();
            ImageIO.write(img, "png", images.resolve("p" + f + ".png").toFile());
        }
        Files.writeString(images.resolve("notes.txt"), "not an image");
        String[] args = {"collect", "--model", CliErrorsTest.DEMO_MODEL.toString(), "--images", images.toString(),
                "--crops-per-image", "5", "--crop-scale", "0.2,0.9", "--seed", "3", "--output", dir.toString(), "--name", "a"};
        assertEquals(0, Main.run(args));
        args[args.length - 1] = "b";
        assertEquals(0, Main.run(args));
        Path a = dir.resolve("a/collect");
        Path b = dir.resolve("b/collect");
        List<String> lines = Files.readAllLines(a.resolve(Collector.SAMPLES));
        assertEquals("index,label,predicted,probability,y,x," + Collector.SOURCE_COLUMNS, lines.get(0));
        assertEquals(3 * 5 + 1, lines.size(), "files × crops rows");
        assertEquals(lines, Files.readAllLines(b.resolve(Collector.SAMPLES)), "same seed, same crops and predictions");
        assertArrayEquals(Files.readAllBytes(a.resolve(Collector.ACTIVATIONS)), Files.readAllBytes(b.resolve(Collector.ACTIVATIONS)));
        for (int i = 1; i < lines.size(); i++) {
            String[] c = lines.get(i).split(",");
            int f = (i - 1) / 5;
            assertEquals("p" + f + ".png", c[6]);
            int x = Integer.parseInt(c[7]);
            int y = Integer.parseInt(c[8]);
            int w = Integer.parseInt(c[9]);
            int h = Integer.parseInt(c[10]);
            assertTrue(x >= 0 && y >= 0 && x + w <= sizes[f][0] && y + h <= sizes[f][1], lines.get(i));
            double frac = (double) w * h / (sizes[f][0] * sizes[f][1]);
            assertTrue(frac >= 0.18 && frac <= 0.95, "area fraction " + frac + " outside --crop-scale: " + lines.get(i));
        }
        assertEquals(15, SampleTable.read(a.resolve(Collector.SAMPLES)).size(), "the sample table still reads it");
        assertTrue(Files.readString(a.resolve("skipped-files.json")).contains("notes.txt"));
        // another seed: other crops
        args[args.length - 1] = "c";
        args[args.length - 5] = "4";
        assertEquals(0, Main.run(args));
        assertTrue(!lines.equals(Files.readAllLines(dir.resolve("c/collect").resolve(Collector.SAMPLES))));
    }

    @Test
    void theRunConfigCarriesTheCropSettingsAndFlagsOverrideThem() throws Exception {
        Path yaml = dir.resolve("run.yaml");
        Files.writeString(yaml, "data:\n  type: folder\n  images: photos\n  cropsPerImage: 40\n  cropScale: [0.2, 0.9]\n"
                + "  maxImageMegapixels: 50\n");
        var c = org.atlas4j.run.RunConfig.load(yaml);
        assertEquals(40, c.data.cropsPerImage);
        assertArrayEquals(new double[] {0.2, 0.9}, c.data.cropScale);
        assertEquals(50, c.data.maxImageMegapixels);
        RunOptions o = new RunOptions();
        o.config = yaml;
        o.cropsPerImage = 7;
        o.cropScale = new double[] {0.5, 1};
        var r = o.resolve();
        assertEquals(7, r.data.cropsPerImage);
        assertArrayEquals(new double[] {0.5, 1}, r.data.cropScale);
        assertEquals(0, new org.atlas4j.run.RunConfig().data.cropsPerImage, "whole images by default");
    }

    @Test
    void badCropOptionsAreCleanErrors() {
        CliErrorsTest.assumeDemoModel();
        CliErrorsTest.assertCleanFailure(CliErrorsTest.atlas("collect", "--model", CliErrorsTest.DEMO_MODEL.toString(),
                "--images", dir.toString(), "--crop-scale", "0.5,0.2", "--crops-per-image", "3", "--output", dir.toString()),
                "--crop-scale");
        CliErrorsTest.assertCleanFailure(CliErrorsTest.atlas("collect", "--model", CliErrorsTest.DEMO_MODEL.toString(),
                "--crops-per-image", "3", "--output", dir.toString(), "--data-dir", dir.toString()), "--crops-per-image");
    }
}
