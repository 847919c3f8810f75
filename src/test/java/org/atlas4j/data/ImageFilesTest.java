package org.atlas4j.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.Color;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import javax.imageio.ImageIO;

import org.atlas4j.util.UserError;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@org.atlas4j.UnitTest
class ImageFilesTest {
    @TempDir
    Path dir;

    static ImageFiles.Preprocess grey(int h, int w, ImageFiles.Resize r) {
        return new ImageFiles.Preprocess(1, h, w, PixelScaling.parse("pixels / 255", 1), r, Color.BLACK);
    }

    static Path png(Path file, BufferedImage img) throws Exception {
        ImageIO.write(img, "png", file.toFile());
        return file;
    }

    @Test
    void greyRgbRgbaSixteenBitAndJpegAllBecomeModelInput() throws Exception {
        BufferedImage g8 = new BufferedImage(40, 30, BufferedImage.TYPE_BYTE_GRAY);
        BufferedImage g16 = new BufferedImage(13, 17, BufferedImage.TYPE_USHORT_GRAY);
        BufferedImage rgb = new BufferedImage(64, 64, BufferedImage.TYPE_INT_RGB);
        BufferedImage rgba = new BufferedImage(10, 10, BufferedImage.TYPE_INT_ARGB);
        for (BufferedImage img : List.of(g8, g16, rgb, rgba)) {
            var gr = img.createGraphics();
            gr.setColor(Color.WHITE);
            gr.fillRect(0, 0, img.getWidth(), img.getHeight());
            gr.dispose();
        }
        Path[] files = {png(dir.resolve("g8.png"), g8), png(dir.resolve("g16.png"), g16), png(dir.resolve("rgb.png"), rgb),
                png(dir.resolve("rgba.png"), rgba), dir.resolve("photo.jpg")};
        ImageIO.write(rgb, "jpg", files[4].toFile());
        for (Path f : files) {
            float[] x = new float[28 * 28];
            ImageFiles.load(f, grey(28, 28, ImageFiles.Resize.STRETCH), x, 0);
            for (float v : x) assertEquals(1.0, v, 0.02, f.getFileName() + " white → 1");
        }
    }

    @Test
    void colourBecomesLumaOrChannelsAndAlphaMeetsTheBackground() throws Exception {
        BufferedImage img = new BufferedImage(2, 1, BufferedImage.TYPE_INT_ARGB);
        img.setRGB(0, 0, 0xffff0000); // opaque red
        img.setRGB(1, 0, 0x00ffffff); // fully transparent white
        Path f = png(dir.resolve("a.png"), img);
        float[] x = new float[2];
        ImageFiles.load(f, grey(1, 2, ImageFiles.Resize.STRETCH), x, 0);
        assertEquals(0.299, x[0], 0.005); // BT.601 luma of pure red
        assertEquals(0, x[1], 1e-6); // transparent → black background
        float[] rgb = new float[6];
        var p = new ImageFiles.Preprocess(3, 1, 2, PixelScaling.parse("pixels / 127.5 - 1", 3), ImageFiles.Resize.STRETCH,
                Color.WHITE);
        ImageFiles.load(f, p, rgb, 0);
        assertEquals(1, rgb[0], 1e-6); // R of red
        assertEquals(-1, rgb[2], 1e-6); // G of red
        assertEquals(1, rgb[1], 1e-6); // transparent → white background, R
        assertEquals(1, rgb[5], 1e-6); // ... and B
        float[] bgr = new float[6];
        ImageFiles.load(f, new ImageFiles.Preprocess(3, 1, 2, p.scaling(), ImageFiles.Resize.STRETCH, Color.WHITE, true), bgr, 0);
        assertEquals(-1, bgr[0], 1e-6); // first channel is now blue: 0 for red
        assertEquals(1, bgr[4], 1e-6); // third channel is red
    }

