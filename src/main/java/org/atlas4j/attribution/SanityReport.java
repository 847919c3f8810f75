package org.atlas4j.attribution;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

import org.atlas4j.io.AtomicFiles;
import org.atlas4j.io.Json;
import org.jfree.svg.SVGGraphics2D;

/** Writes a sanity report as sanity.json, sanity.txt and the randomization curve as sanity.svg / sanity.png. */
public final class SanityReport {
    private static final Color[] COLOURS = {new Color(0x1f77b4), new Color(0xd62728), new Color(0x2ca02c),
            new Color(0x9467bd), new Color(0xff7f0e), new Color(0x8c564b), new Color(0x17becf)};

    private SanityReport() {
    }

    public static String table(Sanity.Report r) {
        StringBuilder s = new StringBuilder();
        s.append(String.format(Locale.ROOT, "Sanity checks on %d images, layer %s (Spearman rank correlation ρ)%n%n", r.images(),
                r.layer()));
        s.append(String.format(Locale.ROOT, "%-28s", "randomized down to"));
        for (String m : r.methods()) s.append(String.format(Locale.ROOT, "%18s", m));
        s.append('\n');
        for (Sanity.Step step : r.cascade()) {
            String label = step.randomized().isEmpty() ? "(trained model)" : step.randomized().get(step.randomized().size() - 1);
            s.append(String.format(Locale.ROOT, "%-28s", label));
            for (String m : r.methods()) {
                s.append(String.format(Locale.ROOT, "%11.3f ± %.2f", step.meanRho().get(m), step.sdRho().get(m)));
            }
            s.append('\n');
        }
        s.append(String.format(Locale.ROOT, "%n%-28s", "top-1 vs top-2 class ρ"));
        for (String m : r.methods()) s.append(String.format(Locale.ROOT, "%18.3f", r.classSensitivityRho().get(m)));
        s.append(String.format(Locale.ROOT, "%n%-28s", "  same map (ρ > 0.99)"));
        for (String m : r.methods()) s.append(String.format(Locale.ROOT, "%17.0f%%", 100 * r.classIdenticalFraction().get(m)));
        s.append(String.format(Locale.ROOT, "%n%-28s", "Sobel edge-map ρ"));
        for (String m : r.methods()) s.append(String.format(Locale.ROOT, "%18.3f", r.sobelRho().get(m)));
        s.append(String.format(Locale.ROOT, "%n%nRandomization: ρ should fall towards 0 as layers are re-initialized (Adebayo et al."
                + " 2018). Class: maps of different classes should differ. Sobel: a high ρ means the map may be an edge"
                + " detector.%n"));
        return s.toString();
    }

    public static void write(Sanity.Report r, Path dir) {
        Json.write(dir.resolve("sanity.json"), r);
        AtomicFiles.writeString(dir.resolve("sanity.txt"), table(r));
        int w = 760;
        int h = 420;
        SVGGraphics2D svg = new SVGGraphics2D(w, h);
        draw(svg, r, w, h);
        AtomicFiles.writeString(dir.resolve("sanity.svg"), svg.getSVGDocument());
        BufferedImage png = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = png.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        draw(g, r, w, h);
        g.dispose();
        Overlays.writePng(dir.resolve("sanity.png"), png);
    }

    /** Mean ρ against the trained model's maps, one line per method, x = cascade step. */
    private static void draw(Graphics2D g, Sanity.Report r, int w, int h) {
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, w, h);
        int left = 60;
        int right = w - 170;
        int top = 40;
        int bottom = h - 90;
        g.setColor(Color.BLACK);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 13));
        g.drawString("Cascading randomization: rank correlation with the trained model's maps", 10, 20);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
        g.drawLine(left, top, left, bottom);
        g.drawLine(left, bottom, right, bottom);
        double lo = -0.2;
        for (double t = -0.2; t <= 1.0001; t += 0.2) {
            int y = (int) Math.round(bottom - (t - lo) / (1 - lo) * (bottom - top));
            g.setColor(new Color(0xdddddd));
            g.drawLine(left + 1, y, right, y);
            g.setColor(Color.BLACK);
            g.drawString(String.format(Locale.ROOT, "%.1f", t), left - 30, y + 4);
        }
        List<Sanity.Step> steps = r.cascade();
        int n = steps.size();
        java.util.function.IntUnaryOperator xAt = i -> left + 10 + (n == 1 ? 0 : i * (right - left - 20) / (n - 1));
        for (int i = 0; i < n; i++) {
            String label = i == 0 ? "trained" : steps.get(i).randomized().get(steps.get(i).randomized().size() - 1);
            var old = g.getTransform();
            g.translate(xAt.applyAsInt(i) - 4, bottom + 8);
            g.rotate(Math.PI / 4);
            g.drawString(label, 0, 0);
            g.setTransform(old);
        }
        int count = r.methods().size();
        for (int m = 0; m < count; m++) {
            String method = r.methods().get(m);
            g.setColor(COLOURS[m % COLOURS.length]);
            // earlier lines wider, so identical curves (CAM and Grad-CAM on a GAP head) both stay visible
            g.setStroke(new BasicStroke(count == 1 ? 2f : 2f + 4f * (count - 1 - m) / (count - 1)));
            int px = -1;
            int py = -1;
            for (int i = 0; i < n; i++) {
                Double v = steps.get(i).meanRho().get(method);
                if (v == null || v.isNaN()) {
                    px = -1;
                    continue;
                }
                int x = xAt.applyAsInt(i);
                int y = (int) Math.round(bottom - (Math.max(lo, v) - lo) / (1 - lo) * (bottom - top));
                g.fillOval(x - 3, y - 3, 6, 6);
                if (px >= 0) g.drawLine(px, py, x, y);
                px = x;
                py = y;
            }
            g.drawLine(right + 15, top + 10 + 18 * m, right + 35, top + 10 + 18 * m);
            g.setColor(Color.BLACK);
            g.drawString(method, right + 42, top + 14 + 18 * m);
        }
    }
}
