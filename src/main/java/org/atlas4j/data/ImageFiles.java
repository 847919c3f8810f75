package org.atlas4j.data;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

import javax.imageio.ImageIO;

import org.atlas4j.util.UserError;

/**
 * Image files (any format Java reads: PNG, JPEG, BMP, GIF, WBMP; greyscale, RGB, RGBA, 16-bit) turned into model
 * input: alpha composited over a background, resized to the model's size, converted to its channel count (luma for
 * one channel, replicated grey for three) and scaled as its card says.
 */
public final class ImageFiles {
    private ImageFiles() {
    }

    /**
     * STRETCH: resize to the model's size ignoring aspect; CROP: scale the shorter side to fit and cut the centre
     * (torchvision's Resize + CenterCrop); PAD: scale the longer side to fit and pad with the background (letterbox).
     */
    public enum Resize { STRETCH, CROP, PAD }

    /** @param bgr feed colour channels in B, G, R order (models trained on OpenCV-loaded images) */
    public record Preprocess(int channels, int height, int width, PixelScaling scaling, Resize resize, Color background,
            boolean bgr) {
        public Preprocess(int channels, int height, int width, PixelScaling scaling, Resize resize, Color background) {
            this(channels, height, width, scaling, resize, background, false);
        }

        public Preprocess {
            if (channels != 1 && channels != 3) {
                throw new UserError("image files can feed models with 1 or 3 input channels; this model has " + channels);
            }
        }
    }

    /** A file that could not be read as an image, with the reason. */
    public static final class UnreadableImageException extends Exception {
        public UnreadableImageException(String reason) {
            super(reason);
        }
    }

    /** The file itself, or every regular non-hidden file under the folder (recursively), sorted by path. */
    public static List<Path> list(Path fileOrFolder) {
        if (!Files.exists(fileOrFolder)) {
            throw new UserError("--images: no such file or folder: " + fileOrFolder.toAbsolutePath());
        }
        if (Files.isRegularFile(fileOrFolder)) return List.of(fileOrFolder);
        try (Stream<Path> s = Files.walk(fileOrFolder)) {
            // hidden files and anything inside hidden folders (.git, .cache) are not images of the dataset
            List<Path> files = s.filter(Files::isRegularFile)
                    .filter(p -> java.util.stream.StreamSupport.stream(fileOrFolder.relativize(p).spliterator(), false)
                            .noneMatch(part -> part.toString().startsWith(".")))
                    .sorted().toList();
            if (files.isEmpty()) throw new UserError("--images: the folder " + fileOrFolder + " holds no files");
            return files;
        } catch (IOException e) {
            throw new UserError("--images: cannot list " + fileOrFolder + ": " + e.getMessage());
        }
    }

    public static BufferedImage read(Path file) throws UnreadableImageException {
        BufferedImage img;
        try {
            img = ImageIO.read(file.toFile());
        } catch (IOException | RuntimeException e) {
            throw new UnreadableImageException("corrupt or unsupported image (" + e.getMessage() + ")");
        }
        if (img == null) {
            throw new UnreadableImageException("not an image format Java reads (" + String.join(", ", readableFormats()) + ")");
        }
        if (img.getWidth() < 1 || img.getHeight() < 1) throw new UnreadableImageException("empty image");
        return img;
    }

    static List<String> readableFormats() {
        return java.util.Arrays.stream(ImageIO.getReaderFormatNames()).map(s -> s.toUpperCase(Locale.ROOT)).distinct().sorted()
                .toList();
    }

    /** Reads, resizes and scales one file into {@code dst[offset ..]} (C·H·W values, NCHW). */
    public static void load(Path file, Preprocess p, float[] dst, int offset) throws UnreadableImageException {
        toInput(read(file), p, dst, offset);
    }

    public static void toInput(BufferedImage src, Preprocess p, float[] dst, int offset) {
        BufferedImage rgb = fit(src, p);
        int area = p.height() * p.width();
        for (int y = 0; y < p.height(); y++) {
            for (int x = 0; x < p.width(); x++) {
                int v = rgb.getRGB(x, y);
                int r = (v >> 16) & 0xff;
                int g = (v >> 8) & 0xff;
                int b = v & 0xff;
                if (p.bgr()) {
                    int t = r;
                    r = b;
                    b = t;
                }
                int i = y * p.width() + x;
                if (p.channels() == 1) {
                    dst[offset + i] = p.scaling().apply(0, 0.299 * r + 0.587 * g + 0.114 * b); // ITU-R BT.601 luma
                } else {
                    dst[offset + i] = p.scaling().apply(0, r);
                    dst[offset + area + i] = p.scaling().apply(1, g);
                    dst[offset + 2 * area + i] = p.scaling().apply(2, b);
                }
            }
        }
    }

    /** The image composited over the background and resized to the model's size, as RGB. */
    static BufferedImage fit(BufferedImage src, Preprocess p) {
        int sw = src.getWidth();
        int sh = src.getHeight();
        int tw = p.width();
        int th = p.height();
        double sx;
        double sy;
        switch (p.resize()) {
            case STRETCH -> { sx = (double) tw / sw; sy = (double) th / sh; }
            case CROP -> { sx = sy = Math.max((double) tw / sw, (double) th / sh); }
            default -> { sx = sy = Math.min((double) tw / sw, (double) th / sh); }
        }
        int rw = Math.max(1, (int) Math.round(sw * sx));
        int rh = Math.max(1, (int) Math.round(sh * sy));
        BufferedImage flat = new BufferedImage(sw, sh, BufferedImage.TYPE_INT_RGB);
        Graphics2D g0 = flat.createGraphics();
        g0.setColor(p.background());
        g0.fillRect(0, 0, sw, sh);
        g0.drawImage(src, 0, 0, null); // composites alpha over the background; converts grey/16-bit/indexed to RGB
        g0.dispose();
        BufferedImage resized = downscale(flat, rw, rh);
        BufferedImage out = new BufferedImage(tw, th, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = out.createGraphics();
        g.setColor(p.background());
        g.fillRect(0, 0, tw, th);
        g.drawImage(resized, (tw - rw) / 2, (th - rh) / 2, null);
        g.dispose();
        return out;
    }

    /** Bilinear resize; large reductions go by halving first so small models do not see aliasing. */
    static BufferedImage downscale(BufferedImage img, int w, int h) {
        BufferedImage cur = img;
        while (cur.getWidth() >= 2 * w && cur.getHeight() >= 2 * h) {
            cur = scale(cur, Math.max(w, cur.getWidth() / 2), Math.max(h, cur.getHeight() / 2));
        }
        return cur.getWidth() == w && cur.getHeight() == h ? cur : scale(cur, w, h);
    }

    private static BufferedImage scale(BufferedImage img, int w, int h) {
        BufferedImage out = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = out.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
        g.setRenderingHint(RenderingHints.KEY_RENDERING, RenderingHints.VALUE_RENDER_QUALITY);
        g.drawImage(img, 0, 0, w, h, null);
        g.dispose();
        return out;
    }
}
