package org.atlas4j.provenance;

import java.io.IOException;
import java.io.InputStream;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;

/** Library and runtime versions recorded with every run and every explanation. */
public final class Versions {
    /** Written by Maven's resource filtering from the pom's version. */
    static final String BUILD_PROPERTIES = "/org/atlas4j/provenance/build.properties";

    private Versions() {
    }

    public static Map<String, String> all() {
        Map<String, String> v = new LinkedHashMap<>();
        v.put("atlas4j", atlas4j());
        v.put("java", System.getProperty("java.version") + " (" + System.getProperty("java.vendor") + ")");
        v.put("deeplearning4j", pkg(org.deeplearning4j.nn.multilayer.MultiLayerNetwork.class, "1.0.0-M2.1"));
        v.put("nd4j", pkg(org.nd4j.linalg.factory.Nd4j.class, "1.0.0-M2.1"));
        v.put("nd4jBackend", org.nd4j.linalg.factory.Nd4j.getBackend().getClass().getSimpleName());
        v.put("smile", pkg(smile.manifold.UMAP.class, "unknown"));
        v.put("os", System.getProperty("os.name") + " " + System.getProperty("os.arch"));
        v.put("cores", Integer.toString(Runtime.getRuntime().availableProcessors()));
        return v;
    }

    /**
     * This build's version: the pom's, filtered into build.properties at build time (so it holds for the jar and for
     * target/classes in tests alike); else the jar manifest's; else "unknown" (e.g. classes compiled by an IDE alone).
     */
    public static String atlas4j() {
        String filtered = fromBuildProperties(Versions.class.getResourceAsStream(BUILD_PROPERTIES));
        if (filtered != null) return filtered;
        String manifest = Versions.class.getPackage() == null ? null : Versions.class.getPackage().getImplementationVersion();
        return manifest != null ? manifest : "unknown";
    }

    /** The version in a build.properties stream, or null when absent or left unfiltered. */
    static String fromBuildProperties(InputStream in) {
        if (in == null) return null;
        try (in) {
            Properties p = new Properties();
            p.load(in);
            String v = p.getProperty("version");
            return v == null || v.isBlank() || v.contains("${") ? null : v.trim();
        } catch (IOException e) {
            return null;
        }
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
