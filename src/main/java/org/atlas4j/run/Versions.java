package org.atlas4j.run;

import java.util.LinkedHashMap;
import java.util.Map;

/** Library and runtime versions recorded with every run. */
public final class Versions {
    private Versions() {
    }

    public static Map<String, String> all() {
        Map<String, String> v = new LinkedHashMap<>();
        v.put("atlas4j", "0.1.0");
        v.put("java", System.getProperty("java.version") + " (" + System.getProperty("java.vendor") + ")");
        v.put("deeplearning4j", pkg(org.deeplearning4j.nn.multilayer.MultiLayerNetwork.class, "1.0.0-M2.1"));
        v.put("nd4j", pkg(org.nd4j.linalg.factory.Nd4j.class, "1.0.0-M2.1"));
        v.put("nd4jBackend", org.nd4j.linalg.factory.Nd4j.getBackend().getClass().getSimpleName());
        v.put("smile", pkg(smile.manifold.UMAP.class, "unknown"));
        v.put("os", System.getProperty("os.name") + " " + System.getProperty("os.arch"));
        v.put("cores", Integer.toString(Runtime.getRuntime().availableProcessors()));
        return v;
    }

    private static String pkg(Class<?> c, String fallback) {
        String s = c.getPackage() == null ? null : c.getPackage().getImplementationVersion();
        if (s != null) return s;
        // fall back to the jar name, which carries the version for Maven artifacts
        try {
            String path = c.getProtectionDomain().getCodeSource().getLocation().getPath();
            String jar = path.substring(path.lastIndexOf('/') + 1);
            return jar.isEmpty() ? fallback : jar.replace(".jar", "");
        } catch (RuntimeException e) {
            return fallback;
        }
    }
}
