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
import javax.imageio.ImageReadParam;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

import org.atlas4j.util.UserError;

/**
 * Image files turned into model input: alpha composited over a background, resized to the model's size, converted to
 * its channel count (luma for one channel, replicated grey for three) and scaled as its card says. Formats: the JDK's
 * PNG, GIF, BMP and WBMP readers plus TwelveMonkeys' JPEG (baseline, progressive, CMYK/YCCK), WebP (lossy and
 * lossless) and TIFF readers; 8- and 16-bit, grey, grey+alpha, palette, RGB and RGBA. Grey samples are read as the
 * sRGB-encoded values they are in the file (Java's grey colour space is linear and would brighten them).
 *
 * <p>Damage: a file whose header shows it cut short (no JPEG end marker, no PNG IEND, a WebP shorter than its RIFF
 * size) or whose decoder warns about its data (libjpeg's "premature end of data segment") or fails is damaged: refused
 * with the reason unless {@link Limits#keepDamaged()}, then used as decoded and reported.
 */
public final class ImageFiles {
    private ImageFiles() {
    }

    /**
     * STRETCH: resize to the model's size ignoring aspect; CROP: scale the shorter side to fit and cut the centre
     * (torchvision's Resize + CenterCrop); PAD: scale the longer side to fit and pad with the background (letterbox).
     */
    public enum Resize { STRETCH, CROP, PAD }

    /**
     * How pixels are resampled, to match the pipeline the model was trained with. JAVA2D: Graphics2D bilinear after
     * halving while the image is at least twice the target (atlas4j's original behaviour, the default); BILINEAR:
     * half-pixel centres without antialiasing (TF2 tf.image.resize / Keras Resizing, torch interpolate with
     * antialias=False, OpenCV INTER_LINEAR); BILINEAR_AA and BICUBIC_AA: Pillow's Image.resize (torchvision's Resize on
     * PIL images), whose filter widens with the reduction; AREA: box average over each output pixel's footprint
     * (tf.image.resize "area", OpenCV INTER_AREA when shrinking).
     */
    public enum ResizeFilter {
        JAVA2D("java2d"), BILINEAR("bilinear"), BILINEAR_AA("bilinear-aa"), BICUBIC_AA("bicubic-aa"), AREA("area");

        public final String id;

        ResizeFilter(String id) {
            this.id = id;
        }

        public static final String VALID = "java2d (default), bilinear, bilinear-aa, bicubic-aa, area";

        /** @param where what to name in the error, e.g. "model card: resizeFilter" or "--resize-filter" */
        public static ResizeFilter parse(String s, String where) {
            String t = s.trim().toLowerCase(Locale.ROOT);
            for (ResizeFilter f : values()) if (f.id.equals(t)) return f;
            throw new UserError(where + " must be one of " + VALID + ", got '" + s + "'");
        }
    }

    /**
     * @param bgr feed colour channels in B, G, R order (models trained on OpenCV-loaded images)
     * @param filter the resampling (null = JAVA2D)
     */
    public record Preprocess(int channels, int height, int width, PixelScaling scaling, Resize resize, Color background,
            boolean bgr, ResizeFilter filter) {
        public Preprocess(int channels, int height, int width, PixelScaling scaling, Resize resize, Color background) {
            this(channels, height, width, scaling, resize, background, false);
        }

        public Preprocess(int channels, int height, int width, PixelScaling scaling, Resize resize, Color background,
                boolean bgr) {
            this(channels, height, width, scaling, resize, background, bgr, ResizeFilter.JAVA2D);
        }

        public Preprocess {
            if (filter == null) filter = ResizeFilter.JAVA2D;
            if (channels != 1 && channels != 3) {
                throw new UserError("image files can feed models with 1 or 3 input channels; this model has " + channels);
            }
        }
    }

    /** A file that could not be read as an image, with the reason. */
    public static class UnreadableImageException extends Exception {
        public UnreadableImageException(String reason) {
            super(reason);
        }
    }

    /** A file refused because its data is damaged (truncated or corrupt); --keep-damaged accepts what decodes. */
    public static final class DamagedImageException extends UnreadableImageException {
        public DamagedImageException(String reason) {
            super(reason);
        }
    }

