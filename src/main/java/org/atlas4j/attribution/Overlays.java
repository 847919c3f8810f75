package org.atlas4j.attribution;

import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.List;

import javax.imageio.ImageIO;

import org.atlas4j.data.PixelScaling;
import org.atlas4j.io.AtomicFiles;

/** Pictures of maps: the model's view of the image, the map as a jet colour map blended over it, contact sheets. */
public final class Overlays {
    /** Blend weight of the image under the colour map (pytorch-grad-cam's default image_weight). */
    static final double IMAGE_WEIGHT = 0.5;

    static {
        // ImageIO otherwise buffers every PNG it writes to a stream through a temp file on disk
        ImageIO.setUseCache(false);
    }

    private Overlays() {
    }

    /** The model input shown as an image (inverse pixel scaling; grey for one channel, mean grey beyond three). */
    public static BufferedImage display(float[] x, int offset, int channels, int h, int w, PixelScaling scaling) {
        return display(x, offset, channels, h, w, scaling, false);
    }

    /** @param bgr the input's colour channels are in B, G, R order */
    public static BufferedImage display(float[] x, int offset, int channels, int h, int w, PixelScaling scaling, boolean bgr) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        int area = h * w;
        for (int p = 0; p < area; p++) {
            int r;
            int g;
            int b;
            if (channels == 3) {
                r = scaling.invert(0, x[offset + p]);
                g = scaling.invert(1, x[offset + area + p]);
                b = scaling.invert(2, x[offset + 2 * area + p]);
                if (bgr) {
                    int t = r;
                    r = b;
                    b = t;
                }
            } else {
                double s = 0;
                for (int c = 0; c < channels; c++) s += scaling.invert(Math.min(c, scaling.scale().length - 1), x[offset + c * area + p]);
                r = g = b = (int) Math.round(s / channels);
            }
            img.setRGB(p % w, p / w, (r << 16) | (g << 8) | b);
        }
        return img;
    }

    /** Integer upscale factor so the shorter side reaches 224 px (small models are unreadable at 28 px). */
    public static int displayScale(int h, int w) {
        return Math.max(1, (int) Math.ceil(224.0 / Math.min(h, w)));
    }

    public static BufferedImage upscale(BufferedImage img, int factor) {
        if (factor == 1) return img;
        BufferedImage out = new BufferedImage(img.getWidth() * factor, img.getHeight() * factor, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = out.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
        g.drawImage(img, 0, 0, out.getWidth(), out.getHeight(), null);
        g.dispose();
        return out;
    }

    /**
     * The normalized map (values in [0,1], h×w) as a jet colour map blended over {@code image}, which may be an
     * integer upscale of h×w; the map is upsampled bilinearly to match.
     */
    public static BufferedImage overlay(BufferedImage image, float[] map, int h, int w) {
        int oh = image.getHeight();
        int ow = image.getWidth();
        float[] m = AttributionMaps.upsample(map, h, w, oh, ow);
        int[] px = image.getRGB(0, 0, ow, oh, null, 0, ow);
        for (int i = 0; i < px.length; i++) px[i] = blend(px[i], jet(m[i]));
        BufferedImage out = new BufferedImage(ow, oh, BufferedImage.TYPE_INT_RGB);
        out.setRGB(0, 0, ow, oh, px, 0, ow);
        return out;
    }

    private static int blend(int a, int b) {
        int r = (int) Math.round(IMAGE_WEIGHT * ((a >> 16) & 0xff) + (1 - IMAGE_WEIGHT) * ((b >> 16) & 0xff));
        int g = (int) Math.round(IMAGE_WEIGHT * ((a >> 8) & 0xff) + (1 - IMAGE_WEIGHT) * ((b >> 8) & 0xff));
        int bl = (int) Math.round(IMAGE_WEIGHT * (a & 0xff) + (1 - IMAGE_WEIGHT) * (b & 0xff));
        return (r << 16) | (g << 8) | bl;
    }

    /** The jet colour map (blue → cyan → yellow → red), the convention of the Grad-CAM papers. */
    public static int jet(double v) {
        v = Math.min(1, Math.max(0, v));
        int r = channel(1.5 - Math.abs(4 * v - 3));
        int g = channel(1.5 - Math.abs(4 * v - 2));
        int b = channel(1.5 - Math.abs(4 * v - 1));
        return (r << 16) | (g << 8) | b;
    }

    private static int channel(double x) {
        return (int) Math.round(255 * Math.min(1, Math.max(0, x)));
    }

    public static void writePng(Path file, BufferedImage img) {
        AtomicFiles.write(file, out -> ImageIO.write(img, "png", out));
    }

    /** Without fsync: for the per-image pictures, whose completion {@code explain.json} marks durably. */
    static void writePngNoSync(Path file, BufferedImage img) {
        AtomicFiles.writeNoSync(file, out -> ImageIO.write(img, "png", out));
    }

    /** One row of a contact sheet: caption lines and the pictures (read from disk, so pages need little memory). */
    public record SheetRow(List<String> caption, List<Path> tiles) {
    }

    /** A grid: a caption column, then one tile per column with the column titles on top. */
    public static void contactSheet(Path file, String title, List<String> columns, List<SheetRow> rows, int tile) {
        int captionW = 190;
        int pad = 6;
        int headerH = 44;
        int width = captionW + columns.size() * (tile + pad) + pad;
        int height = headerH + rows.size() * (tile + pad) + pad;
        BufferedImage sheet = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = sheet.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, width, height);
        g.setColor(Color.BLACK);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 13));
        g.drawString(title, pad, 16);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        for (int c = 0; c < columns.size(); c++) g.drawString(columns.get(c), captionW + pad + c * (tile + pad), headerH - 8);
        for (int r = 0; r < rows.size(); r++) {
            int y = headerH + r * (tile + pad);
            SheetRow row = rows.get(r);
            g.setColor(Color.BLACK);
            for (int k = 0; k < row.caption().size(); k++) {
                g.drawString(clip(g, row.caption().get(k), captionW - 2 * pad), pad, y + 16 + 15 * k);
            }
            for (int c = 0; c < row.tiles().size(); c++) {
                Path p = row.tiles().get(c);
                int x = captionW + pad + c * (tile + pad);
                BufferedImage img = null;
                try {
                    img = p == null ? null : ImageIO.read(p.toFile());
                } catch (java.io.IOException e) {
                    img = null;
                }
                if (img == null) {
                    g.setColor(Color.LIGHT_GRAY);
                    g.fillRect(x, y, tile, tile);
                    g.setColor(Color.BLACK);
                    g.drawString("n/a", x + 4, y + 16);
                } else {
                    g.drawImage(img, x, y, tile, tile, null);
                }
            }
        }
        g.dispose();
        writePng(file, sheet);
    }

    private static String clip(Graphics2D g, String s, int width) {
        if (g.getFontMetrics().stringWidth(s) <= width) return s;
        String t = s;
        while (t.length() > 1 && g.getFontMetrics().stringWidth("…" + t) > width) t = t.substring(1);
        return "…" + t;
    }
}
