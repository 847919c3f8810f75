package org.atlas4j.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.atlas4j.collect.Collector;
import org.atlas4j.data.FashionMnist;
import org.atlas4j.data.ImageDataset;
import org.atlas4j.data.SubsetDataset;
import org.atlas4j.io.Json;
import org.atlas4j.io.Npy;
import org.atlas4j.model.LoadedModel;
import org.atlas4j.model.NetGraph;
import org.atlas4j.model.SameDiffConverter;
import org.atlas4j.reduce.Reducer;
import org.atlas4j.render.Renderer;
import org.atlas4j.util.Progress;
import org.atlas4j.util.UserError;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * {@code ./atlas bench --vs-peers}: our stages against PyTorch (forward, gradient ascent) and umap-learn (layout) on
 * this machine, same weights, data and thread count, alternating ours and theirs each round. Peers come from Debian's
 * packages (installed when missing and root); bench/peers.py is their side.
 */
final class PeerBench {
    static final Path PYTHON = Path.of("/usr/bin/python3");
    static final Path SCRIPT = Path.of("bench/peers.py");

    record Stat(double min, double median, double max) {
        static Stat of(List<Double> v) {
            double[] a = v.stream().mapToDouble(Double::doubleValue).sorted().toArray();
            return new Stat(a[0], a[a.length / 2], a[a.length - 1]);
        }
    }

    /** Alternating rounds: of the network stages (collect, render) and of the layout (reduce, ~1.5 min each). */
    record Rounds(int network, int reduce) {
    }

    /** Work per round: images per collect, icons and steps per render. */
    record Work(int images, int icons, int steps) {
    }

    /** Rates per round of collect (img/s) and render (icon-steps/s), both sides; {@code crop} null without a crop. */
    record NetworkRates(List<Double> oursCollect, List<Double> peerCollect, List<Double> oursRender, List<Double> peerRender,
            List<Double> peerRenderCrop, List<Double> oursRenderWhole, int[] crop) {
    }

    /** Seconds per round of each side's UMAP on rows × cols activations, and the trustworthiness of both layouts. */
    record ReduceTimes(int rows, int cols, List<Double> ours, List<Double> peer, JsonNode trust) {
    }

    private final LoadedModel m;
    private final NetGraph g;
    private final String layer;
    private final Work work;
    private final int threads = Runtime.getRuntime().availableProcessors();
    private final Path tmp;
    private final Path weights;
    private final ImageDataset all;
    /** The 60,000 training images' IDX file: the peer reads the images itself. */
    private final Path images60k;

    private PeerBench(LoadedModel m, String layer, Path dataDir, Work work, Path tmp) throws Exception {
        this.m = m;
        this.g = m.graph();
        this.layer = layer;
        this.work = work;
        this.tmp = tmp;
        this.weights = Files.createDirectories(tmp.resolve("weights"));
        this.all = FashionMnist.all(dataDir);
        this.images60k = FashionMnist.file(dataDir, true, true);
    }

    static void run(LoadedModel m, String layer, Path dataDir, Rounds rounds, Work work, Path demoActs, boolean endToEnd)
            throws Exception {
        ensurePeers();
        if (!(m.network() instanceof MultiLayerNetwork net)) throw new UserError("--vs-peers without an .onnx --model benchmarks the demo model; for another network pass --model NET.onnx (PyTorch runs the same file)");
        PeerBench b = new PeerBench(m, layer, dataDir, work, Files.createTempDirectory("atlas4j-peers"));
        exportWeights(net, b.weights);
        double worst = b.logitDifference();
        NetworkRates net2 = b.networkRounds(rounds.network());
        ReduceTimes red = b.reduceRounds(rounds.reduce(), demoActs);
        EndToEnd e2e = endToEnd ? endToEnd(b.tmp.resolve("demo")) : null;
        String t = b.table(rounds, net2, red, e2e);
        System.out.print(t);
        Path report = Path.of("atlas-output", "bench-vs-peers.json");
        Files.createDirectories(report.getParent());
        Json.write(report, b.json(net2, red, worst, e2e));
        Files.writeString(Path.of("atlas-output", "bench-vs-peers.txt"), t);
        Progress.info("peers: " + report);
    }