    /**
     * Per-file limits.
     *
     * @param maxPixels files declaring more pixels (width × height) are refused before any pixel is decoded
     * @param keepDamaged use truncated or corrupt files as far as they decode (reported) instead of refusing them
     */
    public record Limits(long maxPixels, boolean keepDamaged) {
        public static final Limits DEFAULT = new Limits(DEFAULT_MAX_PIXELS, false);

        public Limits {
            if (maxPixels < 1) throw new UserError("--max-image-megapixels must be positive, got " + maxPixels / 1e6);
        }
    }

    /**
     * A decoded image.
     *
     * @param damage null, or why the file is damaged (only with {@link Limits#keepDamaged()})
     */
    public record Decoded(BufferedImage image, String damage) {
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

    /** The whole image at full resolution (refused, with the reason, above {@link #DEFAULT_MAX_PIXELS}). */
    public static BufferedImage read(Path file) throws UnreadableImageException {
        return read(file, 1, DEFAULT_MAX_PIXELS);
    }

    static List<String> readableFormats() {
        return java.util.Arrays.stream(ImageIO.getReaderFormatNames()).map(s -> s.toUpperCase(Locale.ROOT)).distinct().sorted()
                .toList();
    }

    /** Reads, resizes and scales one file into {@code dst[offset ..]} (C·H·W values, NCHW). */
    public static void load(Path file, Preprocess p, float[] dst, int offset) throws UnreadableImageException {
        load(file, p, Limits.DEFAULT, dst, offset);
    }

    /**
     * {@link #load(Path, Preprocess, float[], int)} within the limits: the header is read first, a large image is
     * decoded with subsampling to twice the size the model needs, and damage is refused or reported.
     *
     * @return null, or why the file is damaged when it was kept ({@link Limits#keepDamaged()})
     */
    public static String load(Path file, Preprocess p, Limits limits, float[] dst, int offset) throws UnreadableImageException {
        Size s = size(file, limits.maxPixels());
        String cut = truncation(file);
        if (cut != null && !limits.keepDamaged()) throw new DamagedImageException(cut);
        int[] r = resizedSize(s.width(), s.height(), p.width(), p.height(), p.resize());
        int sub = subsampling(s.width(), s.height(), s.width(), s.height(), r[0], r[1], p.filter());
        Decoded d = decode(file, sub, limits);
        toInput(d.image(), p, dst, offset);
        return cut != null ? cut : d.damage();
    }

    /**
     * Largest declared image (width × height) decoded by default: Pillow's MAX_IMAGE_PIXELS (2^30 / 4 / 3 ≈ 89.5
     * megapixels, about 256 MB of 24-bit pixels), so a file Pillow-based pipelines refuse is refused here too, with a
     * reason; raise it with --max-image-megapixels. Subsampled decoding keeps the pixels held far below this (a
     * 24 MP photo for a 224-pixel model holds 0.3 MP), but the cap also bounds one file's decode time.
     */
    public static final long DEFAULT_MAX_PIXELS = 89_478_485L;

    /** An image's declared size, from its header. */
    public record Size(int width, int height) {
    }

    /**
     * The declared size from the file's header, without decoding pixels (a 30000×30000 PNG costs a few bytes here).
     *
     * @throws UnreadableImageException with the reason when no reader accepts it, it is empty, or it declares more
     *         than {@code maxPixels} pixels
     */
    public static Size size(Path file, long maxPixels) throws UnreadableImageException {
        try {
            if (Files.size(file) == 0) throw new UnreadableImageException("empty file (0 bytes)");
        } catch (IOException e) {
            throw new UnreadableImageException("unreadable file (" + why(e) + ")");
        }
        try (ImageInputStream in = ImageIO.createImageInputStream(file.toFile())) {
            if (in == null) throw new UnreadableImageException("unreadable file");
            ImageReader r = reader(in);
            try {
                r.setInput(in, true, true);
                return checked(r.getWidth(0), r.getHeight(0), maxPixels);
            } finally {
                r.dispose();
            }
        } catch (IOException | RuntimeException e) {
            throw new UnreadableImageException("corrupt or unsupported image (" + why(e) + ")");
        }
    }

