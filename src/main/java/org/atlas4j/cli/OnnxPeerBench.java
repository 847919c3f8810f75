package org.atlas4j.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

import org.atlas4j.attribution.Explainer;
import org.atlas4j.attribution.Method;
import org.atlas4j.collect.Collector;
import org.atlas4j.data.ImageDataset;
import org.atlas4j.io.Json;
import org.atlas4j.io.Npy;
import org.atlas4j.model.LoadedModel;
import org.atlas4j.model.NetGraph;
import org.atlas4j.render.Renderer;
import org.atlas4j.util.Progress;
import org.atlas4j.util.UserError;
import org.nd4j.linalg.factory.Nd4j;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * {@code ./atlas bench --vs-peers --model NET.onnx}: atlas4j against PyTorch on a real network, same file, same batch
 * sizes, same thread count, alternating rounds (ours, then theirs), for the three network-bound stages:
 * <ul>
 * <li>collect — forward to the layer plus the logits (images/s), through {@link Collector#run};</li>
 * <li>render — forward and backward to the input of a direction objective at the layer's centre (icon-steps/s at the
 * model's input size), through {@link Renderer#run};</li>
 * <li>Grad-CAM — forward, gradient of the top-1 class score at the layer, the map (maps/s), through
 * {@link Explainer#explain}.</li>
 * </ul>
 * The peer, bench/onnx_peer.py, runs the same .onnx file in torch (it decodes the protobuf itself); the logits of both
 * on the same inputs are compared first, so the table compares identical networks. Setup (graph compilation, buffer
 * allocation, the peer's loading) is outside the timed part on both sides: atlas4j's collect and render time the
 * difference between a long and a one-batch (one-step) run, the peer skips one warm-up batch (step).
 */
final class OnnxPeerBench {
    static final Path SCRIPT = Path.of("bench/onnx_peer.py");
    static final List<String> STAGES = List.of("collect", "render", "gradcam", "saliency");
    static final String INSTALL = "sudo apt-get install --no-install-recommends python3-torch";

    /**
     * @param batch images (icons) per pass on both sides
     * @param images images per collect and Grad-CAM round (a multiple of the batch is timed)
     * @param steps timed render steps per round
     */
    record Options(String layer, List<String> stages, int rounds, int batch, int images, int icons, int steps, int threads,
            boolean profile) {
        Options {
            stages = List.copyOf(stages);
            if (stages.isEmpty()) throw new UserError("--stages is empty; valid for --vs-peers --model: " + String.join(", ", STAGES));
            for (String s : stages) {
                if (!STAGES.contains(s)) {
                    throw new UserError("unknown stage '" + s + "' for --vs-peers --model; valid: " + String.join(", ", STAGES));
                }
            }
            SharedOptions.atLeast("--rounds", rounds, 1);
            SharedOptions.atLeast("--batch", batch, 1);
            if (images < batch) throw new UserError("--images must be >= --batch (" + batch + "), got " + images);
            SharedOptions.atLeast("--render-icons", icons, 1);
            SharedOptions.atLeast("--render-steps", steps, 1);
            SharedOptions.atLeast("threads", threads, 1);
        }
    }

    /** The ONNX file the peer can run, or a one-line error saying what to pass. */
    static void requireOnnx(LoadedModel m) {
        if (m.format() != LoadedModel.Format.ONNX || m.onnx() == null) {
            throw new UserError("--vs-peers --model compares against PyTorch running the same file, so it needs an .onnx model; got "
                    + m.file() + " (" + m.format() + "). Export yours with torch.onnx.export, or run --vs-peers without --model for the demo");
        }
    }

    /** Progress of a long comparison on stderr, also when bars are quiet (a round takes minutes on large nets). */
    static void say(String line) {
        System.err.println(line);
    }

    /** One line telling how to get torch when it is missing (null when it imports). */
    static String peerMissing(Path python) throws Exception {
        if (!Files.isExecutable(python)) return "PyTorch peer unavailable: no " + python + "; install it with: " + INSTALL;
        Process p = new ProcessBuilder(python.toString(), "-c", "import torch, numpy").redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        return p.waitFor() == 0 ? null : "PyTorch peer unavailable: " + python + " cannot import torch; install it with: " + INSTALL;
    }

    private final LoadedModel m;
    private final NetGraph g;
    private final Options o;
    private final String layer;
    private final String tensor;
    private final int[] in;
    private final Path tmp;
    /** Images per collect and Grad-CAM round: a whole number of batches. */
    private final int timedImages;
    /** The arguments every peer step gets: the model, threads, input shape and the layer's tensor. */
    private final Map<String, Object> base = new LinkedHashMap<>();

    private OnnxPeerBench(LoadedModel m, Options o, String layer, String tensor, Path tmp) {
        this.m = m;
        this.g = m.graph();
        this.o = o;
        this.layer = layer;
        this.tensor = tensor;
        this.in = g.inputShape();
        this.tmp = tmp;
        this.timedImages = o.images() / o.batch() * o.batch();
        base.put("model", m.file().toAbsolutePath().toString());
        base.put("threads", o.threads());
        base.put("shape", List.of(in[0], in[1], in[2]));
        base.put("tensor", tensor);
    }

    /** Rates of each round, both sides, per stage; and what the render crop and peak RSS measured. */
    private static final class Rates {
        final Map<String, List<Double>> ours = new LinkedHashMap<>();
        final Map<String, List<Double>> peer = new LinkedHashMap<>();
        /** Our render on the whole map (when ours is cropped): the same work as the peer's. */
        final List<Double> oursWhole = new ArrayList<>();
        final Map<String, Double> peerRss = new LinkedHashMap<>();
        long rssAfterCropped;
        long rssAfterWhole;

        Rates(List<String> stages) {
            for (String s : stages) {
                ours.put(s, new ArrayList<>());
                peer.put(s, new ArrayList<>());
            }
        }
    }

    /** The explain command's engines for the gradcam and saliency stages (null when not compared). */
    private record Explainers(Explainer gradcam, Explainer saliency) implements AutoCloseable {
        static Explainers of(NetGraph g, String layer, Options o) {
            Explainer gradcam = o.stages().contains("gradcam") ? new Explainer(g, layer, null,
                    new Explainer.Options(List.of(new Method(Method.Base.GRAD_CAM, false)), 1, 0.15, 1, o.batch())) : null;
            // saliency: ∂(top-1 score)/∂input through the whole network, max |·| over channels (explain's own path)
            Explainer saliency = o.stages().contains("saliency") ? new Explainer(g, layer, null,
                    new Explainer.Options(List.of(new Method(Method.Base.SALIENCY, false)), 1, 0.15, 1, o.batch())) : null;
            // the explain command's pass size (Explainer.passBatch): the batch, unless the memory budget asks for less
            for (Explainer e : new Explainer[] {gradcam, saliency}) {
                if (e != null && e.passBatch() < o.batch()) {
                    say("peers: " + (e == gradcam ? "Grad-CAM" : "saliency") + " passes of " + e.passBatch()
                            + " images on our side (the explain command's memory budget)");
                }
            }
            return new Explainers(gradcam, saliency);
        }

        @Override
        public void close() {
            if (gradcam != null) gradcam.close();
            if (saliency != null) saliency.close();
        }
    }

    static PeerTable run(LoadedModel m, Options o, Path outDir) throws Exception {
        requireOnnx(m);
        if (!Files.exists(SCRIPT)) throw new UserError("run --vs-peers from the project folder (needs " + SCRIPT + ")");
        String missing = peerMissing(PeerBench.PYTHON);
        if (missing != null) throw new UserError(missing);
        String layer = m.resolveLayer(o.layer());
        String tensor = m.onnx().tensorOf(layer);
        if (tensor == null) throw new UserError("layer " + layer + " has no ONNX tensor the peer can stop at; pick another with --layer");
        Path tmp = Files.createTempDirectory("atlas4j-onnx-peers");
        try {
            return new OnnxPeerBench(m, o, layer, tensor, tmp).compare(outDir);
        } finally {
            try (var w = Files.walk(tmp)) {
                w.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    /** The whole comparison: same network?, the rounds, the optional profile; prints and writes the report. */
    private PeerTable compare(Path outDir) throws Exception {
        int d = (int) g.spatialLayer(layer).shape()[0];
        double worst = logitDifference();
        float[] dirs = noise(o.icons() * d, 7);
        Npy.writeFloat32(tmp.resolve("directions.npy"), dirs, o.icons(), d);
        // render reads the layer's centre: our default computes only its receptive field (the native graph's crop);
        // the whole map is measured too, the same work as the peer's
        RenderCrop crop;
        Rates rates;
        String prof;
        try (Explainers e = Explainers.of(g, layer, o)) {
            crop = o.stages().contains("render") ? RenderCrop.of(g, layer, in) : null;
            if (crop != null) say("peers: render " + crop.describe());
            rates = rounds(e, crop, dirs);
            prof = o.profile() ? profile(g, layer, in, o, base, tmp) : "";
        }
        PeerTable t = table(rates, crop);
        double oursRssMb = org.atlas4j.util.MemoryTrace.peakRssBytes() / 1048576.0;
        String text = prof + t.format() + rssText(rates, crop, oursRssMb) + String.format(Locale.ROOT,
                "same network: max |logit difference| %.2e; the cores may be shared with other processes (compare ratios, not absolutes)%n",
                worst);
        System.out.print(text);
        // a profiling run has its own files: it must not replace a comparison's numbers
        String name = m.file().getFileName().toString().replaceFirst("\\.onnx$", "") + (o.profile() ? "-profile" : "");
        Files.createDirectories(outDir);
        Path report = outDir.resolve("bench-vs-peers-" + name + ".json");
        Json.write(report, json(t, rates, crop, worst, oursRssMb, prof));
        Files.writeString(outDir.resolve("bench-vs-peers-" + name + ".txt"), text);
        say("peers: " + report);
        return t;
    }

    /** Same network? Both sides' logits on the same two noise images: the largest difference. */
    private double logitDifference() throws Exception {
        float[] x2 = noise(2 * in[0] * in[1] * in[2], 99);
        Npy.writeFloat32Nd(tmp.resolve("check.npy"), x2, 2, in[0], in[1], in[2]);
        var logits = g.forward(Nd4j.create(x2, new long[] {2, in[0], in[1], in[2]}, 'c'), g.logits()).get(g.logits());
        Map<String, Object> ca = new LinkedHashMap<>(base);
        ca.put("inputs", tmp.resolve("check.npy").toString());
        JsonNode theirs = peer("check", ca, o.threads()).get("logits");
        double worst = 0;
        double scale = 0;
        for (int i = 0; i < 2; i++) {
            for (int c = 0; c < logits.size(1); c++) {
                worst = Math.max(worst, Math.abs(logits.getDouble(i, c) - theirs.get(i).get(c).asDouble()));
                scale = Math.max(scale, Math.abs(theirs.get(i).get(c).asDouble()));
            }
        }
        say(String.format(Locale.ROOT, "peers: same network? max |logit atlas4j − PyTorch| %.2e (max |logit| %.2f)", worst, scale));
        return worst;
    }

    /** Alternating rounds: in each, every stage ours then the peer's. */
    private Rates rounds(Explainers e, RenderCrop crop, float[] dirs) throws Exception {
        Rates rates = new Rates(o.stages());
        for (int r = 0; r < o.rounds(); r++) {
            say("peers: round " + (r + 1) + " of " + o.rounds() + " (" + String.join(", ", o.stages()) + ")");
            for (String s : o.stages()) {
                rates.ours.get(s).add(switch (s) {
                    case "collect" -> oursCollect(g, layer, in, o, timedImages, tmp.resolve("c" + r));
                    case "render" -> oursRender(g, layer, dirs, in, o, tmp.resolve("r" + r));
                    case "saliency" -> oursMaps(e.saliency(), in, timedImages);
                    default -> oursMaps(e.gradcam(), in, timedImages);
                });
                if (s.equals("render") && crop.window() != null) oursWholeMap(r, dirs, rates);
                JsonNode p = peer(s, peerArgs(r), o.threads());
                rates.peer.get(s).add(p.get(s.equals("render") ? "icon_steps_per_second" : s.equals("collect") ? "images_per_second"
                        : "maps_per_second").asDouble());
                if (p.has("max_rss_mb")) rates.peerRss.merge(s, p.get("max_rss_mb").asDouble(), Math::max);
            }
        }
        return rates;
    }

    /** Our render without the crop, like for like with the peer's whole map; round 1 also notes the peak RSS around it. */
    private void oursWholeMap(int r, float[] dirs, Rates rates) throws Exception {
        // the cropped runs come first in round 1: the peak so far bounds them, the whole map's may raise it
        if (r == 0) rates.rssAfterCropped = org.atlas4j.util.MemoryTrace.peakRssBytes();
        System.setProperty(Renderer.WHOLE_MAP_PROPERTY, "true");
        try {
            rates.oursWhole.add(oursRender(g, layer, dirs, in, o, tmp.resolve("w" + r)));
        } finally {
            System.clearProperty(Renderer.WHOLE_MAP_PROPERTY);
        }
        if (r == 0) rates.rssAfterWhole = org.atlas4j.util.MemoryTrace.peakRssBytes();
    }

    /** A peer step's arguments in round r (its seed). */
    private Map<String, Object> peerArgs(int r) {
        Map<String, Object> a = new LinkedHashMap<>(base);
        a.put("batch", o.batch());
        a.put("images", timedImages);
        a.put("icons", o.icons());
        a.put("steps", o.steps());
        a.put("directions", tmp.resolve("directions.npy").toString());
        a.put("seed", r);
        return a;
    }

    /** One row per stage (two for a cropped render: as run, and both on the whole map). */
    private PeerTable table(Rates rates, RenderCrop crop) {
        PeerTable t = new PeerTable(String.format(Locale.ROOT,
                "atlas4j vs PyTorch — %s, layer %s (%s), %d px, batch %d, %d threads, %d alternating rounds, Java %s",
                m.file(), layer, g.spatialLayer(layer).shapeString(), in[1], o.batch(), o.threads(), o.rounds(),
                System.getProperty("java.version")));
        for (String s : o.stages()) {
            List<Double> ours = rates.ours.get(s);
            List<Double> peer = rates.peer.get(s);
            if (s.equals("render") && crop.window() != null) {
                t.add(new PeerTable.Row("render: " + o.icons() + " icons × " + o.steps() + " steps at " + in[1] + " px, ours on the "
                        + "centre's " + crop.window()[1] + "×" + crop.window()[3] + " receptive field, PyTorch whole map",
                        "icon-steps/s", ours, peer));
                t.add(new PeerTable.Row("  render, both whole map (same work)", "icon-steps/s", rates.oursWhole, peer));
                continue;
            }
            t.add(switch (s) {
                case "collect" -> new PeerTable.Row("collect: forward to " + layer + " + logits", "img/s", ours, peer);
                case "render" -> new PeerTable.Row("render: " + o.icons() + " icons × " + o.steps() + " steps at " + in[1] + " px",
                        "icon-steps/s", ours, peer);
                case "saliency" -> new PeerTable.Row("saliency (∂ top-1 score / ∂ input)", "maps/s", ours, peer);
                default -> new PeerTable.Row("Grad-CAM at " + layer + " (top-1 class)", "maps/s", ours, peer);
            });
        }
        return t;
    }

    /** The peak-RSS lines under the table (and the render crop's sizes). */
    private static String rssText(Rates rates, RenderCrop crop, double oursRssMb) {
        String rss = String.format(Locale.ROOT, "peak RSS: atlas4j %.0f MB (this whole process, every stage and round); "
                + "PyTorch %s%n", oursRssMb, rates.peerRss.isEmpty() ? "not reported" : rates.peerRss.entrySet().stream()
                        .map(e -> String.format(Locale.ROOT, "%s %.0f MB", e.getKey(), e.getValue()))
                        .collect(java.util.stream.Collectors.joining(", ")) + " (one process per stage and round)");
        if (crop != null && crop.window() != null) {
            rss += "render " + crop.describe() + String.format(Locale.ROOT, "; process peak RSS after round 1's cropped "
                    + "render %.0f MB, after its whole-map render %.0f MB%n", rates.rssAfterCropped / 1048576.0,
                    rates.rssAfterWhole / 1048576.0);
        } else if (crop != null) {
            rss += "render " + crop.describe() + "\n";
        }
        return rss;
    }

    /** What bench-vs-peers-NAME.json holds: the settings, every round of both sides, the crop and the peaks. */
    private Map<String, Object> json(PeerTable t, Rates rates, RenderCrop crop, double worst, double oursRssMb, String prof) {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("date", java.time.LocalDate.now().toString());
        json.put("model", m.file().toString());
        json.put("layer", layer);
        json.put("onnxTensor", tensor);
        json.put("inputSize", in[1]);
        json.put("threads", o.threads());
        json.put("batch", o.batch());
        json.put("rounds", o.rounds());
        json.put("logitDifference", worst);
        json.put("stages", t.toJson());
        json.put("peakRssMbOurs", oursRssMb);
        if (crop != null) {
            Map<String, Object> rc = new LinkedHashMap<>();
            rc.put("inputWindow", crop.window() == null ? List.of() : Arrays.stream(crop.window()).boxed().toList());
            rc.put("wholeMapReason", crop.reason());
            rc.put("forwardMacsWhole", crop.wholeMacs());
            rc.put("forwardMacsCropped", crop.croppedMacs());
            rc.put("oursWholeMapIconStepsPerSecond", rates.oursWhole);
            rc.put("sessionBytesPerIconWhole", crop.wholeBytesPerIcon());
            rc.put("sessionBytesPerIconCropped", crop.croppedBytesPerIcon());
            rc.put("peakRssMbAfterRound1Cropped", rates.rssAfterCropped / 1048576.0);
            rc.put("peakRssMbAfterRound1Whole", rates.rssAfterWhole / 1048576.0);
            json.put("renderCrop", rc);
        }
        json.put("peakRssMbPeer", rates.peerRss);
        if (o.profile()) json.put("profile", prof);
        return json;
    }

    /** images/s of collect: a one-batch run (setup, warm-up) subtracted from a run of one more batch than timed. */
    static double oursCollect(NetGraph g, String layer, int[] in, Options o, int timed, Path dir) throws Exception {
        Collector.Options co = Collector.Options.of(layer, 1).withBatchSize(o.batch());
        long t0 = System.nanoTime();
        Collector.run(g, new NoiseImages(o.batch(), in), co, dir.resolve("short"));
        long t1 = System.nanoTime();
        Collector.run(g, new NoiseImages(timed + o.batch(), in), co, dir.resolve("long"));
        long t2 = System.nanoTime();
        return timed / (steadySeconds(t1 - t0, t2 - t1));
    }

    /**
     * Seconds of the timed work: the long run minus the short one (its setup and warm-up); when timing noise makes
     * the difference implausible (under half the long run's share of the work), the whole long run, which
     * under-states our rate rather than inflating it.
     */
    static double steadySeconds(long shortNanos, long longNanos) {
        long diff = longNanos - shortNanos;
        return (diff > longNanos / 2 ? diff : longNanos) / 1e9;
    }

    /**
     * Where the time goes: one render pass (forward and backward, batch = icons) and one collect pass (forward, batch)
     * of the native graph with every op timed, summed per op kind; then the same render step in torch's profiler.
     */
    static String profile(NetGraph g, String layer, int[] in, Options o, Map<String, Object> base, Path tmp) throws Exception {
        var dag = org.atlas4j.model.NativeGraph.compile(g, layer, in[0], in[1], in[2]).engine();
        if (dag == null) {
            return "profile: the native graph does not cover " + layer + "; nothing to profile\n";
        }
        int len = in[0] * in[1] * in[2];
        var train = dag.session(o.icons());
        train.forward(noise(o.icons() * len, 11));
        train.profile(); // first pass warms up
        StringBuilder sb = new StringBuilder("profile: atlas4j render pass, " + o.icons() + " icons, forward+backward per op kind\n");
        sb.append(train.profile());
        var inf = dag.inferenceSession(o.batch());
        inf.forwardMap(noise(o.batch() * len, 12));
        inf.profile();
        sb.append("profile: atlas4j collect pass to the layer, batch ").append(o.batch()).append(", forward per op kind\n");
        sb.append(inf.profile());
        Map<String, Object> a = new LinkedHashMap<>(base);
        a.put("icons", o.icons());
        a.put("steps", 1);
        a.put("directions", tmp.resolve("directions.npy").toString());
        a.put("profile", true);
        sb.append("profile: PyTorch render step, ").append(o.icons()).append(" icons (torch.autograd.profiler, self CPU time)\n");
        sb.append(peer("render", a, o.threads()).get("profile").asText()).append('\n');
        return sb.toString();
    }

    /** The native graph's receptive-field crop of the layer's centre (what render computes), or why there is none. */
    record RenderCrop(int[] window, String reason, long wholeMacs, long croppedMacs, long wholeBytesPerIcon, long croppedBytesPerIcon) {
        static RenderCrop of(NetGraph g, String layer, int[] in) {
            var c = org.atlas4j.model.NativeGraph.compile(g, layer, in[0], in[1], in[2]);
            if (c.engine() == null) return new RenderCrop(null, "no native graph: " + c.unsupported(), 0, 0, 0, 0);
            var crop = c.engine().cropToCentre();
            RenderCrop r = new RenderCrop(crop.inputWindow(), crop.wholeMapReason(), crop.wholeMacs(), crop.croppedMacs(),
                    bytesPerIcon(c.engine()), crop.engine() == null ? 0 : bytesPerIcon(crop.engine()));
            if (crop.engine() != null) crop.engine().close();
            c.engine().close();
            return r;
        }

        /** A render session's activation and gradient buffers for one icon (what the render batch is sized by). */
        static long bytesPerIcon(org.atlas4j.model.NativeGraph e) {
            var s = e.session(1);
            try {
                return s.bufferBytes();
            } finally {
                s.close();
            }
        }

        String describe() {
            if (window == null) return "computes the whole map (" + reason + ")";
            return String.format(Locale.ROOT, "crop: the centre's receptive field is %d×%d input pixels, %.0f%% of the whole map's "
                    + "forward multiply-adds; session buffers per icon %.1f MB (whole map %.1f MB)", window[1], window[3],
                    100.0 * croppedMacs / Math.max(1, wholeMacs), croppedBytesPerIcon / 1e6, wholeBytesPerIcon / 1e6);
        }
    }

    /** icon-steps/s of render: a one-step run subtracted from a run of one more step than timed (same icons). */
    static double oursRender(NetGraph g, String layer, float[] dirs, int[] in, Options o, Path dir) throws Exception {
        long t0 = System.nanoTime();
        Renderer.run(g, dirs, o.icons(), null, Renderer.Options.of(layer, 1, o.icons(), 1).withWhiten(false), dir.resolve("short"));
        long t1 = System.nanoTime();
        Renderer.run(g, dirs, o.icons(), null, Renderer.Options.of(layer, o.steps() + 1, o.icons(), 1).withWhiten(false),
                dir.resolve("long"));
        long t2 = System.nanoTime();
        return (double) o.icons() * o.steps() / steadySeconds(t1 - t0, t2 - t1);
    }

    /** maps/s of Grad-CAM through the explain command's engine; one warm-up batch, then timed batches. */
    /** Maps per second of the explainer's methods, in the explain command's own passes. */
    static double oursMaps(Explainer e, int[] in, int timed) {
        int len = in[0] * in[1] * in[2];
        int b = e.passBatch();
        float[] x = noise(b * len, 3);
        int[] targets = new int[b];
        java.util.Arrays.fill(targets, Explainer.TOP1);
        long[] keys = new long[b];
        e.explain(x, b, targets, keys); // warm-up
        long t0 = System.nanoTime();
        int done = 0;
        for (; done < timed; done += b) e.explain(x, b, targets, keys);
        return done / ((System.nanoTime() - t0) / 1e9);
    }

    /** Seeded standard-normal floats (ImageNet-normalised pixels have about this spread). */
    static float[] noise(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            double u1 = r.nextDouble(1e-12, 1.0);
            double u2 = r.nextDouble();
            v[i] = (float) (Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2));
        }
        return v;
    }

    /** Seeded noise images of the model's input shape, made when asked for (no memory per image). */
    record NoiseImages(int size, int[] shape) implements ImageDataset {
        @Override public int channels() { return shape[0]; }
        @Override public int height() { return shape[1]; }
        @Override public int width() { return shape[2]; }
        @Override public int label(int index) { return -1; }
        @Override public List<String> classNames() { return List.of(); }
        @Override public String describe() { return size + " noise images"; }

        @Override
        public void copyImage(int index, float[] dst, int offset) {
            float[] v = noise(imageLength(), index);
            System.arraycopy(v, 0, dst, offset, v.length);
        }
    }

    static JsonNode peer(String stage, Map<String, ?> args, int threads) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(PeerBench.PYTHON.toString(), SCRIPT.toString(), stage, Json.MAPPER.writeValueAsString(args))
                .redirectError(ProcessBuilder.Redirect.INHERIT);
        pb.environment().put("OMP_NUM_THREADS", Integer.toString(threads));
        pb.environment().put("MKL_NUM_THREADS", Integer.toString(threads));
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes());
        if (p.waitFor() != 0) {
            throw new UserError("the PyTorch side (" + SCRIPT + " " + stage + ") failed with exit " + p.exitValue()
                    + "; its error is printed above");
        }
        return Json.MAPPER.readTree(out.strip().lines().reduce((x, y) -> y).orElse("{}"));
    }
}