    /** Same weights? The largest difference of the peer's logits from ours on the first 8 images. */
    private double logitDifference() throws Exception {
        JsonNode fwd0 = peer("forward", Map.of("weights", weights.toString(), "images", images60k.toString(), "n", 256,
                "batch", 256, "threads", threads));
        float[] x8 = new float[8 * 784];
        for (int i = 0; i < 8; i++) all.copyImage(i, x8, i * 784);
        var ours8 = g.forward(org.nd4j.linalg.factory.Nd4j.create(x8, new long[] {8, 1, 28, 28}, 'c'), g.logits()).get(g.logits());
        double worst = 0;
        for (int i = 0; i < 8; i++) {
            for (int c = 0; c < 10; c++) worst = Math.max(worst, Math.abs(ours8.getDouble(i, c) - fwd0.get("logits8").get(i).get(c).asDouble()));
        }
        Progress.info(String.format(Locale.ROOT, "peers: PyTorch with our exported weights: max |logit difference| %.2e over 8 images", worst));
        return worst;
    }

    /** collect and render, ours then the peer's, each round; render also both cropped and both whole-map. */
    private NetworkRates networkRounds(int rounds) throws Exception {
        Collector.Options co = Collector.Options.of(layer, 1);
        Collector.run(g, SubsetDataset.firstN(all, 1024), co, tmp.resolve("warm")); // warm-up
        Npy.NpyArray warmActs = Npy.read(tmp.resolve("warm").resolve(Collector.ACTIVATIONS));
        float[] dirs = Arrays.copyOf(warmActs.data(), work.icons() * warmActs.cols());
        Npy.writeFloat32(tmp.resolve("directions.npy"), dirs, work.icons(), warmActs.cols());
        float[] moment = Npy.read(tmp.resolve("warm").resolve(Collector.SECOND_MOMENT)).data();
        ImageDataset slice = SubsetDataset.firstN(all, work.images());

        // the receptive-field window our native chain computes: the second PyTorch variant gets the same crop
        int[] in = g.inputShape();
        var chainC = org.atlas4j.model.NativeChain.compile(g, layer, in[0], in[1], in[2]);
        int[] crop = chainC.chain() != null && chainC.chain().cropped() ? chainC.chain().inputWindow() : null;

        NetworkRates rates = new NetworkRates(new ArrayList<>(), new ArrayList<>(), new ArrayList<>(), new ArrayList<>(),
                new ArrayList<>(), new ArrayList<>(), crop);
        for (int r = 0; r < rounds; r++) {
            Progress.info("peers: round " + (r + 1) + " of " + rounds + " (collect, render)");
            rates.oursCollect().add(Collector.run(g, slice, co, tmp.resolve("c" + r)).imagesPerSecond());
            rates.peerCollect().add(peer("forward", Map.of("weights", weights.toString(), "images", images60k.toString(), "n",
                    work.images(), "batch", 256, "threads", threads)).get("images_per_second").asDouble());
            renderRound(r, dirs, moment, in[1], rates);
        }
        return rates;
    }

    /** One round of render: ours (and ours on the whole map when we crop), then the peer's (and the peer's cropped). */
    private void renderRound(int r, float[] dirs, float[] moment, int size, NetworkRates rates) throws Exception {
        int[] crop = rates.crop();
        var ro = Renderer.Options.of(layer, work.steps(), work.icons(), 1);
        rates.oursRender().add(Renderer.run(g, dirs, work.icons(), moment, ro, tmp.resolve("r" + r)).iconStepsPerSecond());
        if (crop != null) { // like for like with PyTorch's whole map: our chain without the crop
            System.setProperty(Renderer.WHOLE_MAP_PROPERTY, "true");
            try {
                rates.oursRenderWhole().add(Renderer.run(g, dirs, work.icons(), moment, ro, tmp.resolve("w" + r)).iconStepsPerSecond());
            } finally {
                System.clearProperty(Renderer.WHOLE_MAP_PROPERTY);
            }
        }
        Map<String, Object> ra = new LinkedHashMap<>(Map.of("weights", weights.toString(), "directions",
                tmp.resolve("directions.npy").toString(), "icons", work.icons(), "steps", work.steps(), "size", size, "threads", threads));
        rates.peerRender().add(peer("render", ra).get("icon_steps_per_second").asDouble());
        if (crop != null) {
            ra.put("crop", crop);
            rates.peerRenderCrop().add(peer("render", ra).get("icon_steps_per_second").asDouble());
        }
    }