    /** An exception's message, or what it is when it has none (an EOFException from a cut-short file). */
    private static String why(Exception e) {
        if (e.getMessage() != null && !e.getMessage().isBlank()) return e.getMessage();
        return e instanceof java.io.EOFException ? "unexpected end of file" : e.getClass().getSimpleName();
    }

    private static ImageReader reader(ImageInputStream in) throws UnreadableImageException {
        var readers = ImageIO.getImageReaders(in);
        if (!readers.hasNext()) {
            throw new UnreadableImageException("not an image format Java reads (" + String.join(", ", readableFormats()) + ")");
        }
        return readers.next();
    }

    private static Size checked(int w, int h, long maxPixels) throws UnreadableImageException {
        if (w < 1 || h < 1) throw new UnreadableImageException("empty image");
        if ((long) w * h > maxPixels) {
            throw new UnreadableImageException(String.format(Locale.ROOT, "declares %d×%d = %.0f megapixels, over the cap of %.1f "
                    + "(raise --max-image-megapixels to decode it, or shrink the file)", w, h, (double) w * h / 1e6,
                    maxPixels / 1e6));
        }
        return new Size(w, h);
    }

    /**
     * Source subsampling factor for an image of sw×sh that is resampled to rw×rh: the largest integer step that
     * still leaves at least twice the output resolution on both axes (what an antialiasing filter needs), 1 when the
     * image is not at least twice the output size already.
     */
    public static int subsampling(double sw, double sh, double rw, double rh) {
        double margin = Math.min(sw / rw, sh / rh) / 2;
        return Math.max(1, (int) Math.floor(margin));
    }

    /**
     * Images up to this many pixels are decoded in full for the non-antialiased BILINEAR filter: it reads two source
     * pixels per output pixel, so which pixels exist matters (subsampling changed its result by ~3/255 on average,
     * the antialiased filters by under 2/255); above it, bounded memory wins over exactness.
     */
    static final long EXACT_BILINEAR_PIXELS = 16_000_000L;

    /** {@link #subsampling(double, double, double, double)} for an image of w×h pixels resized with filter f. */
    static int subsampling(int w, int h, double sw, double sh, double rw, double rh, ResizeFilter f) {
        if (f == ResizeFilter.BILINEAR && (long) w * h <= EXACT_BILINEAR_PIXELS) return 1;
        return subsampling(sw, sh, rw, rh);
    }

    /**
     * Decodes the file taking every {@code step}-th pixel of every {@code step}-th row (ImageIO source subsampling:
     * the reader never holds the full-resolution image), after checking the declared size against the cap; damaged
     * data is refused.
     */
    public static BufferedImage read(Path file, int step, long maxPixels) throws UnreadableImageException {
        return decode(file, step, new Limits(maxPixels, false)).image();
    }

    /**
     * {@link #read(Path, int, long)} that, with {@link Limits#keepDamaged()}, returns what decodes of a damaged file
     * (a failing decode keeps the rows read before the failure) with the reason.
     */
    public static Decoded decode(Path file, int step, Limits limits) throws UnreadableImageException {
        BufferedImage img = null;
        List<String> warnings = new java.util.ArrayList<>();
        String damage = null;
        try (ImageInputStream in = ImageIO.createImageInputStream(file.toFile())) {
            if (in == null) throw new UnreadableImageException("unreadable file");
            ImageReader r = reader(in);
            try {
                r.setInput(in, true, true);
                int w = r.getWidth(0);
                int h = r.getHeight(0);
                checked(w, h, limits.maxPixels());
                ImageReadParam param = r.getDefaultReadParam();
                if (step > 1) param.setSourceSubsampling(step, step, 0, 0);
                r.addIIOReadWarningListener((source, warning) -> warnings.add(warning));
                if (limits.keepDamaged()) {
                    // our own destination: the rows decoded before a failure survive it
                    var types = r.getImageTypes(0);
                    if (types.hasNext()) {
                        img = types.next().createBufferedImage((w + step - 1) / step, (h + step - 1) / step);
                        param.setDestination(img);
                    }
                }
                try {
                    img = r.read(0, param);
                } catch (IOException | RuntimeException e) {
                    if (!limits.keepDamaged() || img == null) throw e;
                    damage = "damaged, kept as decoded (" + why(e) + ")";
                }
            } finally {
                r.dispose();
            }
        } catch (IOException e) {
            throw new DamagedImageException("corrupt image data (" + why(e) + ")");
        } catch (RuntimeException e) {
            throw new UnreadableImageException("corrupt or unsupported image (" + e + ")");
        }
        if (img == null || img.getWidth() < 1 || img.getHeight() < 1) throw new UnreadableImageException("empty image");
        List<String> bad = warnings.stream().filter(ImageFiles::damageWarning).distinct().toList();
        if (!bad.isEmpty()) {
            if (!limits.keepDamaged()) {
                throw new DamagedImageException("damaged image data: " + String.join("; ", bad)
                        + " (pass --keep-damaged to use what decodes)");
            }
            if (damage == null) damage = "damaged, kept as decoded (" + String.join("; ", bad) + ")";
        }
        return new Decoded(img, damage);
    }

