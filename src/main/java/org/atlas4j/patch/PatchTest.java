package org.atlas4j.patch;

import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;

import org.atlas4j.data.ImageDataset;
import org.atlas4j.io.AtomicFiles;
import org.atlas4j.io.Json;
import org.atlas4j.model.NetGraph;
import org.atlas4j.util.Progress;
import org.jfree.svg.SVGGraphics2D;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The paper's "adversarial" use of an icon: paste it onto images of class A (several sizes, the four corners) and
 * count how often the prediction flips to B, against two controls: a random-noise patch and a patch cut from a real
 * image of B. Icons and images are C×H×W floats in the model's input range.
 */
public final class PatchTest {
    public enum Corner { TOP_LEFT, TOP_RIGHT, BOTTOM_LEFT, BOTTOM_RIGHT }

    /** One condition's outcome over the test images. */
    public record Row(String patch, double size, Corner corner, int images, int flipped, double flipRate,
            double meanDeltaProbabilityB) {
    }

    public record Report(String from, String to, int images, double baselineRateB, List<Row> rows) {
    }

    private PatchTest() {
    }

    /** Top-left pixel of a square patch of side {@code side} in a corner of an h×w image. */
    public static int[] origin(Corner c, int side, int h, int w) {
        int y = c == Corner.TOP_LEFT || c == Corner.TOP_RIGHT ? 0 : h - side;
        int x = c == Corner.TOP_LEFT || c == Corner.BOTTOM_LEFT ? 0 : w - side;
        return new int[] {y, x};
    }

    /** Side in pixels of a patch covering {@code fraction} of the image width (at least 1). */
    public static int side(double fraction, int w) {
        return Math.max(1, Math.min(w, (int) Math.round(fraction * w)));
    }

    /** Copies {@code patch} (C×s×s) into image (C×h×w) at (y, x). */
    public static void paste(float[] image, int channels, int h, int w, float[] patch, int s, int y, int x) {
        for (int c = 0; c < channels; c++) {
            for (int r = 0; r < s; r++) {
                System.arraycopy(patch, (c * s + r) * s, image, (c * h + y + r) * w + x, s);
            }
        }
    }

    /** Bilinear resize of a C×sh×sw image to C×s×s. */
    public static float[] resize(float[] src, int channels, int sh, int sw, int s) {
        float[] out = new float[channels * s * s];
        for (int c = 0; c < channels; c++) {
            for (int y = 0; y < s; y++) {
                double fy = s == 1 ? (sh - 1) / 2.0 : y * (sh - 1) / (double) (s - 1);
                int y0 = (int) Math.floor(fy);
                int y1 = Math.min(sh - 1, y0 + 1);
                double ty = fy - y0;
                for (int x = 0; x < s; x++) {
                    double fx = s == 1 ? (sw - 1) / 2.0 : x * (sw - 1) / (double) (s - 1);
                    int x0 = (int) Math.floor(fx);
                    int x1 = Math.min(sw - 1, x0 + 1);
                    double tx = fx - x0;
                    int b = c * sh * sw;
                    double v = (1 - ty) * ((1 - tx) * src[b + y0 * sw + x0] + tx * src[b + y0 * sw + x1])
                            + ty * ((1 - tx) * src[b + y1 * sw + x0] + tx * src[b + y1 * sw + x1]);
                    out[(c * s + y) * s + x] = (float) v;
                }
            }
        }
        return out;
    }

    /**
     * @param imagesA indices (in {@code data}) of images of class A to patch
     * @param realB an image of class B to cut the real-image control from
     */
    public static Report run(NetGraph graph, ImageDataset data, int[] imagesA, int classB, float[] icon, int iconSize,
            float[] realB, double[] sizes, long seed, String from, String to) {
        return run(graph, data, imagesA, classB, icon, iconSize, realB, sizes, seed, from, to,
                org.atlas4j.data.ModelInput.unit(data.channels()));
    }