    @Test
    void cropKeepsTheCentrePadKeepsEverything() throws Exception {
        // 30 wide × 10 high: left third white, middle black, right third white
        BufferedImage img = new BufferedImage(30, 10, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 10; y++) {
            for (int x = 0; x < 30; x++) img.setRGB(x, y, x < 10 || x >= 20 ? 0xffffff : 0);
        }
        Path f = png(dir.resolve("wide.png"), img);
        float[] crop = new float[100];
        ImageFiles.load(f, grey(10, 10, ImageFiles.Resize.CROP), crop, 0);
        for (float v : crop) assertEquals(0, v, 1e-6, "crop shows only the black centre");
        float[] pad = new float[100];
        ImageFiles.load(f, grey(10, 10, ImageFiles.Resize.PAD), pad, 0);
        // letterbox: rows 0-2 and 7-9 are background (black), the middle band holds the white-black-white strip
        double band = 0;
        for (int x = 0; x < 10; x++) band += pad[5 * 10 + x];
        assertTrue(band > 4, "the white thirds survive padding: " + band);
        for (int x = 0; x < 10; x++) assertEquals(0, pad[x], 1e-6);
    }

    @Test
    void unreadableFilesSayWhy() throws Exception {
        Path text = Files.writeString(dir.resolve("notes.txt"), "not an image");
        var e = assertThrows(ImageFiles.UnreadableImageException.class, () -> ImageFiles.read(text));
        assertTrue(e.getMessage().contains("PNG"), e.getMessage());
        // a PNG cut in half
        byte[] whole = Files.readAllBytes(png(dir.resolve("ok.png"), new BufferedImage(50, 50, BufferedImage.TYPE_INT_RGB)));
        Path cut = Files.write(dir.resolve("cut.png"), java.util.Arrays.copyOf(whole, whole.length / 2));
        assertThrows(ImageFiles.UnreadableImageException.class, () -> ImageFiles.read(cut));
    }

    @Test
    void listingIsSortedRecursiveAndSkipsHiddenFiles() throws Exception {
        Files.createDirectories(dir.resolve("sub"));
        Files.createDirectories(dir.resolve(".cache"));
        Files.writeString(dir.resolve("b.png"), "");
        Files.writeString(dir.resolve("sub/a.png"), "");
        Files.writeString(dir.resolve(".hidden.png"), "");
        Files.writeString(dir.resolve(".cache/c.png"), "");
        assertEquals(List.of(dir.resolve("b.png"), dir.resolve("sub/a.png")), ImageFiles.list(dir));
        assertThrows(UserError.class, () -> ImageFiles.list(dir.resolve("missing")));
    }

    @Test
    void pixelScalingRoundTripsAndRejectsUnknownSpecs() {
        PixelScaling s = PixelScaling.parse("imagenet", 3);
        for (int c = 0; c < 3; c++) {
            for (int p : new int[] {0, 17, 128, 255}) assertEquals(p, s.invert(c, s.apply(c, p)));
        }
        assertEquals(0.5, PixelScaling.parse("pixels / 255", 1).apply(0, 127.5), 1e-6);
        var e = assertThrows(UserError.class, () -> PixelScaling.parse("whatever", 1));
        assertTrue(e.getMessage().contains("pixels / 255"), e.getMessage());
        assertThrows(UserError.class, () -> PixelScaling.parse("imagenet", 1));
        // per-channel mean/std on 0–1 values: the ImageNet statistics written out equal "imagenet"
        PixelScaling custom = PixelScaling.parse("mean=0.485,0.456,0.406 std=0.229,0.224,0.225", 3);
        for (int c = 0; c < 3; c++) assertEquals(s.apply(c, 200), custom.apply(c, 200), 1e-6);
        assertEquals(2.0, PixelScaling.parse("mean=0.5 std=0.25", 1).apply(0, 255), 1e-6);
        var few = assertThrows(UserError.class, () -> PixelScaling.parse("mean=0.5 std=0.25", 3));
        assertTrue(few.getMessage().contains("3 mean and std values"), few.getMessage());
    }
}
