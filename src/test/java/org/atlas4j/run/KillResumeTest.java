package org.atlas4j.run;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import org.atlas4j.data.FashionMnist;
import org.atlas4j.io.Json;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * {@code ./atlas run} killed with SIGKILL inside every stage (collect, reduce, grid, render, fidelity, stitch, a zoom
 * level's render and stitch, the viewer export) and restarted each time ends with the same files, byte for byte, as an
 * uninterrupted run in another folder. Each kill is deterministic: the child JVM stops at a named point
 * ({@link org.atlas4j.util.KillPoint}), says so in a marker file, and is then killed.
 */
@org.atlas4j.IntegrationTest
class KillResumeTest {
    static final Path DEMO_MODEL = Path.of("models/fashion-mnist-cnn.zip");
    /** Where the interrupted run is killed, in pipeline order; each restart resumes from the previous kill. */
    static final List<String> KILL_POINTS = List.of(
            "collect.batch@run/collect#2",        // activations and samples half streamed
            "write@run/reduce/layout.npy",        // raw layout written, the normalized one not yet renamed into place
            "write@run/grid/cells.json",          // cell vectors written, cells not
            "render.batch@run/render#2",          // two of the main grid's render batches finished
            "write@run/render/fidelity.json",     // render stamped, its fidelity not yet written
            "write@run/atlas.svg",                // stitch: atlas.png written, atlas.svg and atlas.json not
            "render.batch@levels/8/render#1",    // zoom level 8×8: one render batch finished
            "write@levels/8/atlas.png",          // zoom level 8×8: stitch begun
            "write@run/viewer/data.js",           // viewer: sprites written, its data not
            "write@run/index.html");              // viewer: data written, the page not

    @TempDir
    Path tmp;
    Path out;

    @Test
    void aRunKilledInEveryStageEndsByteIdenticalToAnUninterruptedOne() throws Exception {
        Assumptions.assumeTrue(Files.exists(DEMO_MODEL), "demo model " + DEMO_MODEL + " is absent");
        Assumptions.assumeTrue(FashionMnist.isPresent(FashionMnist.DEFAULT_DIR), "Fashion-MNIST is not installed");
        // -Datlas4j.test.keepKillResume=<dir> keeps both runs and the logs for a look after a failure
        out = System.getProperty("atlas4j.test.keepKillResume") != null
                ? Files.createDirectories(Path.of(System.getProperty("atlas4j.test.keepKillResume"))) : tmp;
        Path ref = out.resolve("reference");
        Path resumed = out.resolve("resumed");
        long t0 = System.nanoTime();
        assertEquals(0, atlas(ref, null).waitFor(), "the uninterrupted run failed; see " + out.resolve("reference.log"));
        double refSeconds = (System.nanoTime() - t0) / 1e9;
        for (int i = 0; i < KILL_POINTS.size(); i++) {
            String point = KILL_POINTS.get(i);
            Path marker = out.resolve("killed-" + i);
            Process p = atlas(resumed, point + "|" + marker);
            while (!Files.exists(marker) && p.isAlive()) Thread.sleep(50);
            if (!Files.exists(marker)) {
                fail("kill point " + point + " was never reached (exit " + p.waitFor() + "); log " + log(resumed));
            }
            p.destroyForcibly(); // SIGKILL on Linux: no finally blocks, no shutdown hooks, the lock left behind
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the killed child did not end");
        }
        assertEquals(0, atlas(resumed, null).waitFor(), "the final restart failed; see " + log(resumed));
        System.out.printf("kill-resume: %d SIGKILLs and restarts; uninterrupted run %.1f s, everything %.1f s%n",
                KILL_POINTS.size(), refSeconds, (System.nanoTime() - t0) / 1e9);

        Map<String, byte[]> a = files(ref.resolve("run"));
        Map<String, byte[]> b = files(resumed.resolve("run"));
        var onlyA = new java.util.TreeSet<>(a.keySet());
        onlyA.removeAll(b.keySet());
        var onlyB = new java.util.TreeSet<>(b.keySet());
        onlyB.removeAll(a.keySet());
        assertEquals("", (onlyA.isEmpty() ? "" : "only in the uninterrupted run: " + onlyA) + (onlyB.isEmpty() ? ""
                : " only in the resumed run: " + onlyB), "the two runs have different files");
        List<String> differ = new ArrayList<>();
        int timed = 0;
        for (String f : a.keySet()) {
            if (java.util.Arrays.equals(a.get(f), b.get(f))) continue;
            // measurements of time are the one thing a resumed run cannot repeat: JSON files are compared without them
            if (!f.endsWith(".json") || !withoutTimes(a.get(f)).equals(withoutTimes(b.get(f)))) differ.add(f);
            else timed++;
        }
        assertEquals(List.of(), differ, "files differ between the uninterrupted and the resumed run");
        assertTrue(a.size() > 60, "expected tiles of three levels, got " + a.size() + " files");
        System.out.printf("kill-resume: %d files compared, %d byte-identical, %d equal but for timings%n", a.size(),
                a.size() - timed, timed);
        try (var walk = Files.walk(resumed)) {
            assertEquals(List.of(), walk.filter(p -> p.getFileName().toString().endsWith(".tmp")).toList(),
                    "temporary files left by the killed writers");
        }
    }

    private Path log(Path root) {
        return out.resolve(root.getFileName() + ".log");
    }

    /** {@code atlas run} in a child JVM on {@code root/run}; {@code kill} is "point|marker" or null. */
    private Process atlas(Path root, String kill) throws Exception {
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> cmd = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED",
                "--sun-misc-unsafe-memory-access=allow", "-Xmx1g"));
        for (String prop : List.of("org.bytedeco.javacpp.cachedir", "org.bytedeco.javacpp.maxbytes",
                "org.bytedeco.javacpp.maxphysicalbytes", "org.bytedeco.javacpp.logger")) {
            if (System.getProperty(prop) != null) cmd.add("-D" + prop + "=" + System.getProperty(prop));
        }
        if (kill != null) {
            String[] k = kill.split("\\|");
            cmd.add("-Datlas4j.test.killAt=" + k[0]);
            cmd.add("-Datlas4j.test.killMarker=" + k[1]);
        }
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), "org.atlas4j.cli.Main", "run",
                "--output", root.toString(), "--name", "run", "--model", DEMO_MODEL.toAbsolutePath().toString(),
                "--limit", "600", "--grid", "5", "--threshold", "3", "--levels", "3,8", "--steps", "8",
                "--render-batch", "6", "--seed", "7"));
        return new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log(root).toFile())).start();
    }

    static final java.util.Set<String> TIMES = java.util.Set.of("seconds", "finished", "imagesPerSecond",
            "iconStepsPerSecond", "decodeWaitSeconds", "epochsPerSecond", "rowsPerSecond");

    /** A JSON file with its timings (and the provenance's absolute output folder) removed, key order kept. */
    static String withoutTimes(byte[] json) throws Exception {
        JsonNode n = Json.MAPPER.readTree(json);
        strip(n);
        if (n.path("config") instanceof ObjectNode c) c.remove("output");
        return n.toString();
    }

    private static void strip(JsonNode n) {
        if (n instanceof ObjectNode o) o.remove(TIMES);
        for (JsonNode c : n) strip(c);
    }

    /** Every file under {@code dir} but dot files (the lock), by relative path. */
    static Map<String, byte[]> files(Path dir) throws Exception {
        Map<String, byte[]> m = new TreeMap<>();
        try (var walk = Files.walk(dir)) {
            for (Path p : walk.filter(Files::isRegularFile).toList()) {
                if (p.getFileName().toString().startsWith(".")) continue;
                m.put(dir.relativize(p).toString(), Files.readAllBytes(p));
            }
        }
        return m;
    }
}
