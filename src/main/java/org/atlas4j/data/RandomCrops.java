package org.atlas4j.data;

import java.util.SplittableRandom;

import org.atlas4j.util.UserError;

/**
 * torchvision's RandomResizedCrop boxes: an area fraction drawn uniformly from [minScale, maxScale] and a log-uniform
 * aspect ratio from [minRatio, maxRatio], ten tries to fit inside the image, else the largest centred box within the
 * ratio range. A box is a pure function of (seed, file key, crop number, image size), so crops reproduce whatever
 * else is in the folder and whichever thread computes them.
 */
public final class RandomCrops {
    /** Area fraction range of torchvision's default. */
    public static final double DEFAULT_MIN_SCALE = 0.08;
    public static final double DEFAULT_MAX_SCALE = 1.0;
    /** Aspect ratio (width / height) range of torchvision's default. */
    public static final double MIN_RATIO = 3.0 / 4.0;
    public static final double MAX_RATIO = 4.0 / 3.0;

    /** A crop of the full-resolution image: left, top, width, height in pixels. */
    public record Box(int x, int y, int w, int h) {
    }

    /**
     * @param perImage crops per image file (0 = whole images, no cropping)
     * @param minScale smallest area fraction, in (0, 1]
     * @param maxScale largest area fraction, in [minScale, 1]
     */
    public record Options(int perImage, double minScale, double maxScale) {
        public static final Options NONE = new Options(0, DEFAULT_MIN_SCALE, DEFAULT_MAX_SCALE);

        public Options {
            if (perImage < 0) throw new UserError("--crops-per-image must be >= 0 (0 = whole images), got " + perImage);
            if (!(minScale > 0 && minScale <= maxScale && maxScale <= 1)) {
                throw new UserError("--crop-scale must be min,max with 0 < min <= max <= 1 (area fractions; torchvision's "
                        + "default 0.08,1), got " + minScale + "," + maxScale);
            }
        }

        public boolean cropping() {
            return perImage > 0;
        }
    }

    private RandomCrops() {
    }

    /** Crop {@code k} of the image identified by {@code key} (its path relative to the dataset root). */
    public static Box box(long seed, String key, int k, int width, int height, Options o) {
        long h = seed;
        for (int i = 0; i < key.length(); i++) h = h * 0x100000001B3L ^ key.charAt(i);
        SplittableRandom r = new SplittableRandom(mix(h) ^ (0x9E3779B97F4A7C15L * (k + 1L)));
        double area = (double) width * height;
        double logLo = Math.log(MIN_RATIO);
        double logHi = Math.log(MAX_RATIO);
        for (int attempt = 0; attempt < 10; attempt++) {
            double target = area * (o.minScale() + (o.maxScale() - o.minScale()) * r.nextDouble());
            double ratio = Math.exp(logLo + (logHi - logLo) * r.nextDouble());
            int w = (int) Math.round(Math.sqrt(target * ratio));
            int hh = (int) Math.round(Math.sqrt(target / ratio));
            if (w > 0 && w <= width && hh > 0 && hh <= height) {
                return new Box(r.nextInt(width - w + 1), r.nextInt(height - hh + 1), w, hh);
            }
        }
        // torchvision's fallback: the whole image, narrowed to the ratio range, centred
        double in = (double) width / height;
        int w = width;
        int hh = height;
        if (in < MIN_RATIO) hh = Math.max(1, Math.min(height, (int) Math.round(w / MIN_RATIO)));
        else if (in > MAX_RATIO) w = Math.max(1, Math.min(width, (int) Math.round(hh * MAX_RATIO)));
        return new Box((width - w) / 2, (height - hh) / 2, w, hh);
    }

    /** SplitMix64's finaliser: nearby keys give unrelated streams. */
    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