    /**
     * Whether a decoder warning says the data is damaged. Warnings about colour management or metadata (a CMYK JPEG
     * without an ICC profile, a JFIF marker on a non-YCbCr image, a bad EXIF thumbnail) leave the pixels usable.
     */
    static boolean damageWarning(String warning) {
        String w = warning == null ? "" : warning.toLowerCase(Locale.ROOT);
        return !(w.contains("icc") || w.contains("color profile") || w.contains("colour profile") || w.contains("color space")
                || w.contains("jfif") || w.contains("exif") || w.contains("thumbnail") || w.contains("metadata"));
    }

    private static byte[] tail(java.nio.channels.FileChannel ch, long size, int n) throws IOException {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate((int) Math.min(size, n));
        while (b.hasRemaining() && ch.read(b, size - b.capacity() + b.position()) > 0) {
            // read until full
        }
        return b.array();
    }

    private static boolean hasEoi(byte[] t) {
        for (int i = t.length - 2; i >= 0; i--) if ((t[i] & 0xff) == 0xff && (t[i + 1] & 0xff) == 0xd9) return true;
        return false;
    }

    /**
     * Why the file is cut short, judged from its last bytes without decoding (null when it looks whole, or for a
     * format without an end marker): a JPEG without its end-of-image marker, a PNG without IEND, a WebP shorter than
     * its RIFF header says, a GIF without its trailer. A truncated download decodes "successfully" with the missing
     * part grey, so this is the check that catches it.
     */
    public static String truncation(Path file) {
        try (var ch = java.nio.channels.FileChannel.open(file)) {
            long size = ch.size();
            if (size < 12) return null; // too short for any header: the reader refuses it
            java.nio.ByteBuffer head = java.nio.ByteBuffer.allocate(12);
            ch.read(head, 0);
            byte[] h = head.array();
            // the last 64 bytes (a whole folder is checked at open: read little); 64 KB only for a JPEG without EOI there
            byte[] t = tail(ch, size, 64);
            if ((h[0] & 0xff) == 0xff && (h[1] & 0xff) == 0xd8) {
                // EOI (FF D9) cannot occur inside entropy-coded data (an FF there is followed by 00 or a restart marker);
                // some cameras append data after it, hence the search over the last 64 KB
                if (t.length == 64 && !hasEoi(t)) t = tail(ch, size, 64 * 1024);
                if (hasEoi(t)) return null;
                return "truncated: the JPEG has no end-of-image marker (cut short, e.g. by an interrupted download; "
                        + "pass --keep-damaged to use what decodes)";
            }
            if ((h[0] & 0xff) == 0x89 && h[1] == 'P' && h[2] == 'N' && h[3] == 'G') {
                if (new String(t, java.nio.charset.StandardCharsets.ISO_8859_1).contains("IEND")) return null;
                return "truncated: the PNG has no IEND chunk (cut short; pass --keep-damaged to use what decodes)";
            }
            if (h[0] == 'R' && h[1] == 'I' && h[2] == 'F' && h[3] == 'F' && h[8] == 'W' && h[9] == 'E' && h[10] == 'B'
                    && h[11] == 'P') {
                long declared = 8 + ((h[4] & 0xffL) | (h[5] & 0xffL) << 8 | (h[6] & 0xffL) << 16 | (h[7] & 0xffL) << 24);
                if (declared <= size) return null;
                return String.format(Locale.ROOT, "truncated: the WebP declares %d bytes but the file holds %d (cut short; "
                        + "pass --keep-damaged to use what decodes)", declared, size);
            }
            if (h[0] == 'G' && h[1] == 'I' && h[2] == 'F') {
                for (int i = t.length - 1; i >= Math.max(0, t.length - 16); i--) if (t[i] == 0x3b) return null;
                return "truncated: the GIF has no trailer (cut short; pass --keep-damaged to use what decodes)";
            }
            return null;
        } catch (IOException e) {
            return null; // the reader reports it
        }
    }

