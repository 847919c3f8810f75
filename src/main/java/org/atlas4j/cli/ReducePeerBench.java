package org.atlas4j.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.atlas4j.io.Json;
import org.atlas4j.io.Npy;
import org.atlas4j.reduce.CosineKnn;
import org.atlas4j.reduce.KnnRecall;
import org.atlas4j.reduce.NnDescent;
import org.atlas4j.reduce.Reducer;
import org.atlas4j.reduce.SyntheticActivations;
import org.atlas4j.util.Progress;
import org.atlas4j.util.UserError;

import com.fasterxml.jackson.databind.JsonNode;

import smile.graph.NearestNeighborGraph;

/**
 * {@code ./atlas bench --synthetic-reduce N [--vs-peers]}: the layout of N × 512 synthetic clustered activations (a
 * Gaussian mixture, ReLU'd, see {@link SyntheticActivations}), timed with this process's peak RSS; with --vs-peers
 * umap-learn (Debian, parallel mode) lays out the same .npy, alternating rounds, and both layouts get sklearn's
 * trustworthiness. Then the kNN graph's recall@20 on a 50,000-row check against the exact graph (and both times).
 */
final class ReducePeerBench {
    static final Path SCRIPT = Path.of("bench/reduce_peer.py");
    static final int DIM = 512;
    static final int RECALL_ROWS = 50_000;

    private ReducePeerBench() {
    }

    static void run(int n, boolean vsPeers, int rounds, long seed) throws Exception {
        if (n < 1000) throw new UserError("--synthetic-reduce needs at least 1,000 rows, got " + n);
        long need = (long) n * DIM * 4 * 2 + (1L << 30); // the rows, the layout's graph and edges, headroom
        if (Runtime.getRuntime().maxMemory() < need) {
            throw new UserError(String.format(Locale.ROOT, "%,d × %d activations need a heap of about %d GB (this one has "
                    + "%.1f GB): run ATLAS_JAVA_OPTS=-Xmx%dg ./atlas bench --synthetic-reduce %d", n, DIM,
                    (need >> 30) + 1, Runtime.getRuntime().maxMemory() / 1e9, (need >> 30) + 1, n));
        }
        if (vsPeers && !Files.exists(SCRIPT)) throw new UserError("run --synthetic-reduce --vs-peers from the project folder (needs " + SCRIPT + ")");
        if (vsPeers) ensureUmapLearn();
        int threads = Runtime.getRuntime().availableProcessors();
        String load0 = loadAverage();
        Path dir = Files.createDirectories(Path.of("atlas-output", "bench-synthetic-reduce"));
        Progress.info(String.format(Locale.ROOT, "bench: %,d × %d synthetic activations (64 clusters, seed %d) ...", n, DIM, seed));
        float[] x = SyntheticActivations.make(n, DIM, 64, 8, seed);
        Path acts = dir.resolve("activations-" + n + ".npy");
        Path ours = dir.resolve("atlas4j-layout-" + n + ".npy");
        Path theirs = dir.resolve("umap-learn-layout-" + n + ".npy");
        if (vsPeers) Npy.writeFloat32(acts, x, n, DIM);

        List<Double> oursSec = new ArrayList<>();
        List<Double> peerSec = new ArrayList<>();
        long peerRss = 0;
        for (int r = 0; r < rounds; r++) {
            Progress.info("bench: round " + (r + 1) + " of " + rounds + " (atlas4j" + (vsPeers ? ", then umap-learn)" : ")"));
            long t0 = System.nanoTime();
            float[] y = Reducer.fit(x, n, DIM, Reducer.Options.paperDefaults(seed));
            oursSec.add((System.nanoTime() - t0) / 1e9);
            if (r == 0) Npy.writeFloat32(ours, y, n, 2);
            if (vsPeers) {
                JsonNode p = peer("umap", Map.of("activations", acts.toString(), "out", theirs.toString(),
                        "threads", threads));
                peerSec.add(p.get("seconds").asDouble());
                peerRss = Math.max(peerRss, p.get("peak_rss_bytes").asLong());
            }
        }
        long oursRss = peakRss(); // before the recall check's exact graph

        JsonNode trust = null;
        if (vsPeers) {
            trust = peer("trust", Map.of("activations", acts.toString(), "seed", 7, "subset", 5000, "k", 10,
                    "layouts", Map.of("atlas4j", ours.toString(), "umap-learn", theirs.toString())));
        }

        // recall@20 and the switch point: both graphs on the first 50,000 rows (or all, if fewer)
        int m = Math.min(n, RECALL_ROWS);
        float[] xs = java.util.Arrays.copyOf(x, m * DIM);
        long t1 = System.nanoTime();
        NearestNeighborGraph approx = NnDescent.build(xs, m, DIM, NnDescent.Options.defaults(m, 20, threads, seed), null);
        double approxSec = (System.nanoTime() - t1) / 1e9;
        double[][] unit = new double[m][DIM];
        for (int i = 0; i < m; i++) {
            double s = 0;
            for (int j = 0; j < DIM; j++) s += (double) xs[i * DIM + j] * xs[i * DIM + j];
            s = Math.sqrt(s);
            for (int j = 0; j < DIM; j++) unit[i][j] = s > 0 ? xs[i * DIM + j] / s : 0;
        }
        long t2 = System.nanoTime();
        NearestNeighborGraph exact = CosineKnn.build(unit, 20);
        double exactSec = (System.nanoTime() - t2) / 1e9;
        double recall = KnnRecall.recall(approx, exact);
        String load1 = loadAverage();

        double om = median(oursSec);
        StringBuilder t = new StringBuilder();
        t.append(String.format(Locale.ROOT, "atlas4j reduce — %,d × %d synthetic (64-cluster Gaussian mixture, ReLU), cosine UMAP k=20, "
                + "%d threads, %d round(s), Java %s; load average %s at start, %s at end%n", n, DIM, threads, rounds,
                System.getProperty("java.version"), load0, load1));
        t.append(String.format(Locale.ROOT, "%-44s %s (median of %s s); peak RSS %.2f GB%n", "atlas4j layout", Progress.format(om),
                fmt(oursSec), oursRss / 1e9));
        if (vsPeers) {
            double pm = median(peerSec);
            t.append(String.format(Locale.ROOT, "%-44s %s (median of %s s); peak RSS %.2f GB%n", "umap-learn 0.5.3 layout (parallel)",
                    Progress.format(pm), fmt(peerSec), peerRss / 1e9));
            t.append(String.format(Locale.ROOT, "%-44s %.2f× (umap-learn seconds ÷ ours)%n", "speed", pm / om));
            t.append(String.format(Locale.ROOT, "%-44s atlas4j %.4f, umap-learn %.4f (%+.4f)%n",
                    "trustworthiness k=10 (5,000-row subset)", trust.get("atlas4j").asDouble(), trust.get("umap-learn").asDouble(),
                    trust.get("atlas4j").asDouble() - trust.get("umap-learn").asDouble()));
        }
        t.append(String.format(Locale.ROOT, "%-44s %.4f (NN-descent %.1f s, exact graph %.1f s, %,d rows)%n",
                "kNN recall@20 vs exact", recall, approxSec, exactSec, m));
        System.out.print(t);
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("date", java.time.LocalDate.now().toString());
        out.put("rows", n);
        out.put("dim", DIM);
        out.put("threads", threads);
        out.put("loadAverage", List.of(load0, load1));
        out.put("atlas4jSeconds", oursSec);
        out.put("atlas4jPeakRssBytes", oursRss);
        if (vsPeers) {
            out.put("umapLearnSeconds", peerSec);
            out.put("umapLearnPeakRssBytes", peerRss);
            out.put("trustworthiness", trust);
        }
        out.put("recall", Map.of("rows", m, "recallAt20", recall, "nnDescentSeconds", approxSec, "exactSeconds", exactSec));
        Json.write(dir.resolve("bench-" + n + ".json"), out);
        Files.writeString(dir.resolve("bench-" + n + ".txt"), t.toString());
        if (vsPeers) Files.deleteIfExists(acts); // 2 GB at 1,000,000 rows: remade from the seed on the next run
    }

