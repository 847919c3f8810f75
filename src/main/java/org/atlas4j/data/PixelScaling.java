package org.atlas4j.data;

import java.util.Locale;

import org.atlas4j.util.UserError;

/**
 * How a model wants pixel values: x = p · scale[c] + offset[c] for 8-bit p in 0..255, per channel. Parsed from the
 * model card's {@code pixelScaling}.
 */
public record PixelScaling(String spec, double[] scale, double[] offset) {
    public static final String VALID = "\"pixels / 255\" (values in [0,1]), \"pixels\" ([0,255]), "
            + "\"pixels / 127.5 - 1\" ([-1,1]), \"imagenet\" ((pixels/255 − mean)/std with the ImageNet RGB statistics), "
            + "\"mean=m1,m2,m3 std=s1,s2,s3\" ((pixels/255 − mean)/std per channel; one value each for greyscale)";

    public static PixelScaling parse(String spec, int channels) {
        String s = spec == null ? "" : spec.trim().toLowerCase(Locale.ROOT).replace(" ", "");
        double sc;
        double off;
        switch (s) {
            case "pixels/255", "[0,1]" -> { sc = 1 / 255.0; off = 0; }
            case "pixels", "[0,255]" -> { sc = 1; off = 0; }
            case "pixels/127.5-1", "[-1,1]" -> { sc = 1 / 127.5; off = -1; }
            case "imagenet" -> {
                if (channels != 3) throw new UserError("pixel scaling \"imagenet\" needs a 3-channel model, this one has " + channels);
                return meanStd(spec, new double[] {0.485, 0.456, 0.406}, new double[] {0.229, 0.224, 0.225});
            }
            default -> {
                if (s.startsWith("mean=") && s.contains("std=")) {
                    double[] mean = numbers(spec, s.substring(5, s.indexOf("std=")), channels);
                    double[] std = numbers(spec, s.substring(s.indexOf("std=") + 4), channels);
                    for (double v : std) {
                        if (!(v > 0)) throw new UserError("pixel scaling \"" + spec + "\": std values must be > 0");
                    }
                    return meanStd(spec, mean, std);
                }
                throw new UserError("unknown pixel scaling \"" + spec + "\" in the model card; valid: " + VALID);
            }
        }
        double[] a = new double[channels];
        double[] b = new double[channels];
        java.util.Arrays.fill(a, sc);
        java.util.Arrays.fill(b, off);
        return new PixelScaling(spec, a, b);
    }

    private static double[] numbers(String spec, String list, int channels) {
        String[] parts = list.split(",");
        if (parts.length != channels) {
            throw new UserError("pixel scaling \"" + spec + "\": need " + channels + " mean and std values (one per input "
                    + "channel), got " + parts.length);
        }
        double[] v = new double[channels];
        try {
            for (int i = 0; i < channels; i++) v[i] = Double.parseDouble(parts[i]);
        } catch (NumberFormatException e) {
            throw new UserError("pixel scaling \"" + spec + "\": not a number: " + e.getMessage());
        }
        return v;
    }

    private static PixelScaling meanStd(String spec, double[] mean, double[] std) {
        double[] a = new double[mean.length];
        double[] b = new double[mean.length];
        for (int c = 0; c < mean.length; c++) {
            a[c] = 1 / (255.0 * std[c]);
            b[c] = -mean[c] / std[c];
        }
        return new PixelScaling(spec, a, b);
    }

    public float apply(int channel, double pixel) {
        return (float) (pixel * scale[channel] + offset[channel]);
    }

    /** Back to 0..255 (clamped), for showing the image as the model saw it. */
    public int invert(int channel, double value) {
        long p = Math.round((value - offset[channel]) / scale[channel]);
        return (int) Math.min(255, Math.max(0, p));
    }
}
