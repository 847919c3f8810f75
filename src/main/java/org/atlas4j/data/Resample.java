package org.atlas4j.data;

/**
 * Separable image resizing on float planes, with the exact sampling of the frameworks a model was trained with (see
 * {@link ImageFiles.ResizeFilter}). Each axis gets a list of taps (first input index and weights) per output index;
 * the image goes through a horizontal then a vertical pass, so memory is the input plus one intermediate plane.
 */
final class Resample {
    private Resample() {
    }

    /** Per output index: the first input index and the weights of consecutive inputs from there. */
    record Taps(int[] start, double[][] weights) {
    }

    /**
     * @param src row-major sh×sw plane, values 0..255
     * @return row-major dh×dw; the Pillow filters round and clip each pass to 0..255 as Pillow does on 8-bit images
     */
    static float[] resize(float[] src, int sw, int sh, int dw, int dh, ImageFiles.ResizeFilter f) {
        Taps tx = taps(sw, dw, f);
        Taps ty = taps(sh, dh, f);
        boolean pil = f == ImageFiles.ResizeFilter.BILINEAR_AA || f == ImageFiles.ResizeFilter.BICUBIC_AA;
        long[][] qx = pil ? fixedPoint(tx) : null;
        long[][] qy = pil ? fixedPoint(ty) : null;
        float[] mid = new float[sh * dw];
        for (int y = 0; y < sh; y++) {
            for (int x = 0; x < dw; x++) {
                int s = y * sw + tx.start()[x];
                if (pil) {
                    mid[y * dw + x] = clip8(qx[x], src, s, 1);
                } else {
                    double[] w = tx.weights()[x];
                    double acc = 0;
                    for (int k = 0; k < w.length; k++) acc += w[k] * src[s + k];
                    mid[y * dw + x] = (float) acc;
                }
            }
        }
        float[] out = new float[dh * dw];
        for (int y = 0; y < dh; y++) {
            int s = ty.start()[y];
            for (int x = 0; x < dw; x++) {
                if (pil) {
                    out[y * dw + x] = clip8(qy[y], mid, s * dw + x, dw);
                } else {
                    double[] w = ty.weights()[y];
                    double acc = 0;
                    for (int k = 0; k < w.length; k++) acc += w[k] * mid[(s + k) * dw + x];
                    out[y * dw + x] = (float) acc;
                }
            }
        }
        return out;
    }

    /** Pillow's 8-bit arithmetic: weights in 22-bit fixed point, rounded (half away from zero). */
    private static final int PRECISION_BITS = 32 - 8 - 2;

    private static long[][] fixedPoint(Taps t) {
        long[][] q = new long[t.weights().length][];
        for (int o = 0; o < q.length; o++) {
            double[] w = t.weights()[o];
            q[o] = new long[w.length];
            for (int k = 0; k < w.length; k++) {
                double v = w[k] * (1 << PRECISION_BITS);
                q[o][k] = (long) (v < 0 ? v - 0.5 : v + 0.5);
            }
        }
        return q;
    }

    /** Σ weight·pixel with Pillow's rounding (add half, arithmetic shift) and clip to 0..255; pixels are 0..255 integers. */
    private static float clip8(long[] w, float[] px, int start, int stride) {
        long acc = 1L << (PRECISION_BITS - 1);
        for (int k = 0; k < w.length; k++) acc += w[k] * (long) px[start + k * stride];
        long v = acc >> PRECISION_BITS;
        return v < 0 ? 0 : (v > 255 ? 255 : v);
    }

    static Taps taps(int in, int out, ImageFiles.ResizeFilter f) {
        return switch (f) {
            case BILINEAR -> bilinear(in, out);
            case AREA -> area(in, out);
            case BILINEAR_AA -> pillow(in, out, 1.0, false);
            case BICUBIC_AA -> pillow(in, out, 2.0, true);
            case JAVA2D -> throw new IllegalArgumentException("java2d resizes through Graphics2D, not taps");
        };
    }

    /**
     * Half-pixel centres, no antialiasing, edges clamped: tf.image.resize(method="bilinear", antialias=False) in TF2,
     * torch's interpolate(mode="bilinear", align_corners=False), OpenCV's INTER_LINEAR.
     */
    static Taps bilinear(int in, int out) {
        double scale = (double) in / out;
        int[] start = new int[out];
        double[][] w = new double[out][];
        for (int o = 0; o < out; o++) {
            double c = Math.max(0, (o + 0.5) * scale - 0.5);
            int i0 = (int) Math.floor(c);
            int i1 = Math.min(i0 + 1, in - 1);
            double l = c - i0;
            start[o] = i0;
            w[o] = i1 == i0 ? new double[] {1} : new double[] {1 - l, l};
        }
        return new Taps(start, w);
    }

    /** The mean over each output pixel's footprint [o·s, (o+1)·s) with fractional overlaps: tf.image.resize "area". */
    static Taps area(int in, int out) {
        double scale = (double) in / out;
        int[] start = new int[out];
        double[][] w = new double[out][];
        for (int o = 0; o < out; o++) {
            double lo = o * scale;
            double hi = Math.min(in, (o + 1) * scale);
            int first = (int) Math.floor(lo);
            int last = Math.min(in - 1, (int) Math.ceil(hi) - 1);
            double[] ws = new double[last - first + 1];
            double sum = 0;
            for (int i = first; i <= last; i++) {
                ws[i - first] = Math.max(0, Math.min(i + 1, hi) - Math.max(i, lo));
                sum += ws[i - first];
            }
            for (int k = 0; k < ws.length; k++) ws[k] /= sum;
            start[o] = first;
            w[o] = ws;
        }
        return new Taps(start, w);
    }

    /**
     * Pillow's precompute_coeffs (Image.resize with BILINEAR or BICUBIC): when shrinking, the filter is stretched by
     * the scale (support × scale), so every input pixel contributes: antialiasing. Weights renormalized at the edges.
     */
    static Taps pillow(int in, int out, double support, boolean cubic) {
        double scale = (double) in / out;
        double filterScale = Math.max(scale, 1.0);
        double sup = support * filterScale;
        double ss = 1.0 / filterScale;
        int[] start = new int[out];
        double[][] w = new double[out][];
        for (int o = 0; o < out; o++) {
            double centre = (o + 0.5) * scale;
            int xmin = Math.max((int) (centre - sup + 0.5), 0); // C's truncating cast, as Pillow
            int xmax = Math.min((int) (centre + sup + 0.5), in) - xmin;
            double[] ws = new double[Math.max(xmax, 0)];
            double sum = 0;
            for (int x = 0; x < xmax; x++) {
                double t = (x + xmin - centre + 0.5) * ss;
                ws[x] = cubic ? cubic(t) : Math.max(0, 1 - Math.abs(t));
                sum += ws[x];
            }
            if (sum != 0) for (int x = 0; x < ws.length; x++) ws[x] /= sum;
            start[o] = xmin;
            w[o] = ws;
        }
        return new Taps(start, w);
    }

    /** Pillow's bicubic_filter (Keys, a = −0.5). */
    private static double cubic(double x) {
        double a = -0.5;
        x = Math.abs(x);
        if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
        if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
        return 0;
    }
}
