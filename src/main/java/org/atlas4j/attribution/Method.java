package org.atlas4j.attribution;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;

import org.atlas4j.util.UserError;

/**
 * One attribution method as the user names it: a base method, optionally averaged over noisy copies (SmoothGrad).
 * Names: cam, gradcam, gradcam++, saliency, smoothgrad (= SmoothGrad of saliency), smooth-gradcam, smooth-gradcam++.
 */
public record Method(Base base, boolean smooth) {
    public enum Base {
        CAM("cam"), GRAD_CAM("gradcam"), GRAD_CAM_PLUS_PLUS("gradcam++"), SALIENCY("saliency");

        final String id;

        Base(String id) {
            this.id = id;
        }

        /** Whether the map lives at the layer's resolution (and is upsampled) rather than the input's. */
        boolean layerResolution() {
            return this != SALIENCY;
        }
    }

    public static final String VALID = "cam, gradcam, gradcam++, saliency, smoothgrad, smooth-gradcam, smooth-gradcam++, all";

    public Method {
        if (smooth && base == Base.CAM) {
            throw new UserError("SmoothGrad needs a gradient method; CAM uses no gradient (valid: " + VALID + ")");
        }
    }

    public String id() {
        if (!smooth) return base.id;
        return base == Base.SALIENCY ? "smoothgrad" : "smooth-" + base.id;
    }

    /** File-name form of {@link #id()} ("+" is awkward in URLs and shells). */
    public String fileId() {
        return id().replace("++", "pp");
    }

    @Override
    public String toString() {
        return id();
    }

    public static Method parse(String name) {
        String n = name.trim().toLowerCase(java.util.Locale.ROOT).replace("gradcampp", "gradcam++")
                .replace("grad-cam", "gradcam");
        boolean smooth = false;
        if (n.equals("smoothgrad")) return new Method(Base.SALIENCY, true);
        if (n.startsWith("smooth-")) {
            smooth = true;
            n = n.substring("smooth-".length());
        }
        for (Base b : Base.values()) {
            if (b.id.equals(n)) return new Method(b, smooth);
        }
        throw new UserError("unknown attribution method '" + name + "'. Valid: " + VALID);
    }

    /** Every method: "all" expands to cam, gradcam, gradcam++, saliency, smoothgrad. */
    public static List<Method> parseList(List<String> names) {
        LinkedHashSet<Method> out = new LinkedHashSet<>();
        for (String raw : names) {
            for (String name : raw.split(",")) {
                if (name.isBlank()) continue;
                if (name.trim().equalsIgnoreCase("all")) {
                    out.addAll(all());
                } else {
                    out.add(parse(name));
                }
            }
        }
        if (out.isEmpty()) throw new UserError("no attribution method given. Valid: " + VALID);
        return new ArrayList<>(out);
    }

    public static List<Method> all() {
        return List.of(new Method(Base.CAM, false), new Method(Base.GRAD_CAM, false),
                new Method(Base.GRAD_CAM_PLUS_PLUS, false), new Method(Base.SALIENCY, false), new Method(Base.SALIENCY, true));
    }
}
