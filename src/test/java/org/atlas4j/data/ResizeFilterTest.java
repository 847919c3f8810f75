package org.atlas4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.Color;
import java.awt.image.BufferedImage;
import java.io.InputStream;

import org.atlas4j.io.Json;
import org.atlas4j.util.UserError;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The resize filters against reference outputs made by src/test/resources/fixtures/resize/make_fixtures.py: Pillow 9.4
 * Image.resize (bilinear-aa, bicubic-aa), torch 1.13 F.interpolate bilinear without antialiasing (bilinear), and hand-
 * computed 1-D cases (bilinear, area).
 */
@org.atlas4j.UnitTest
class ResizeFilterTest {
    static JsonNode fixtures;
    static BufferedImage input;

    @BeforeAll
    static void load() throws Exception {
        try (InputStream in = ResizeFilterTest.class.getResourceAsStream("/fixtures/resize/resize-fixtures.json")) {
            fixtures = Json.MAPPER.readTree(in);
        }
        JsonNode im = fixtures.get("input");
        input = image(im.get("rgb"), im.get("width").asInt(), im.get("height").asInt());
    }

    static BufferedImage image(JsonNode rgb, int w, int h) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                JsonNode p = rgb.get(y).get(x);
                img.setRGB(x, y, (p.get(0).asInt() << 16) | (p.get(1).asInt() << 8) | p.get(2).asInt());
            }
        }
        return img;
    }

    /** Model input in 0..255 ("pixels" scaling), NCHW, stretched to w×h with the filter. */
    static float[] resized(BufferedImage img, int w, int h, ImageFiles.ResizeFilter f) {
        var p = new ImageFiles.Preprocess(3, h, w, PixelScaling.parse("pixels", 3), ImageFiles.Resize.STRETCH, Color.BLACK,
                false, f);
        float[] out = new float[3 * h * w];
        ImageFiles.toInput(img, p, out, 0);
        return out;
    }

    /** The largest |difference| to the expected [h][w][3] array. */
    static double maxDiff(JsonNode c, ImageFiles.ResizeFilter f) {
        int w = c.get("width").asInt();
        int h = c.get("height").asInt();
        float[] got = resized(input, w, h, f);
        double max = 0;
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                for (int ch = 0; ch < 3; ch++) {
                    double e = c.get("rgb").get(y).get(x).get(ch).asDouble();
                    max = Math.max(max, Math.abs(e - got[ch * h * w + y * w + x]));
                }
            }
        }
        return max;
    }

    @Test
    void pillowFiltersMatchPillow() {
        int cases = 0;
        for (JsonNode c : fixtures.get("pil")) {
            ImageFiles.ResizeFilter f = ImageFiles.ResizeFilter.parse(c.get("filter").asText(), "test");
            double d = maxDiff(c, f);
            // Pillow's 22-bit fixed-point weights and 8-bit rounding per pass are reproduced: exact
            assertTrue(d == 0, f.id + " to " + c.get("width") + "×" + c.get("height") + ": max difference " + d);
            cases++;
        }
        assertEquals(10, cases);
    }

    @Test
    void plainBilinearMatchesTorchInterpolate() {
        for (JsonNode c : fixtures.get("torch")) {
            double d = maxDiff(c, ImageFiles.ResizeFilter.BILINEAR);
            assertTrue(d <= 0.006, "bilinear to " + c.get("width") + "×" + c.get("height") + ": max difference " + d);
        }
    }

    @Test
    void handComputedBilinearAndAreaCases() {
        for (JsonNode c : fixtures.get("hand")) {
            ImageFiles.ResizeFilter f = ImageFiles.ResizeFilter.parse(c.get("filter").asText(), "test");
            int n = c.get("in").size();
            int m = c.get("out").size();
            float[] row = new float[n];
            for (int i = 0; i < n; i++) row[i] = (float) c.get("in").get(i).asDouble();
            float[] expected = new float[m];
            for (int i = 0; i < m; i++) expected[i] = (float) c.get("out").get(i).asDouble();
            // along x (1 row) and along y (1 column): the same numbers
            assertArrayEquals(expected, Resample.resize(row, n, 1, m, 1, f), 1e-4f, f.id + " " + c.get("in") + " along x");
            assertArrayEquals(expected, Resample.resize(row, 1, n, 1, m, f), 1e-4f, f.id + " " + c.get("in") + " along y");
        }
    }

    @Test
    void areaOfAnIntegerReductionIsTheBlockMean() {
        float[] img = new float[6 * 4];
        for (int i = 0; i < img.length; i++) img[i] = i * i % 17;
        float[] out = Resample.resize(img, 6, 4, 3, 2, ImageFiles.ResizeFilter.AREA);
        for (int y = 0; y < 2; y++) {
            for (int x = 0; x < 3; x++) {
                double s = 0;
                for (int dy = 0; dy < 2; dy++) for (int dx = 0; dx < 2; dx++) s += img[(2 * y + dy) * 6 + 2 * x + dx];
                assertEquals(s / 4, out[y * 3 + x], 1e-5);
            }
        }
    }

    @Test
    void filtersKeepAConstantImageAndUnitWeights() {
        for (ImageFiles.ResizeFilter f : ImageFiles.ResizeFilter.values()) {
            if (f == ImageFiles.ResizeFilter.JAVA2D) continue;
            for (int[] s : new int[][] {{299, 224}, {7, 224}, {224, 7}, {1, 5}, {5, 1}, {13, 13}}) {
                Resample.Taps t = Resample.taps(s[0], s[1], f);
                for (int o = 0; o < s[1]; o++) {
                    double sum = 0;
                    for (double w : t.weights()[o]) sum += w;
                    assertEquals(1, sum, 1e-12, f.id + " " + s[0] + "→" + s[1] + " output " + o);
                    assertTrue(t.start()[o] >= 0 && t.start()[o] + t.weights()[o].length <= s[0], "taps inside the input");
                }
            }
        }
    }

    @Test
    void cropAndPadPlaceTheResizedImageAsJava2dDoes() {
        // a white 40×20 image: crop to 10×10 fills everything, pad leaves background bands top and bottom
        BufferedImage white = new BufferedImage(40, 20, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 20; y++) for (int x = 0; x < 40; x++) white.setRGB(x, y, 0xffffff);
        for (ImageFiles.ResizeFilter f : ImageFiles.ResizeFilter.values()) {
            for (ImageFiles.Resize r : new ImageFiles.Resize[] {ImageFiles.Resize.CROP, ImageFiles.Resize.PAD}) {
                var p = new ImageFiles.Preprocess(1, 10, 10, PixelScaling.parse("pixels", 1), r, Color.BLACK, false, f);
                float[] out = new float[100];
                ImageFiles.toInput(white, p, out, 0);
                for (int y = 0; y < 10; y++) {
                    boolean band = r == ImageFiles.Resize.PAD && (y < 2 || y >= 7);
                    assertEquals(band ? 0 : 255, out[y * 10 + 5], 0.5, f.id + " " + r + " row " + y);
                }
            }
        }
    }

    @Test
    void modelCardTakesAResizeFilter() {
        var card = new org.atlas4j.model.ModelCard("m.zip", new int[] {3, 224, 224}, null, null, "imagenet", null, null,
                "crop", null, "bicubic-aa");
        assertEquals("bicubic-aa", card.resizeFilter());
        var e = assertThrows(UserError.class, () -> new org.atlas4j.model.ModelCard("m.zip", new int[] {3, 224, 224}, null,
                null, null, null, null, null, null, "nearest"));
        assertTrue(e.getMessage().startsWith("model card: resizeFilter must be one of"), e.getMessage());
        assertEquals(null, card.forCopy("n.zip", new int[] {3, 224, 224}, "copy").classNamesFile());
        assertEquals("bicubic-aa", card.forCopy("n.zip", new int[] {3, 224, 224}, "copy").resizeFilter());
    }

    @Test
    void unknownFilterNamesTheValidOnes() {
        var e = assertThrows(UserError.class, () -> ImageFiles.ResizeFilter.parse("lanczos", "model card: resizeFilter"));
        assertTrue(e.getMessage().contains("bilinear-aa") && e.getMessage().contains("resizeFilter"), e.getMessage());
        assertEquals(ImageFiles.ResizeFilter.JAVA2D, new ImageFiles.Preprocess(1, 2, 2, PixelScaling.parse("pixels", 1),
                ImageFiles.Resize.CROP, Color.BLACK).filter(), "the default stays Java2D");
    }
}
