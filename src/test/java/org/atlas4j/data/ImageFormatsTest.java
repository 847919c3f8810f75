package org.atlas4j.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.Color;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Formats users have (WebP, CMYK/YCCK and progressive JPEG, 16-bit PNG/TIFF, palette, grey+alpha) decode to the
 * colours they hold, and damaged files (cut short, corrupt) are refused with the reason unless kept. Fixtures: 32×16
 * images made by src/test/resources/fixtures/images/make_images.py, left half (200, 40, 40), right half (40, 80, 200);
 * grey ones 60 | 190, the grey+alpha one transparent on the right.
 */
@org.atlas4j.UnitTest
class ImageFormatsTest {
    @TempDir
    Path dir;

    static final Path FIXTURES = Path.of("src/test/resources/fixtures/images");
    static final PixelScaling RAW = PixelScaling.parse("pixels", 3);

    /** The file's decoded values (0..255) at the centres of its halves: {r, g, b} left, {r, g, b} right. */
    static float[][] halves(Path f) throws Exception {
        return halves(f, ImageFiles.Limits.DEFAULT);
    }

    /** With keepDamaged the reader decodes into a destination made from its first image type: same colours. */
    static float[][] halves(Path f, ImageFiles.Limits limits) throws Exception {
        var p = new ImageFiles.Preprocess(3, 16, 32, RAW, ImageFiles.Resize.STRETCH, Color.BLACK, false,
                ImageFiles.ResizeFilter.AREA);
        float[] x = new float[3 * 16 * 32];
        assertNull(ImageFiles.load(f, p, limits, x, 0), f + " is not damaged");
        int area = 16 * 32;
        float[][] out = new float[2][3];
        for (int c = 0; c < 3; c++) {
            out[0][c] = x[c * area + 8 * 32 + 4];
            out[1][c] = x[c * area + 8 * 32 + 27];
        }
        return out;
    }

    static void assertColour(String file, float[] got, double tol, int... rgb) {
        for (int c = 0; c < 3; c++) {
            assertTrue(Math.abs(got[c] - rgb[c]) <= tol, file + ": expected " + Arrays.toString(rgb) + " ± " + tol + ", got "
                    + Arrays.toString(got));
        }
    }

    @Test
    void colourFormatsDecodeToTheirColours() throws Exception {
        String[][] cases = {{"lossless.webp", "1"}, {"lossy.webp", "4"}, {"baseline.jpg", "4"}, {"progressive.jpg", "4"},
                {"cmyk.jpg", "4"}, {"ycck.jpg", "4"}, {"rgb16.tif", "1"}, {"palette.png", "1"}};
        for (boolean keep : new boolean[] {false, true}) {
            for (String[] c : cases) {
                float[][] h = halves(FIXTURES.resolve(c[0]), new ImageFiles.Limits(ImageFiles.DEFAULT_MAX_PIXELS, keep));
                double tol = Double.parseDouble(c[1]);
                assertColour(c[0], h[0], tol, 200, 40, 40);
                assertColour(c[0], h[1], tol, 40, 80, 200);
            }
        }
    }

    @Test
    void greyImagesKeepTheirStoredValues() throws Exception {
        // Java's grey colour space is linear: drawn naively a stored 60 becomes 133, a 190 becomes 224
        float[][] g16 = halves(FIXTURES.resolve("grey16.png"));
        assertColour("grey16.png", g16[0], 1, 60, 60, 60);
        assertColour("grey16.png", g16[1], 1, 190, 190, 190);
        float[][] ga = halves(FIXTURES.resolve("grey-alpha.png"), new ImageFiles.Limits(ImageFiles.DEFAULT_MAX_PIXELS, true));
        assertColour("grey-alpha.png", ga[0], 1, 60, 60, 60);
        assertColour("grey-alpha.png (transparent over black)", ga[1], 1, 0, 0, 0);
    }

    @Test
    void webpDecodesWithSubsampling() throws Exception {
        for (String f : new String[] {"lossy.webp", "lossless.webp", "cmyk.jpg", "rgb16.tif"}) {
            var img = ImageFiles.read(FIXTURES.resolve(f), 2, ImageFiles.DEFAULT_MAX_PIXELS);
            assertEquals(16, img.getWidth(), f);
            assertEquals(8, img.getHeight(), f);
        }
    }

    @Test
    void colourWarningsAreNotDamage() {
        assertFalse(ImageFiles.damageWarning("No embedded ICC color profile, will convert using inaccurate CMYK to RGB "
                + "conversion. Colors may look incorrect."));
        assertTrue(ImageFiles.damageWarning("Corrupt JPEG data: premature end of data segment"));
        assertTrue(ImageFiles.damageWarning("Truncated File - Missing EOI marker"));
    }

    // ---- damaged files ----

    static byte[] jpeg() throws Exception {
        Path f = Files.createTempFile("scene", ".jpg");
        FolderCropsAndBigImagesTest.write(FolderCropsAndBigImagesTest.scene(240, 180, 3), f);
        byte[] b = Files.readAllBytes(f);
        Files.delete(f);
        return b;
    }

    static byte[] png() throws Exception {
        var out = new java.io.ByteArrayOutputStream();
        javax.imageio.ImageIO.write(FolderCropsAndBigImagesTest.scene(240, 180, 5), "png", out);
        return out.toByteArray();
    }