    static final Path PYTHON = Path.of("/usr/bin/python3");

    /** Debian's umap-learn and python3-sklearn (installed when missing and we are root). */
    static void ensureUmapLearn() throws Exception {
        if (importable()) return;
        if (!"root".equals(System.getProperty("user.name"))) {
            throw new UserError("umap-learn is missing: sudo apt-get install umap-learn python3-sklearn, then run again");
        }
        Progress.info("bench: installing umap-learn python3-sklearn (Debian packages)");
        Process p = new ProcessBuilder("apt-get", "install", "-y", "umap-learn", "python3-sklearn").inheritIO().start();
        if (p.waitFor() != 0 || !importable()) throw new UserError("could not install umap-learn with apt-get; install it and run again");
    }

    private static boolean importable() throws Exception {
        if (!Files.isExecutable(PYTHON)) return false;
        Process p = new ProcessBuilder(PYTHON.toString(), "-c", "import umap, sklearn").redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        return p.waitFor() == 0;
    }

    /** One call of bench/reduce_peer.py; its last stdout line is the JSON answer. */
    static JsonNode peer(String what, Map<String, ?> args) throws Exception {
        Process p = new ProcessBuilder(PYTHON.toString(), SCRIPT.toString(), what, Json.MAPPER.writeValueAsString(args))
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (p.waitFor() != 0) {
            throw new UserError("the peer step '" + what + "' of " + SCRIPT + " failed (exit " + p.exitValue()
                    + "; its error is printed above). Check that /usr/bin/python3 imports umap and sklearn.");
        }
        return Json.MAPPER.readTree(out.strip().lines().reduce((a, b) -> b).orElse(""));
    }

    /** This process's VmHWM in bytes. */
    static long peakRss() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
            }
        } catch (java.io.IOException | RuntimeException e) {
            // not Linux: reported as 0
        }
        return 0;
    }

    static double median(List<Double> v) {
        double[] a = v.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return a.length % 2 == 1 ? a[a.length / 2] : (a[a.length / 2 - 1] + a[a.length / 2]) / 2;
    }

    private static String fmt(List<Double> v) {
        return String.join(", ", v.stream().map(s -> String.format(Locale.ROOT, "%.1f", s)).toList());
    }

    static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).split(" ");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (java.io.IOException e) {
            return "unknown";
        }
    }
}
