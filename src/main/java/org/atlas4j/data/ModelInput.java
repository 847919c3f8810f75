package org.atlas4j.data;

/**
 * The map from what a person sees — RGB (or grey) planes with values in [0,1], as icons are optimised and saved — to
 * what the model takes: its channel order and pixel scaling. Why: icons rendered straight in the model's input space
 * are right only for models that take pixels / 255; an ImageNet-normalised network would be optimised on inputs its
 * data never had (and the saved PNG would not be the picture the network saw).
 *
 * @param scaling the model's pixel scaling (per model channel, per 8-bit value)
 * @param bgr the model takes B, G, R
 */
public record ModelInput(PixelScaling scaling, boolean bgr) {
    /** A model that takes pixels / 255 in RGB order: the map is the identity. */
    public static ModelInput unit(int channels) {
        return new ModelInput(PixelScaling.parse("pixels / 255", channels), false);
    }

    public static ModelInput of(ImageFiles.Preprocess p) {
        return new ModelInput(p.scaling(), p.bgr() && p.channels() == 3);
    }

    public int channels() {
        return scaling.scale().length;
    }

    /** True when model input = displayed value. */
    public boolean isIdentity() {
        if (bgr) return false;
        for (int c = 0; c < channels(); c++) {
            if (Math.abs(scaling.scale()[c] * 255 - 1) > 1e-12 || scaling.offset()[c] != 0) return false;
        }
        return true;
    }

    /** The displayed channel that model channel {@code c} reads. */
    private int source(int c) {
        return bgr ? 2 - c : c;
    }

    /** Displayed [n, C, plane] values in [0,1] → model inputs (same layout; may not alias). */
    public void toModel(float[] unit, float[] model, int n, int plane) {
        int ch = channels();
        for (int i = 0; i < n; i++) {
            for (int c = 0; c < ch; c++) {
                float a = (float) (scaling.scale()[c] * 255);
                float b = (float) scaling.offset()[c];
                int dst = (i * ch + c) * plane;
                int src = (i * ch + source(c)) * plane;
                for (int k = 0; k < plane; k++) model[dst + k] = unit[src + k] * a + b;
            }
        }
    }

    /** ∂/∂model input → ∂/∂displayed value (the chain rule through {@link #toModel}). */
    public void gradientToUnit(float[] modelGrad, float[] unitGrad, int n, int plane) {
        int ch = channels();
        for (int i = 0; i < n; i++) {
            for (int c = 0; c < ch; c++) {
                float a = (float) (scaling.scale()[c] * 255);
                int src = (i * ch + c) * plane;
                int dst = (i * ch + source(c)) * plane;
                for (int k = 0; k < plane; k++) unitGrad[dst + k] = modelGrad[src + k] * a;
            }
        }
    }

    /** For provenance: "imagenet, BGR". */
    public String describe() {
        return scaling.spec() + (bgr ? ", BGR" : "");
    }
}