    /** b with 64 bytes from the middle on flipped: the file keeps its length and end marker. */
    static byte[] corrupted(byte[] b) {
        byte[] c = b.clone();
        for (int i = c.length / 2; i < c.length / 2 + 64; i++) c[i] ^= 0x55;
        return c;
    }

    @Test
    void truncatedFilesAreSkippedAtOpenWithTheReasonOrKeptWhenAsked() throws Exception {
        byte[] j = jpeg();
        byte[] p = png();
        Files.write(dir.resolve("good.jpg"), j);
        Files.write(dir.resolve("cut.jpg"), Arrays.copyOf(j, j.length / 3));
        Files.write(dir.resolve("cut.png"), Arrays.copyOf(p, p.length * 2 / 3));
        var pre = FolderCropsAndBigImagesTest.pre(16, ImageFiles.ResizeFilter.AREA);
        try (FolderDataset d = FolderDataset.open(dir, null, pre)) {
            assertEquals(1, d.size());
            assertEquals(2, d.skipped().size(), d.skipped().toString());
            for (var s : d.skipped()) assertTrue(s.reason().startsWith("truncated: the " + (s.file().endsWith("jpg") ? "JPEG" : "PNG")), s.toString());
        }
        var keep = new FolderDataset.Sampling(RandomCrops.Options.NONE, 0, ImageFiles.DEFAULT_MAX_PIXELS, true);
        try (FolderDataset d = FolderDataset.open(dir, null, pre, keep)) {
            assertEquals(3, d.size());
            assertEquals(0, d.skipped().size());
            float[] x = new float[d.imageLength()];
            for (int i = 0; i < d.size(); i++) d.copyImage(i, x, 0);
            assertEquals(java.util.List.of("cut.jpg", "cut.png"), d.damaged().stream().map(FolderDataset.Skipped::file).toList());
            // the kept PNG is what decoded before the cut, not black: its top rows hold the scene
            assertEquals(java.util.List.of(), d.failed(), "a cut-short PNG is kept as far as it decodes");
        }
        // a direct load refuses it too, and the JPEG's decoder warning alone would (the tail check aside)
        var e = assertThrows(ImageFiles.DamagedImageException.class, () -> ImageFiles.load(dir.resolve("cut.jpg"), pre,
                new float[pre.channels() * 16 * 16], 0));
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());
        var w = assertThrows(ImageFiles.DamagedImageException.class, () -> ImageFiles.read(dir.resolve("cut.jpg"), 1,
                ImageFiles.DEFAULT_MAX_PIXELS));
        assertTrue(w.getMessage().contains("premature end of data segment"), w.getMessage());
    }

    @Test
    void dataAfterTheEndMarkerIsNotTruncation() throws Exception {
        byte[] j = jpeg();
        byte[] trailer = new byte[5000]; // e.g. a camera's appended block, past the 64 bytes read first
        Path f = dir.resolve("trailer.jpg");
        Files.write(f, j);
        Files.write(f, trailer, java.nio.file.StandardOpenOption.APPEND);
        assertNull(ImageFiles.truncation(f));
        Files.write(f, Arrays.copyOf(j, j.length - 2)); // only the EOI marker missing
        assertNotNull(ImageFiles.truncation(f));
        byte[] p = png();
        Files.write(f, Arrays.copyOf(p, p.length - 12)); // the IEND chunk missing
        assertTrue(ImageFiles.truncation(f).contains("IEND"));
    }

    @Test
    void corruptDataIsFoundWhenDecodedAndListedOrKept() throws Exception {
        Files.write(dir.resolve("bad.jpg"), corrupted(jpeg()));
        Files.write(dir.resolve("bad.png"), corrupted(png()));
        Files.write(dir.resolve("good.jpg"), jpeg());
        var pre = FolderCropsAndBigImagesTest.pre(16, ImageFiles.ResizeFilter.AREA);
        try (FolderDataset d = FolderDataset.open(dir, null, pre)) {
            assertEquals(3, d.size(), "headers and end markers are fine");
            float[] x = new float[d.imageLength()];
            for (int i = 0; i < d.size(); i++) d.copyImage(i, x, 0);
            assertEquals(2, d.failed().size(), d.failed().toString());
            for (var f : d.failed()) {
                assertTrue(f.reason().contains(f.file().endsWith("jpg") ? "damaged image data: Corrupt JPEG data"
                        : "corrupt image data"), f.toString());
            }
            assertEquals(0, d.damaged().size());
        }
        var keep = new FolderDataset.Sampling(RandomCrops.Options.NONE, 0, ImageFiles.DEFAULT_MAX_PIXELS, true);
        try (FolderDataset d = FolderDataset.open(dir, null, pre, keep)) {
            float[] x = new float[d.imageLength()];
            for (int i = 0; i < d.size(); i++) d.copyImage(i, x, 0);
            assertEquals(0, d.failed().size(), d.failed().toString());
            assertEquals(2, d.damaged().size(), d.damaged().toString());
            for (var f : d.damaged()) assertTrue(f.reason().startsWith("damaged, kept as decoded"), f.toString());
        }
        assertNull(ImageFiles.truncation(dir.resolve("bad.jpg")));
        assertNotNull(ImageFiles.decode(dir.resolve("bad.jpg"), 1, new ImageFiles.Limits(ImageFiles.DEFAULT_MAX_PIXELS, true)).damage());
    }
}