    /**
     * @param icon the icon in the model's input space (as the images are)
     * @param input how displayed values become model inputs: the noise control is uniform in displayed values
     */
    public static Report run(NetGraph graph, ImageDataset data, int[] imagesA, int classB, float[] icon, int iconSize,
            float[] realB, double[] sizes, long seed, String from, String to, org.atlas4j.data.ModelInput input) {
        int ch = data.channels();
        int h = data.height();
        int w = data.width();
        int len = data.imageLength();
        int n = imagesA.length;
        float[] base = new float[n * len];
        for (int i = 0; i < n; i++) data.copyImage(imagesA[i], base, i * len);
        // the native graph engine when it covers the network (SameDiff otherwise): patched copies are many passes
        org.atlas4j.model.GraphForward engine = org.atlas4j.model.GraphForward.of(graph, graph.output(), ch, h, w, "patch-test");
        Predictions before = predict(engine, base, n, classB);
        double[] p0 = before.probabilityB();
        int[] pred0 = before.predicted();
        int baseB = 0;
        for (int p : pred0) if (p == classB) baseB++;
        Random rng = new Random(seed);
        List<Row> rows = new ArrayList<>();
        try (engine; Progress bar = Progress.start("patch test", (long) sizes.length * Corner.values().length * 3 * n, "images")) {
            for (double size : sizes) {
                int s = side(size, w);
                float[] iconPatch = resize(icon, ch, iconSize, iconSize, s);
                float[] noiseUnit = new float[ch * s * s];
                for (int k = 0; k < noiseUnit.length; k++) noiseUnit[k] = rng.nextFloat();
                float[] noise = new float[noiseUnit.length];
                input.toModel(noiseUnit, noise, 1, s * s);
                float[] real = resize(realB, ch, h, w, s); // the whole B image shrunk to the patch: same scale as the icon
                for (Corner c : Corner.values()) {
                    int[] o = origin(c, s, h, w);
                    for (String kind : new String[] {"icon", "noise", "real image of " + to}) {
                        float[] patch = kind.equals("icon") ? iconPatch : kind.equals("noise") ? noise : real;
                        float[] x = base.clone();
                        for (int i = 0; i < n; i++) {
                            float[] one = new float[len];
                            System.arraycopy(x, i * len, one, 0, len);
                            paste(one, ch, h, w, patch, s, o[0], o[1]);
                            System.arraycopy(one, 0, x, i * len, len);
                        }
                        Predictions after = predict(engine, x, n, classB);
                        double[] p1 = after.probabilityB();
                        int[] pred1 = after.predicted();
                        int flipped = 0;
                        int eligible = 0;
                        double delta = 0;
                        for (int i = 0; i < n; i++) {
                            delta += p1[i] - p0[i];
                            if (pred0[i] != classB) {
                                eligible++;
                                if (pred1[i] == classB) flipped++;
                            }
                        }
                        rows.add(new Row(kind, size, c, eligible, flipped, eligible == 0 ? 0 : flipped / (double) eligible,
                                delta / n));
                        bar.step(n);
                    }
                }
            }
        }
        return new Report(from, to, n, baseB / (double) n, rows);
    }

    private record Predictions(double[] probabilityB, int[] predicted) {
    }

    private static Predictions predict(org.atlas4j.model.GraphForward engine, float[] x, int n, int classB) {
        double[] p = new double[n];
        int[] pred = new int[n];
        int bs = 256;
        for (int s = 0; s < n; s += bs) {
            int b = Math.min(bs, n - s);
            int len = x.length / n;
            float[] part = new float[b * len];
            System.arraycopy(x, s * len, part, 0, part.length);
            INDArray out = engine.forward(part, b).castTo(DataType.DOUBLE);
            INDArray arg = out.argMax(1);
            for (int i = 0; i < b; i++) {
                p[s + i] = out.getDouble(i, classB);
                pred[s + i] = arg.getInt(i);
            }
        }
        return new Predictions(p, pred);
    }