    /** reduce: the demo's 70,000 activations (collected now if no demo run is at hand), alternating rounds. */
    private ReduceTimes reduceRounds(int rounds, Path demoActs) throws Exception {
        Path acts = demoActs != null && Files.exists(demoActs) ? demoActs : null;
        if (acts == null) {
            Collector.run(g, all, Collector.Options.of(layer, 1), tmp.resolve("all"));
            acts = tmp.resolve("all").resolve(Collector.ACTIVATIONS);
        }
        Npy.NpyArray a = Npy.read(acts);
        Path oursLayout = tmp.resolve("ours-layout.npy");
        Path peerLayout = tmp.resolve("umap-learn-layout.npy");
        List<Double> oursReduce = new ArrayList<>();
        List<Double> peerReduce = new ArrayList<>();
        for (int r = 0; r < rounds; r++) {
            Progress.info("peers: round " + (r + 1) + " of " + rounds + " (reduce)");
            long t0 = System.nanoTime();
            var layout = Reducer.fit(a.data(), a.rows(), a.cols(), Reducer.Options.paperDefaults(42));
            oursReduce.add((System.nanoTime() - t0) / 1e9);
            Npy.writeFloat32(oursLayout, layout, a.rows(), 2);
            peerReduce.add(peer("umap", Map.of("activations", acts.toString(), "seed", 42, "out", peerLayout.toString()))
                    .get("seconds").asDouble());
        }
        JsonNode trust = peer("trust", Map.of("activations", acts.toString(), "seed", 7, "subset", 5000, "k", 10,
                "layouts", Map.of("atlas4j", oursLayout.toString(), "umap-learn", peerLayout.toString())));
        return new ReduceTimes(a.rows(), a.cols(), oursReduce, peerReduce, trust);
    }

    /** The table printed and written to bench-vs-peers.txt. */
    private String table(Rounds rounds, NetworkRates n, ReduceTimes red, EndToEnd e2e) {
        Stat oc = Stat.of(n.oursCollect()), pc = Stat.of(n.peerCollect()), or = Stat.of(n.oursRender()), pr = Stat.of(n.peerRender());
        // for seconds, speed = 1/s: ratio = peer seconds / our seconds
        Stat ors = Stat.of(red.ours().stream().map(x -> 1 / x).toList()), prs = Stat.of(red.peer().stream().map(x -> 1 / x).toList());
        int[] crop = n.crop();
        JsonNode trust = red.trust();
        StringBuilder t = new StringBuilder();
        t.append(String.format(Locale.ROOT, "atlas4j vs peers — %s, %d threads, %d alternating rounds (reduce %d), Java %s%n", m.file(),
                threads, rounds.network(), rounds.reduce(), System.getProperty("java.version")));
        t.append(String.format(Locale.ROOT, "%-44s %-26s %-30s %s%n", "stage", "atlas4j (min/median/max)", "peer (min/median/max)",
                "ratio ours÷peer (median; min–max)"));
        t.append(row("collect: forward to " + layer + ", img/s", oc, pc, "PyTorch"));
        t.append(row("render: " + work.icons() + "×" + work.steps() + " steps, icon-steps/s", or, pr, "PyTorch, whole map"));
        if (crop != null) {
            t.append(row("  both cropped to " + crop[1] + "×" + crop[3] + " (same work)", or, Stat.of(n.peerRenderCrop()), "PyTorch, crop"));
            t.append(row("  both whole map (same work)", Stat.of(n.oursRenderWhole()), pr, "PyTorch, whole map"));
        }
        t.append(String.format(Locale.ROOT, "%-44s %-26s %-30s %.2f; %.2f–%.2f%n", "reduce: " + red.rows() + "×" + red.cols() + " UMAP, s",
                String.format(Locale.ROOT, "%.1f/%.1f/%.1f", 1 / ors.max(), 1 / ors.median(), 1 / ors.min()),
                String.format(Locale.ROOT, "%.1f/%.1f/%.1f (umap-learn)", 1 / prs.max(), 1 / prs.median(), 1 / prs.min()),
                ors.median() / prs.median(), ors.min() / prs.max(), ors.max() / prs.min()));
        t.append(String.format(Locale.ROOT, "%-44s %-26s %-30s %+.4f%n", "layout trustworthiness k=10 (5k subset)",
                String.format(Locale.ROOT, "%.4f", trust.get("atlas4j").asDouble()),
                String.format(Locale.ROOT, "%.4f (umap-learn)", trust.get("umap-learn").asDouble()),
                trust.get("atlas4j").asDouble() - trust.get("umap-learn").asDouble()));
        if (e2e != null) {
            t.append(String.format(Locale.ROOT, "%-44s %-26s %-30s %s%n", "end to end: ./atlas demo --force",
                    Progress.format(e2e.seconds()) + ", peak RSS " + String.format(Locale.ROOT, "%.2f GB", e2e.peakRssBytes() / 1e9),
                    "target ≤ 5 min, ≤ 4 GB", e2e.seconds() <= 300 && e2e.peakRssBytes() <= 4e9 ? "met" : "NOT met"));
        }
        return t.toString();
    }

