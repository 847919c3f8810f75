package org.atlas4j.attribution;

/**
 * The attribution formulas on plain arrays (one sample at a time), so they can be checked by hand and against finite
 * differences. Layouts: activations and gradients [K][u][v] (channel-major, as NCHW rows), input gradients [C][H][W].
 * Accumulation is in double.
 */
public final class AttributionMaps {
    private AttributionMaps() {
    }

    /** Grad-CAM channel weights α_k = (1/Z) Σ_ij g^k_ij. */
    public static double[] gradCamWeights(float[] g, int offset, int channels, int area) {
        double[] w = new double[channels];
        for (int k = 0; k < channels; k++) {
            double s = 0;
            int base = offset + k * area;
            for (int p = 0; p < area; p++) s += g[base + p];
            w[k] = s / area;
        }
        return w;
    }

    /**
     * Grad-CAM++ channel weights, closed form for Y = exp(S) (Chattopadhyay et al. 2018, eq. 19):
     * α^k_ij = g² / (2g² + (Σ_ab A^k_ab)·g³), α = 0 where the denominator is 0; w_k = Σ_ij α^k_ij · ReLU(g^k_ij).
     * No further per-channel normalization of α (the variant pytorch-grad-cam implements).
     */
    public static double[] gradCamPlusPlusWeights(float[] a, float[] g, int offset, int channels, int area) {
        double[] w = new double[channels];
        for (int k = 0; k < channels; k++) {
            int base = offset + k * area;
            double sumA = 0;
            for (int p = 0; p < area; p++) sumA += a[base + p];
            double s = 0;
            for (int p = 0; p < area; p++) {
                double gi = g[base + p];
                if (gi <= 0) continue; // ReLU(g) = 0: the term vanishes whatever α is
                double g2 = gi * gi;
                double den = 2 * g2 + sumA * g2 * gi;
                double alpha = den == 0 ? 0 : g2 / den;
                s += alpha * gi;
            }
            w[k] = s;
        }
        return w;
    }

    /** ReLU(Σ_k w_k A^k) at the layer's resolution (u·v values). */
    public static float[] weightedReluSum(float[] a, int offset, double[] weights, int area) {
        double[] acc = new double[area];
        for (int k = 0; k < weights.length; k++) {
            double wk = weights[k];
            if (wk == 0) continue;
            int base = offset + k * area;
            for (int p = 0; p < area; p++) acc[p] += wk * a[base + p];
        }
        float[] m = new float[area];
        for (int p = 0; p < area; p++) m[p] = (float) Math.max(0, acc[p]);
        return m;
    }

    /** Vanilla gradient saliency (Simonyan et al. 2014): max over colour channels of |∂y_c/∂x|. */
    public static float[] saliency(float[] grad, int offset, int channels, int area) {
        float[] m = new float[area];
        for (int c = 0; c < channels; c++) {
            int base = offset + c * area;
            for (int p = 0; p < area; p++) m[p] = Math.max(m[p], Math.abs(grad[base + p]));
        }
        return m;
    }

    /**
     * Bilinear resize with half-pixel centres (OpenCV's INTER_LINEAR, PyTorch's align_corners=False), edges clamped.
     * Linear in the map, so smoothing before or after upsampling is the same.
     */
    public static float[] upsample(float[] m, int h, int w, int outH, int outW) {
        if (h == outH && w == outW) return m.clone();
        float[] out = new float[outH * outW];
        double sy = (double) h / outH;
        double sx = (double) w / outW;
        int[] x0 = new int[outW];
        int[] x1 = new int[outW];
        double[] fx = new double[outW];
        for (int x = 0; x < outW; x++) {
            double src = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), w - 1);
            x0[x] = (int) Math.floor(src);
            x1[x] = Math.min(x0[x] + 1, w - 1);
            fx[x] = src - x0[x];
        }
        for (int y = 0; y < outH; y++) {
            double src = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), h - 1);
            int y0 = (int) Math.floor(src);
            int y1 = Math.min(y0 + 1, h - 1);
            double fy = src - y0;
            for (int x = 0; x < outW; x++) {
                double top = m[y0 * w + x0[x]] * (1 - fx[x]) + m[y0 * w + x1[x]] * fx[x];
                double bottom = m[y1 * w + x0[x]] * (1 - fx[x]) + m[y1 * w + x1[x]] * fx[x];
                out[y * outW + x] = (float) (top * (1 - fy) + bottom * fy);
            }
        }
        return out;
    }

    public static float max(float[] m) {
        float best = 0;
        for (float v : m) {
            if (v > best) best = v;
        }
        return best;
    }

    /** The map divided by its maximum; an all-zero (or non-positive) map stays all zeros — never NaN. */
    public static float[] normalized(float[] m) {
        float mx = max(m);
        float[] out = new float[m.length];
        if (!(mx > 0) || !Float.isFinite(mx)) return out;
        for (int i = 0; i < m.length; i++) out[i] = Math.max(0, m[i]) / mx;
        return out;
    }
}
