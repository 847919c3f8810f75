package org.atlas4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.GradientPaint;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.zip.CRC32;
import java.util.zip.Deflater;

import javax.imageio.ImageIO;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Random crops of image files, subsampled decoding of big images and the declared-pixel cap. */
@org.atlas4j.UnitTest
class FolderCropsAndBigImagesTest {
    @TempDir
    Path dir;

    static final PixelScaling RAW = PixelScaling.parse("pixels / 255", 3);

    static ImageFiles.Preprocess pre(int side, ImageFiles.ResizeFilter f) {
        return new ImageFiles.Preprocess(3, side, side, RAW, ImageFiles.Resize.CROP, Color.BLACK, false, f);
    }

    /** A photo-like test picture: gradients, edges at many angles, text and fine stripes. */
    static BufferedImage scene(int w, int h, long seed) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setPaint(new GradientPaint(0, 0, new Color(30, 80, 160), w, h, new Color(240, 200, 90)));
        g.fillRect(0, 0, w, h);
        Random r = new Random(seed);
        for (int i = 0; i < 60; i++) {
            g.setColor(new Color(r.nextInt(0x1000000)));
            g.setStroke(new BasicStroke(2 + r.nextInt(Math.max(1, w / 100))));
            if (i % 3 == 0) g.fillOval(r.nextInt(w), r.nextInt(h), w / 10 + r.nextInt(w / 5), h / 10 + r.nextInt(h / 5));
            else g.drawLine(r.nextInt(w), r.nextInt(h), r.nextInt(w), r.nextInt(h));
        }
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, h / 12));
        g.setColor(Color.WHITE);
        g.drawString("atlas4j 2026", w / 10, h / 2);
        g.dispose();
        return img;
    }

    static void write(BufferedImage img, Path f) throws Exception {
        Files.createDirectories(f.getParent());
        ImageIO.write(img, f.toString().endsWith(".png") ? "png" : "jpg", f.toFile());
    }

    // ---- random crops ----

    @Test
    void cropsAreCountedDeterministicInsideAndTraceable() throws Exception {
        write(scene(640, 480, 1), dir.resolve("cats/a.jpg"));
        write(scene(300, 500, 2), dir.resolve("cats/b.png"));
        write(scene(1200, 900, 3), dir.resolve("dogs/c.jpg"));
        Files.writeString(dir.resolve("dogs/readme.txt"), "not an image");
        var sampling = new FolderDataset.Sampling(new RandomCrops.Options(37, 0.08, 1.0), 5, ImageFiles.DEFAULT_MAX_PIXELS);
        var p = pre(32, ImageFiles.ResizeFilter.BILINEAR_AA);
        try (FolderDataset d = FolderDataset.open(dir, null, p, sampling);
                FolderDataset again = FolderDataset.open(dir, null, p, sampling)) {
            assertEquals(3 * 37, d.size(), "files × crops");
            assertEquals(1, d.skipped().size());
            float[] x = new float[d.imageLength()];
            float[] y = new float[d.imageLength()];
            int[] w = {640, 300, 1200};
            int[] h = {480, 500, 900};
            float[][] forward = new float[d.size()][];
            for (int i = 0; i < d.size(); i++) {
                int f = i / 37;
                assertEquals(f < 2 ? 0 : 1, d.label(i));
                ImageDataset.Source s = d.source(i);
                assertEquals(new String[] {"cats/a.jpg", "cats/b.png", "dogs/c.jpg"}[f], s.file());
                assertTrue(s.x() >= 0 && s.y() >= 0 && s.w() >= 1 && s.h() >= 1 && s.x() + s.w() <= w[f] && s.y() + s.h() <= h[f],
                        s + " outside the image");
                d.copyImage(i, x, 0);
                again.copyImage(i, y, 0);
                assertArrayEquals(x, y, "crop " + i + " differs between two opens");
                forward[i] = x.clone();
            }
            // read backwards and at random (crops decoded alone, on this thread): still the same pixels
            for (int i = d.size() - 1; i >= 0; i -= 7) {
                d.copyImage(i, x, 0);
                assertArrayEquals(forward[i], x, "crop " + i + " read out of order");
            }
            for (int i : new int[] {50, 3, 110, 74, 75, 76, 20}) {
                again.copyImage(i, y, 0);
                assertArrayEquals(forward[i], y, "crop " + i + " read at random");
            }
            // each crop is the box of its file, stretched: compare with a direct full-resolution crop
            BufferedImage c = ImageIO.read(dir.resolve("dogs/c.jpg").toFile());
            int diffs = 0;
            for (int i = 74; i < 111; i++) {
                ImageDataset.Source s = d.source(i);
                float[] want = new float[d.imageLength()];
                ImageFiles.cropToInput(c, 1, new RandomCrops.Box(s.x(), s.y(), s.w(), s.h()), p, want, 0);
                d.copyImage(i, x, 0);
                double mad = 0;
                for (int k = 0; k < x.length; k++) mad += Math.abs(x[k] - want[k]) * 255;
                mad /= x.length;
                // the subsampled decode moves box edges by under half a decoded pixel: small next to a box shifted by a
                // fifth of its size (what a wrong box would look like)
                float[] shifted = new float[d.imageLength()];
                int dx = Math.max(1, s.w() / 5) * (s.x() + s.w() + s.w() / 5 <= 1200 ? 1 : -1);
                ImageFiles.cropToInput(c, 1, new RandomCrops.Box(s.x() + dx, s.y(), s.w(), s.h()), p, shifted, 0);
                double wrong = 0;
                for (int k = 0; k < x.length; k++) wrong += Math.abs(x[k] - shifted[k]) * 255;
                wrong /= x.length;
                assertTrue(mad < 10 && mad < wrong / 2, "crop " + i + " (" + s + ") is not its box: mean abs diff " + mad
                        + " of 255, vs " + wrong + " for a shifted box");
                if (mad > 0) diffs++;
            }
            assertTrue(d.failed().isEmpty(), d.failed().toString());
            assertTrue(d.describe().contains("37 random crops"), d.describe());
        }
        var other = new FolderDataset.Sampling(new RandomCrops.Options(37, 0.08, 1.0), 6, ImageFiles.DEFAULT_MAX_PIXELS);
        try (FolderDataset d = FolderDataset.open(dir, null, p, other)) {
            assertTrue(!d.source(0).equals(FolderDataset.open(dir, null, p, sampling).source(0)), "seed must change the crops");
        }
    }

    @Test
    void wholeImagesRecordTheFullImageAsTheirBox() throws Exception {
        write(scene(64, 48, 1), dir.resolve("x.png"));
        try (FolderDataset d = FolderDataset.open(dir, null, pre(16, ImageFiles.ResizeFilter.JAVA2D))) {
            assertEquals(1, d.size());
            assertEquals(new ImageDataset.Source("x.png", 0, 0, 64, 48), d.source(0));
        }
    }

    @Test
    void aFileThatFailsToDecodeGivesBlackCropsAndIsCountedOnce() throws Exception {
        write(scene(200, 150, 1), dir.resolve("good.jpg"));
        Files.write(dir.resolve("bad.png"), png(60, 40, new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}));
        var sampling = new FolderDataset.Sampling(new RandomCrops.Options(20, 0.08, 1.0), 1, ImageFiles.DEFAULT_MAX_PIXELS);
        try (FolderDataset d = FolderDataset.open(dir, null, pre(16, ImageFiles.ResizeFilter.AREA), sampling)) {
            assertEquals(40, d.size(), "the header is fine, so the file is in the dataset");
            float[] x = new float[d.imageLength()];
            for (int i = 0; i < d.size(); i++) {
                d.copyImage(i, x, 0);
                boolean black = true;
                for (float v : x) black &= v == 0;
                assertEquals(d.file(i).getFileName().toString().equals("bad.png"), black, "sample " + i);
            }
            assertEquals(1, d.failed().size(), d.failed().toString());
            assertEquals("bad.png", d.failed().get(0).file());
        }
    }

    // ---- declared-size cap ----

    /** A PNG of the declared size with the given (compressed) IDAT payload: the header says what we like. */
    static byte[] png(int w, int h, byte[] idat) throws Exception {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        DataOutputStream o = new DataOutputStream(b);
        o.write(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
        ByteArrayOutputStream ihdr = new ByteArrayOutputStream();
        DataOutputStream ih = new DataOutputStream(ihdr);
        ih.writeInt(w);
        ih.writeInt(h);
        ih.write(new byte[] {8, 2, 0, 0, 0}); // 8-bit RGB, deflate, no filter method, no interlace
        chunk(o, "IHDR", ihdr.toByteArray());
        chunk(o, "IDAT", idat);
        chunk(o, "IEND", new byte[0]);
        return b.toByteArray();
    }

    static void chunk(DataOutputStream o, String type, byte[] data) throws Exception {
        o.writeInt(data.length);
        byte[] t = type.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        o.write(t);
        o.write(data);
        CRC32 crc = new CRC32();
        crc.update(t);
        crc.update(data);
        o.writeInt((int) crc.getValue());
    }

    static long allocatedBytes() {
        return ((com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean()).getCurrentThreadAllocatedBytes();
    }

    @Test
    void aHugeDeclaredPngIsSkippedWithAReasonWithoutAllocatingIt() throws Exception {
        // 30000×30000 RGB: 2.7 GB of samples (3.6 GB as int pixels); its IDAT is the start of a real zero stream
        Deflater z = new Deflater();
        z.setInput(new byte[1 << 20]);
        z.finish();
        byte[] buf = new byte[1 << 16];
        int n = z.deflate(buf);
        Files.write(dir.resolve("huge.png"), png(30000, 30000, java.util.Arrays.copyOf(buf, n)));
        write(scene(120, 90, 4), dir.resolve("small.jpg"));
        long before = allocatedBytes();
        try (FolderDataset d = FolderDataset.open(dir, null, pre(16, ImageFiles.ResizeFilter.AREA))) {
            float[] x = new float[d.imageLength()];
            for (int i = 0; i < d.size(); i++) d.copyImage(i, x, 0);
            long used = allocatedBytes() - before;
            assertEquals(1, d.size());
            assertEquals(1, d.skipped().size());
            assertEquals("huge.png", d.skipped().get(0).file());
            assertTrue(d.skipped().get(0).reason().contains("30000×30000 = 900 megapixels, over the cap of 89.5"),
                    d.skipped().get(0).reason());
            assertTrue(used < 64L << 20, "opening allocated " + (used >> 20) + " MB");
        }
        // direct reads refuse it too, before any pixel buffer exists
        long b2 = allocatedBytes();
        var e = assertThrows(ImageFiles.UnreadableImageException.class, () -> ImageFiles.read(dir.resolve("huge.png")));
        assertTrue(e.getMessage().contains("megapixels"), e.getMessage());
        assertTrue(allocatedBytes() - b2 < 64L << 20);
        // a cap that admits it would decode it, so the cap is what refused it (checked on the header only)
        assertEquals(new ImageFiles.Size(30000, 30000), ImageFiles.size(dir.resolve("huge.png"), 1_000_000_000L));
    }

    // ---- subsampled decoding ----

    @Test
    void subsampledDecodeOfABigJpegNearlyEqualsTheFullDecode() throws Exception {
        Path f = dir.resolve("big.jpg");
        write(scene(2400, 1800, 9), f);
        assertEquals(4, ImageFiles.subsampling(2400, 1800, 299, 224), "decoded at 600×450 for a 299×224 resize");
        for (ImageFiles.ResizeFilter filter : ImageFiles.ResizeFilter.values()) {
            var p = pre(224, filter);
            float[] sub = new float[3 * 224 * 224];
            float[] full = new float[sub.length];
            ImageFiles.load(f, p, sub, 0);
            ImageFiles.toInput(ImageIO.read(f.toFile()), p, full, 0);
            double mad = 0;
            for (int i = 0; i < sub.length; i++) mad += Math.abs(sub[i] - full[i]) * 255;
            mad /= sub.length;
            System.out.printf("subsampled vs full decode, %s: mean abs diff %.3f of 255%n", filter.id, mad);
            if (filter == ImageFiles.ResizeFilter.BILINEAR) {
                assertEquals(0, mad, "non-antialiased bilinear decodes below 16 MP in full, exactly as the framework");
            } else {
                assertTrue(mad < 2.5, filter.id + ": mean abs diff " + mad + " of 255");
                assertTrue(mad > 0, filter.id + ": identical, so no subsampling happened");
            }
        }
        // crops: the crop's own resolution decides the step
        var p = pre(64, ImageFiles.ResizeFilter.BILINEAR_AA);
        BufferedImage full = ImageIO.read(f.toFile());
        RandomCrops.Box box = new RandomCrops.Box(300, 200, 1200, 1000);
        int step = ImageFiles.subsampling(2400, 1800, box.w(), box.h(), 64, 64, p.filter());
        assertEquals(7, step);
        float[] a = new float[3 * 64 * 64];
        float[] b = new float[a.length];
        ImageFiles.cropToInput(ImageFiles.read(f, step, ImageFiles.DEFAULT_MAX_PIXELS), step, box, p, a, 0);
        ImageFiles.cropToInput(full, 1, box, p, b, 0);
        double mad = 0;
        for (int i = 0; i < a.length; i++) mad += Math.abs(a[i] - b[i]) * 255;
        mad /= a.length;
        float[] shifted = new float[a.length];
        ImageFiles.cropToInput(full, 1, new RandomCrops.Box(box.x() + 30, box.y(), box.w(), box.h()), p, shifted, 0);
        double wrong = 0;
        for (int i = 0; i < a.length; i++) wrong += Math.abs(shifted[i] - b[i]) * 255;
        wrong /= a.length;
        System.out.printf("subsampled vs full crop: mean abs diff %.3f of 255 (box shifted by 30 px: %.3f)%n", mad, wrong);
        // the box's edges land on the decoded grid (moved by at most step/2 = 3 px here, 0.2 output pixels), so the
        // crop differs more than a whole image does, but less than a box shifted by 2 output pixels
        assertTrue(mad < 6 && mad < wrong / 2, "crop: mean abs diff " + mad + " vs " + wrong + " shifted");
    }
}