    /** What bench-vs-peers.json holds: every round of both sides. */
    private Map<String, Object> json(NetworkRates n, ReduceTimes red, double worst, EndToEnd e2e) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("date", java.time.LocalDate.now().toString());
        out.put("threads", threads);
        out.put("collect", Map.of("atlas4j", n.oursCollect(), "pytorch", n.peerCollect()));
        out.put("render", Map.of("atlas4j", n.oursRender(), "atlas4jWholeMap", n.oursRenderWhole(), "pytorch", n.peerRender(),
                "pytorchCropped", n.peerRenderCrop(), "crop", n.crop() == null ? List.of() : Arrays.stream(n.crop()).boxed().toList()));
        out.put("reduce", Map.of("atlas4j", red.ours(), "umapLearn", red.peer()));
        out.put("trustworthiness", red.trust());
        out.put("logitDifference", worst);
        if (e2e != null) out.put("endToEnd", Map.of("seconds", e2e.seconds(), "peakRssBytes", e2e.peakRssBytes()));
        return out;
    }

    record EndToEnd(double seconds, long peakRssBytes) {
    }

    /**
     * The demo from scratch (--force) in a child process through the launcher, as a user runs it, into its own output
     * folder; peak RSS = the largest VmHWM of the process tree, polled (a JVM's peak cannot be read after it exits).
     */
    static EndToEnd endToEnd(Path out) throws Exception {
        Path launcher = Path.of("atlas").toAbsolutePath();
        if (!Files.isExecutable(launcher)) throw new UserError("the end-to-end run needs ./atlas in the current folder: start the benchmark from the project folder, or pass --no-end-to-end");
        Progress.info("peers: end to end — ./atlas demo --force --output " + out);
        long t0 = System.nanoTime();
        Process p = new ProcessBuilder(launcher.toString(), "demo", "--force", "--output", out.toString())
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        long peak = 0;
        while (!p.waitFor(200, java.util.concurrent.TimeUnit.MILLISECONDS)) {
            for (ProcessHandle h : p.descendants().toList()) peak = Math.max(peak, peakRss(h.pid()));
            peak = Math.max(peak, peakRss(p.pid()));
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        if (p.exitValue() != 0) throw new UserError("the end-to-end demo run failed (exit " + p.exitValue() + "; its output is above)");
        return new EndToEnd(secs, peak);
    }

    /** VmHWM of a process in bytes (0 when it is gone). */
    static long peakRss(long pid) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
                if (line.startsWith("VmHWM:")) return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
            }
        } catch (java.io.IOException | RuntimeException e) {
            // the process ended between listing and reading
        }
        return 0;
    }

    static String row(String stage, Stat ours, Stat peer, String name) {
        return String.format(Locale.ROOT, "%-44s %-26s %-30s %.2f; %.2f–%.2f%n", stage,
                String.format(Locale.ROOT, "%,.0f/%,.0f/%,.0f", ours.min(), ours.median(), ours.max()),
                String.format(Locale.ROOT, "%,.0f/%,.0f/%,.0f (%s)", peer.min(), peer.median(), peer.max(), name),
                ours.median() / peer.median(), ours.min() / peer.max(), ours.max() / peer.min());
    }

    /** The demo's layers as the peer script expects them: conv W/b, BN as scale/shift, the output layer. */
    static void exportWeights(MultiLayerNetwork net, Path dir) throws Exception {
        int block = 0;
        for (int i = 0; i < net.getnLayers(); i++) {
            var conf = net.getLayer(i).conf().getLayer();
            if (conf instanceof ConvolutionLayer) {
                block++;
                var w = net.getLayer(i).getParam("W");
                long[] s = w.shape();
                Npy.writeFloat32Nd(dir.resolve("conv" + block + "_W.npy"), w.castTo(org.nd4j.linalg.api.buffer.DataType.FLOAT)
                        .dup('c').data().asFloat(), s);
                Npy.writeFloat32(dir.resolve("conv" + block + "_b.npy"), net.getLayer(i).getParam("b").castTo(
                        org.nd4j.linalg.api.buffer.DataType.FLOAT).dup('c').data().asFloat());
            } else if (conf instanceof BatchNormalization bn) {
                double[][] aff = SameDiffConverter.batchNormAffine(bn, net.getLayer(i));
                Npy.writeFloat32(dir.resolve("bn" + block + "_scale.npy"), toFloat(aff[0]));
                Npy.writeFloat32(dir.resolve("bn" + block + "_shift.npy"), toFloat(aff[1]));
            } else if (conf instanceof OutputLayer) {
                var w = net.getLayer(i).getParam("W");
                Npy.writeFloat32(dir.resolve("out_W.npy"), w.castTo(org.nd4j.linalg.api.buffer.DataType.FLOAT).dup('c')
                        .data().asFloat(), (int) w.size(0), (int) w.size(1));
                Npy.writeFloat32(dir.resolve("out_b.npy"), net.getLayer(i).getParam("b").castTo(
                        org.nd4j.linalg.api.buffer.DataType.FLOAT).dup('c').data().asFloat());
            }
        }
        Json.write(dir.resolve("blocks.json"), Map.of("blocks", block));
    }

    static float[] toFloat(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
        return f;
    }

    static JsonNode peer(String what, Map<String, ?> args) throws Exception {
        Process p = new ProcessBuilder(PYTHON.toString(), SCRIPT.toString(), what, Json.MAPPER.writeValueAsString(args))
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (p.waitFor() != 0) {
            throw new UserError("the peer step '" + what + "' of " + SCRIPT + " failed (exit " + p.exitValue()
                    + "; its error is printed above). Check that /usr/bin/python3 imports torch, umap and sklearn.");
        }
        String last = out.strip().lines().reduce((x, y) -> y).orElse("");
        return Json.MAPPER.readTree(last);
    }

    /** Debian's python3-torch, umap-learn and python3-sklearn; installed when missing and we are root. */
    static void ensurePeers() throws Exception {
        if (!Files.exists(SCRIPT)) throw new UserError("run --vs-peers from the project folder (needs " + SCRIPT + ")");
        if (importable()) return;
        boolean root = "root".equals(System.getProperty("user.name"));
        if (!root) {
            throw new UserError("the peers are missing: sudo apt-get install python3-torch umap-learn python3-sklearn");
        }
        Progress.info("peers: installing python3-torch umap-learn python3-sklearn (Debian packages)");
        Process p = new ProcessBuilder("apt-get", "install", "-y", "python3-torch", "umap-learn", "python3-sklearn")
                .inheritIO().start();
        if (p.waitFor() != 0 || !importable()) throw new UserError("could not install the peers with apt-get");
    }

    static boolean importable() throws Exception {
        if (!Files.isExecutable(PYTHON)) return false;
        Process p = new ProcessBuilder(PYTHON.toString(), "-c", "import torch, umap, sklearn").redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        return p.waitFor() == 0;
    }
}
