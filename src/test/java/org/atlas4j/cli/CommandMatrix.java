package org.atlas4j.cli;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

import javax.imageio.ImageIO;

import org.atlas4j.io.Npy;

/**
 * Runs every user-facing command through {@link Main#run} on one model and a small folder of class images, checking
 * each completes (exit 0, no internal error), writes its outputs, and that every number it wrote is finite (every
 * {@code .npy} value, no NaN/Infinity in any JSON). Failures are collected per command so one run reports the whole
 * commands × model matrix.
 */
final class CommandMatrix {
    /** The outcome of one command: exit code, stdout and stderr. */
    record Outcome(int exit, String out, String err) {
    }

    private final Path work;
    private final Map<String, String> failures = new LinkedHashMap<>();
    private final List<String> passed = new ArrayList<>();
    private final Map<String, Double> seconds = new LinkedHashMap<>();

    CommandMatrix(Path work) {
        this.work = work;
    }

    /** Captures System.out/err around one CLI invocation (Progress prints its info lines on the original err). */
    static synchronized Outcome atlas(String... args) {
        PrintStream origOut = System.out;
        PrintStream origErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit;
        try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
                PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
            System.setOut(o);
            System.setErr(e);
            exit = Main.run(args);
        } finally {
            System.setOut(origOut);
            System.setErr(origErr);
        }
        return new Outcome(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /** A check on a command's outputs; throws (any Throwable) when they are wrong. */
    interface Check {
        void verify(Outcome o) throws Exception;
    }

    /** Runs one command; records a failure instead of stopping, so later commands still run. */
    boolean step(String name, Check check, String... args) {
        long t0 = System.nanoTime();
        Outcome o;
        try {
            o = atlas(args);
        } catch (Throwable t) {
            failures.put(name, "threw " + t);
            return false;
        }
        seconds.put(name, (System.nanoTime() - t0) / 1e9);
        if (o.exit() != 0 || o.err().contains("internal error")) {
            failures.put(name, "exit " + o.exit() + ": " + lastLines(o.err(), 30));
            return false;
        }
        try {
            check.verify(o);
        } catch (Throwable t) {
            failures.put(name, t.toString());
            return false;
        }
        passed.add(name);
        return true;
    }

    void assertAllPassed(String what) {
        StringBuilder sb = new StringBuilder();
        seconds.forEach((k, v) -> sb.append(String.format(Locale.ROOT, " %s %.1fs", k, v)));
        System.out.println(what + " passed: " + passed + "; times:" + sb);
        if (!failures.isEmpty()) {
            StringBuilder f = new StringBuilder(what + ": " + failures.size() + " command(s) failed\n");
            failures.forEach((k, v) -> f.append("== ").append(k).append(": ").append(v).append('\n'));
            fail(f.toString());
        }
    }

    static String lastLines(String s, int n) {
        List<String> lines = s.lines().toList();
        return String.join("\n", lines.subList(Math.max(0, lines.size() - n), lines.size()));
    }

    // ---- checks ----

    static void exists(Path p) {
        assertTrue(Files.exists(p), "missing " + p);
        try {
            assertTrue(Files.isDirectory(p) || Files.size(p) > 0, "empty " + p);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** Every .npy under {@code dir} holds only finite values; no JSON holds NaN or Infinity; returns files checked. */
    static int allFinite(Path dir) throws Exception {
        int n = 0;
        try (var walk = Files.walk(dir)) {
            for (Path p : walk.filter(Files::isRegularFile).toList()) {
                String f = p.getFileName().toString();
                if (f.endsWith(".npy")) {
                    Npy.NpyArray a = Npy.read(p);
                    float[] v = a.data();
                    for (int k = 0; k < v.length; k++) {
                        if (!Float.isFinite(v[k])) throw new AssertionError(p + " holds " + v[k] + " at " + k);
                    }
                    n++;
                } else if (f.endsWith(".json")) {
                    String s = Files.readString(p);
                    if (s.matches("(?s).*[:\\[,\\s](NaN|-?Infinity)\\b.*")) throw new AssertionError(p + " holds NaN/Infinity");
                    n++;
                }
            }
        }
        return n;
    }

    // ---- images ----

    /**
     * Class folders of generated RGB pictures: each class has its own kind of shape and palette, with seeded
     * variation, so labels and attributions are not degenerate.
     */
    static Path classImages(Path root, List<String> classes, int perClass, int size, long seed) throws Exception {
        Random r = new Random(seed);
        for (int c = 0; c < classes.size(); c++) {
            Path d = Files.createDirectories(root.resolve(classes.get(c)));
            for (int k = 0; k < perClass; k++) {
                BufferedImage img = new BufferedImage(size, size, BufferedImage.TYPE_INT_RGB);
                Graphics2D g = img.createGraphics();
                g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
                g.setColor(new Color(r.nextInt(80), r.nextInt(80), r.nextInt(80)));
                g.fillRect(0, 0, size, size);
                float hue = (c / (float) classes.size() + 0.08f * (float) r.nextGaussian()) % 1f;
                g.setColor(Color.getHSBColor(hue < 0 ? hue + 1 : hue, 0.8f, 0.9f));
                int step = 4 + r.nextInt(6);
                switch (c % 3) {
                    case 0 -> { // stripes
                        for (int x = r.nextInt(step); x < size; x += 2 * step) g.fillRect(x, 0, step, size);
                    }
                    case 1 -> { // discs
                        for (int q = 0; q < 4; q++) {
                            int rad = size / 8 + r.nextInt(size / 6);
                            g.fillOval(r.nextInt(size - rad), r.nextInt(size - rad), rad, rad);
                        }
                    }
                    default -> { // checkerboard
                        for (int y = 0; y < size; y += step) {
                            for (int x = ((y / step) % 2) * step; x < size; x += 2 * step) g.fillRect(x, y, step, step);
                        }
                    }
                }
                g.dispose();
                ImageIO.write(img, "png", d.resolve(String.format(Locale.ROOT, "%s-%02d.png", classes.get(c), k)).toFile());
            }
        }
        return root;
    }

    Path work() {
        return work;
    }
}