    /**
     * One crop of an image decoded with subsampling {@code step}, stretched to the model's size with p's filter
     * (torchvision's RandomResizedCrop resizes the box to the output size, ignoring its aspect).
     *
     * @param box the crop in full-resolution pixels
     */
    public static void cropToInput(BufferedImage decoded, int step, RandomCrops.Box box, Preprocess p, float[] dst, int offset) {
        int x0 = clamp((int) Math.round((double) box.x() / step), 0, decoded.getWidth() - 1);
        int y0 = clamp((int) Math.round((double) box.y() / step), 0, decoded.getHeight() - 1);
        int x1 = clamp((int) Math.round((double) (box.x() + box.w()) / step), x0 + 1, decoded.getWidth());
        int y1 = clamp((int) Math.round((double) (box.y() + box.h()) / step), y0 + 1, decoded.getHeight());
        Preprocess stretch = new Preprocess(p.channels(), p.height(), p.width(), p.scaling(), Resize.STRETCH, p.background(),
                p.bgr(), p.filter());
        toInput(decoded.getSubimage(x0, y0, x1 - x0, y1 - y0), stretch, dst, offset);
    }

    private static int clamp(int v, int lo, int hi) {
        return Math.max(lo, Math.min(hi, v));
    }

    public static void toInput(BufferedImage src, Preprocess p, float[] dst, int offset) {
        float[][] rgb = fitPlanes(src, p);
        int area = p.height() * p.width();
        for (int i = 0; i < area; i++) {
            double r = rgb[0][i];
            double g = rgb[1][i];
            double b = rgb[2][i];
            if (p.bgr()) {
                double t = r;
                r = b;
                b = t;
            }
            if (p.channels() == 1) {
                dst[offset + i] = p.scaling().apply(0, 0.299 * r + 0.587 * g + 0.114 * b); // ITU-R BT.601 luma
            } else {
                dst[offset + i] = p.scaling().apply(0, r);
                dst[offset + area + i] = p.scaling().apply(1, g);
                dst[offset + 2 * area + i] = p.scaling().apply(2, b);
            }
        }
    }

    /** R, G, B planes (values 0..255, row-major H×W) of the image fitted to the model's size with p's filter. */
    static float[][] fitPlanes(BufferedImage src, Preprocess p) {
        if (p.filter() == ResizeFilter.JAVA2D) return planes(fit(src, p));
        int sw = src.getWidth();
        int sh = src.getHeight();
        int tw = p.width();
        int th = p.height();
        int[] size = resizedSize(sw, sh, tw, th, p.resize());
        int rw = size[0];
        int rh = size[1];
        float[][] in = planes(flattened(src, p.background()));
        int ox = (tw - rw) / 2;
        int oy = (th - rh) / 2;
        float[][] out = new float[3][th * tw];
        int[] bg = {p.background().getRed(), p.background().getGreen(), p.background().getBlue()};
        for (int c = 0; c < 3; c++) {
            float[] r = Resample.resize(in[c], sw, sh, rw, rh, p.filter());
            java.util.Arrays.fill(out[c], bg[c]);
            // the resized image placed as fit() does: centred, cut (crop) or surrounded by background (pad)
            for (int y = Math.max(0, oy); y < Math.min(th, oy + rh); y++) {
                for (int x = Math.max(0, ox); x < Math.min(tw, ox + rw); x++) out[c][y * tw + x] = r[(y - oy) * rw + (x - ox)];
            }
        }
        return out;
    }