    /** Writes patch-test.json, a readable table and an SVG chart of flip rate by size (mean over corners). */
    public static void write(Report r, double[] sizes, Path dir) {
        Json.write(dir.resolve("patch-test.json"), r);
        StringBuilder t = new StringBuilder(String.format(Locale.ROOT,
                "Patch test: %s → %s on %d images of %s (%.1f%% already predicted %s)%n%-26s %-5s %-13s %-9s %-10s%n",
                r.from(), r.to(), r.images(), r.from(), 100 * r.baselineRateB(), r.to(), "patch", "size", "corner",
                "flipped", "mean ΔP(B)"));
        for (Row row : r.rows()) {
            t.append(String.format(Locale.ROOT, "%-26s %-5.2f %-13s %5.1f%%    %+.4f%n", row.patch(), row.size(), row.corner(),
                    100 * row.flipRate(), row.meanDeltaProbabilityB()));
        }
        AtomicFiles.writeString(dir.resolve("patch-test.txt"), t.toString());
        AtomicFiles.writeString(dir.resolve("patch-test.svg"), chart(r, sizes));
    }

    static String chart(Report r, double[] sizes) {
        String[] kinds = {"icon", "noise", "real image of " + r.to()};
        Color[] colors = {new Color(200, 60, 40), new Color(130, 130, 130), new Color(60, 110, 190)};
        int wpx = 520;
        int hpx = 300;
        SVGGraphics2D g = new SVGGraphics2D(wpx, hpx);
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, wpx, hpx);
        g.setColor(Color.BLACK);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        g.drawString("Prediction flips " + r.from() + " → " + r.to() + " (mean over corners)", 10, 16);
        int left = 50;
        int bottom = hpx - 40;
        int top = 30;
        g.drawLine(left, bottom, wpx - 10, bottom);
        g.drawLine(left, top, left, bottom);
        double max = 0.05;
        double[][] rate = new double[sizes.length][kinds.length];
        for (int si = 0; si < sizes.length; si++) {
            for (int k = 0; k < kinds.length; k++) {
                int si2 = si;
                int k2 = k;
                rate[si][k] = r.rows().stream().filter(x -> x.size() == sizes[si2] && x.patch().equals(kinds[k2]))
                        .mapToDouble(Row::flipRate).average().orElse(0);
                max = Math.max(max, rate[si][k]);
            }
        }
        int groupW = (wpx - left - 20) / sizes.length;
        int barW = groupW / (kinds.length + 1);
        for (int si = 0; si < sizes.length; si++) {
            for (int k = 0; k < kinds.length; k++) {
                int bh = (int) Math.round((bottom - top) * rate[si][k] / max);
                int x = left + si * groupW + k * barW + barW / 2;
                g.setColor(colors[k]);
                g.fillRect(x, bottom - bh, barW - 2, bh);
                g.setColor(Color.BLACK);
                g.drawString(String.format(Locale.ROOT, "%.0f%%", 100 * rate[si][k]), x, bottom - bh - 3);
            }
            g.drawString(String.format(Locale.ROOT, "%.0f%% of width", 100 * sizes[si]), left + si * groupW + barW, bottom + 16);
        }
        for (int k = 0; k < kinds.length; k++) {
            g.setColor(colors[k]);
            g.fillRect(wpx - 170, top + 4 + 16 * k, 10, 10);
            g.setColor(Color.BLACK);
            g.drawString(kinds[k], wpx - 155, top + 13 + 16 * k);
        }
        return g.getSVGDocument();
    }

    /** Greyscale or RGB PNG as C×H×W floats in [0,1]. */
    public static float[] readImage(BufferedImage img, int channels) {
        int h = img.getHeight();
        int w = img.getWidth();
        float[] out = new float[channels * h * w];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int rgb = img.getRGB(x, y);
                if (channels == 1) {
                    out[y * w + x] = (rgb & 255) / 255f;
                } else {
                    out[y * w + x] = ((rgb >> 16) & 255) / 255f;
                    out[h * w + y * w + x] = ((rgb >> 8) & 255) / 255f;
                    out[2 * h * w + y * w + x] = (rgb & 255) / 255f;
                }
            }
        }
        return out;
    }
}
