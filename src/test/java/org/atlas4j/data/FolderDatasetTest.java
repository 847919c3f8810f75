package org.atlas4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.Color;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

import javax.imageio.ImageIO;

import org.atlas4j.util.UserError;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@org.atlas4j.UnitTest
class FolderDatasetTest {
    @TempDir
    Path dir;

    static final ImageFiles.Preprocess PRE = new ImageFiles.Preprocess(3, 8, 8, PixelScaling.parse("pixels / 255", 3),
            ImageFiles.Resize.CROP, Color.BLACK);

    static void image(Path file, int w, int h, long seed) throws Exception {
        Files.createDirectories(file.getParent());
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Random r = new Random(seed);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) img.setRGB(x, y, r.nextInt(0x1000000));
        }
        ImageIO.write(img, file.toString().endsWith(".jpg") ? "jpg" : "png", file.toFile());
    }

    @Test
    void classFoldersGiveLabelsAndSkipUnreadableFiles() throws Exception {
        for (int i = 0; i < 300; i++) image(dir.resolve((i % 3 == 0 ? "cat" : "dog") + "/" + i + ".png"), 10 + i % 7, 9, i);
        image(dir.resolve("dog/photo.jpg"), 40, 30, 7);
        Files.writeString(dir.resolve("cat/notes.txt"), "not an image");
        Files.write(dir.resolve("dog/broken.png"), new byte[] {(byte) 0x89, 'P', 'N', 'G', 1, 2, 3});
        image(dir.resolve("loose.png"), 8, 8, 1);
        try (FolderDataset d = FolderDataset.open(dir, null, PRE)) {
            assertEquals(List.of("cat", "dog"), d.classNames());
            assertEquals(301, d.size());
            assertEquals(3, d.skipped().size(), d.skipped().toString());
            assertTrue(d.skipped().stream().anyMatch(s -> s.file().endsWith("notes.txt")));
            assertTrue(d.skipped().stream().anyMatch(s -> s.file().endsWith("broken.png")));
            assertTrue(d.skipped().stream().anyMatch(s -> s.file().equals("loose.png") && s.reason().contains("class folders")));
            // background-decoded images equal a direct load, in order and out of order
            float[] got = new float[d.imageLength()];
            float[] want = new float[d.imageLength()];
            for (int i : new int[] {0, 1, 2, 150, 3, 300, 299}) {
                d.copyImage(i, got, 0);
                ImageFiles.load(d.file(i), PRE, want, 0);
                assertArrayEquals(want, got, "image " + i);
                assertEquals(d.file(i).getParent().getFileName().toString().equals("cat") ? 0 : 1, d.label(i));
            }
            for (int i = 0; i < d.size(); i++) d.copyImage(i, got, 0); // a full pass through the prefetch window
            assertTrue(d.failed().isEmpty());
        }
    }

    @Test
    void flatFolderWithLabelsCsv() throws Exception {
        image(dir.resolve("a.png"), 8, 8, 1);
        image(dir.resolve("b.png"), 8, 8, 2);
        image(dir.resolve("c.png"), 8, 8, 3);
        Path csv = Files.writeString(dir.resolve("labels.csv"), "file,label\na.png,shoe\nb.png,bag\nc.png,shoe\n");
        try (FolderDataset d = FolderDataset.open(dir, csv, PRE)) {
            assertEquals(List.of("bag", "shoe"), d.classNames());
            assertEquals(1, d.label(0));
            assertEquals(0, d.label(1));
        }
        Files.writeString(csv, "a.png,shoe\nmissing.png,bag\n");
        UserError e = assertThrows(UserError.class, () -> FolderDataset.open(dir, csv, PRE));
        assertTrue(e.getMessage().contains("missing.png"), e.getMessage());
        Files.writeString(csv, "a.png;shoe\n");
        assertThrows(UserError.class, () -> FolderDataset.open(dir, csv, PRE));
    }

    @Test
    void emptyDatasetAndEmptyClassAreClearErrors() throws Exception {
        Files.createDirectories(dir.resolve("empty"));
        image(dir.resolve("full/x.png"), 8, 8, 1);
        UserError e = assertThrows(UserError.class, () -> FolderDataset.open(dir, null, PRE));
        assertTrue(e.getMessage().contains("empty"), e.getMessage());
        Path other = Files.createDirectories(dir.resolve("../other"));
        Files.writeString(other.resolve("x.txt"), "text");
        UserError none = assertThrows(UserError.class, () -> FolderDataset.open(other, null, PRE));
        assertTrue(none.getMessage().contains("no readable images"), none.getMessage());
    }

    /** Regression: class folders named like the model's classes got the folders' own indices (boat → 0, not 1). */
    @Test
    void classFoldersNamedAfterTheModelsClassesGetTheModelsIndices() throws Exception {
        image(dir.resolve("Dog/a.png"), 8, 8, 1);
        image(dir.resolve("boat/b.png"), 8, 8, 2);
        image(dir.resolve("boat/c.png"), 8, 8, 3);
        List<String> model = List.of("apple", "boat", "cat", "dog");
        try (FolderDataset d = FolderDataset.open(dir, null, PRE, model)) {
            assertEquals(model, d.classNames());
            assertEquals(3, d.label(0), "Dog is the model's class 3 (case-insensitive)");
            assertEquals(1, d.label(1));
        }
        // folders that name no model class (e.g. WordNet ids) keep their own order
        try (FolderDataset d = FolderDataset.open(dir, null, PRE, List.of("x", "y"))) {
            assertEquals(List.of("Dog", "boat"), d.classNames());
            assertEquals(0, d.label(0));
        }
        // a partial match is refused with the unmatched names
        UserError e = assertThrows(UserError.class, () -> FolderDataset.open(dir, null, PRE, List.of("boat", "cow")));
        assertTrue(e.getMessage().contains("[Dog]") && e.getMessage().contains("classNames"), e.getMessage());
        // numeric CSV labels are model class indices
        Path csv = Files.writeString(dir.resolve("labels.csv"), "Dog/a.png,3\nboat/b.png,7\n");
        try (FolderDataset d = FolderDataset.open(dir, csv, PRE, List.of("0", "1", "2", "3", "4", "5", "6", "7"))) {
            assertEquals(3, d.label(0));
            assertEquals(7, d.label(1));
        }
    }
}