    private static float[][] planes(BufferedImage img) {
        int w = img.getWidth();
        int h = img.getHeight();
        int[] argb = img.getRGB(0, 0, w, h, null, 0, w);
        float[][] p = new float[3][w * h];
        for (int i = 0; i < argb.length; i++) {
            p[0][i] = (argb[i] >> 16) & 0xff;
            p[1][i] = (argb[i] >> 8) & 0xff;
            p[2][i] = argb[i] & 0xff;
        }
        return p;
    }

    /** Size of the resized image before centring: STRETCH to the target, CROP covering it, PAD inside it. */
    static int[] resizedSize(int sw, int sh, int tw, int th, Resize resize) {
        double sx;
        double sy;
        switch (resize) {
            case STRETCH -> { sx = (double) tw / sw; sy = (double) th / sh; }
            case CROP -> { sx = sy = Math.max((double) tw / sw, (double) th / sh); }
            default -> { sx = sy = Math.min((double) tw / sw, (double) th / sh); }
        }
        return new int[] {Math.max(1, (int) Math.round(sw * sx)), Math.max(1, (int) Math.round(sh * sy))};
    }

    /** Alpha composited over the background; grey, 16-bit and indexed images converted to RGB. */
    private static BufferedImage flattened(BufferedImage src0, Color background) {
        BufferedImage src = greyAsSrgb(src0);
        BufferedImage flat = new BufferedImage(src.getWidth(), src.getHeight(), BufferedImage.TYPE_INT_RGB);
        Graphics2D g0 = flat.createGraphics();
        g0.setColor(background);
        g0.fillRect(0, 0, src.getWidth(), src.getHeight());
        g0.drawImage(src, 0, 0, null);
        g0.dispose();
        return flat;
    }

    /**
     * A grey or grey+alpha image (8 or 16 bits) as sRGB ARGB with the file's grey values. Java gives decoded grey
     * images its linear grey colour space, so drawing or getRGB would map a stored 60 to 133; files store grey in the
     * sRGB/gamma-2.2 sense, which Pillow and OpenCV feed to models unchanged. Other images are returned as they are.
     */
    static BufferedImage greyAsSrgb(BufferedImage src) {
        var cm = src.getColorModel();
        if (cm.getColorSpace().getType() != java.awt.color.ColorSpace.TYPE_GRAY || cm instanceof java.awt.image.IndexColorModel) {
            return src;
        }
        var raster = src.getRaster();
        int bands = raster.getNumBands();
        int w = src.getWidth();
        int h = src.getHeight();
        double gMax = (1L << cm.getComponentSize(0)) - 1;
        double aMax = bands > 1 ? (1L << cm.getComponentSize(1)) - 1 : 1;
        BufferedImage out = new BufferedImage(w, h, bands > 1 ? BufferedImage.TYPE_INT_ARGB : BufferedImage.TYPE_INT_RGB);
        int[] row = new int[w * bands];
        int[] argb = new int[w];
        for (int y = 0; y < h; y++) {
            raster.getPixels(0, y, w, 1, row);
            for (int x = 0; x < w; x++) {
                int g = (int) Math.round(row[x * bands] * 255 / gMax);
                int a = bands > 1 ? (int) Math.round(row[x * bands + 1] * 255 / aMax) : 255;
                argb[x] = a << 24 | g << 16 | g << 8 | g;
            }
            out.setRGB(0, y, w, 1, argb, 0, w);
        }
        return out;
    }

    /** The image composited over the background and resized to the model's size, as RGB. */
    static BufferedImage fit(BufferedImage src, Preprocess p) {
        int sw = src.getWidth();
        int sh = src.getHeight();
        int tw = p.width();
        int th = p.height();
        int[] size = resizedSize(sw, sh, tw, th, p.resize());
        int rw = size[0];
        int rh = size[1];
        BufferedImage flat = flattened(src, p.background());
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
