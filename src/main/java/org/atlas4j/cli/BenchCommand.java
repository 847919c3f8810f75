package org.atlas4j.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.Callable;

import org.atlas4j.collect.Collector;
import org.atlas4j.data.FashionMnist;
import org.atlas4j.data.ImageDataset;
import org.atlas4j.data.SubsetDataset;
import org.atlas4j.io.Npy;
import org.atlas4j.model.LoadedModel;
import org.atlas4j.reduce.Reducer;
import org.atlas4j.render.Renderer;
import org.atlas4j.util.Progress;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Throughput of each stage on the demo, so performance work can be measured. No assertions: numbers only. */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Print per-stage throughput on the demo model and Fashion-MNIST.")
final class BenchCommand implements Callable<Integer> {
    @Mixin
    SharedOptions.Model modelOptions = new SharedOptions.Model();

    @Mixin
    SharedOptions.Layer layerOption = new SharedOptions.Layer();

    @Mixin
    SharedOptions.DataDir dataDirOption = new SharedOptions.DataDir();

    @Option(names = "--images", description = "Images for the collect benchmark (default: 20000; with --vs-peers --model: 64 per "
            + "collect and Grad-CAM round)")
    Integer images;

    @Option(names = "--umap-sizes", split = ",", description = "Sample counts for the UMAP benchmark (default: ${DEFAULT-VALUE})")
    int[] umapSizes = {10_000, 20_000};

    @Option(names = "--render-icons", description = "Icons in the render benchmark batch (default: 128; with --vs-peers --model: 16)")
    Integer renderIcons;

    @Option(names = "--render-steps", description = "Steps in the render benchmark (default: 128; with --vs-peers --model: 8 timed)")
    Integer renderSteps;

    @Option(names = "--stages", split = ",", description = "Stages to measure: collect, reduce, render, explain (default: all; reduce "
            + "and render need collect); with --vs-peers --model: collect, render, gradcam, saliency (default: all four)")
    java.util.List<String> stages;

    @Option(names = "--profile", description = "With --vs-peers --model: also time one render and one collect pass per op kind, "
            + "on our side and in torch's profiler")
    boolean profile;

    @Option(names = "--batch", description = "Images per pass on both sides with --vs-peers --model (default: ${DEFAULT-VALUE})")
    int batch = 16;

    @Option(names = "--explain-images", description = "Test images per attribution method (SmoothGrad: an eighth) (default: ${DEFAULT-VALUE})")
    int explainImages = 1024;

    @Option(names = "--vs-peers", description = "Our stages against PyTorch and umap-learn on this machine, alternating rounds")
    boolean vsPeers;

    @Option(names = "--rounds", description = "Alternating rounds for --vs-peers (default: ${DEFAULT-VALUE})")
    int rounds = 3;

    @Option(names = "--reduce-rounds", description = "Alternating UMAP rounds for --vs-peers, ~1.5 min each (default: ${DEFAULT-VALUE})")
    int reduceRounds = 3;

    @Option(names = "--no-end-to-end", description = "--vs-peers without the end-to-end demo run (wall time and peak RSS)")
    boolean noEndToEnd;

    @Option(names = "--demo-activations", description = "Layout input for --vs-peers (default: the demo run's, else collected)")
    Path demoActivations = Path.of("atlas-output/fashion-mnist/collect/activations.npy");

    @Option(names = "--synthetic-collect", description = "Collect over N synthetic 28×28 images (made on the fly) and print "
            + "the process's peak RSS: memory must not grow with N")
    Integer syntheticCollect;

    @Option(names = "--synthetic-reduce", description = "Lay out N × 512 synthetic clustered activations (with --vs-peers: "
            + "against umap-learn on the same .npy, --reduce-rounds alternating rounds) and check the kNN graph's recall")
    Integer syntheticReduce;

    @Override
    public Integer call() throws Exception {
        if (syntheticReduce != null) {
            ReducePeerBench.run(syntheticReduce, vsPeers, reduceRounds, 1);
            return 0;
        }
        if (syntheticCollect != null) return syntheticCollect(syntheticCollect);
        if (vsPeers && onnx()) return onnxVsPeers();
        if (vsPeers) return demoVsPeers();
        return stageRates();
    }

    /** --model's format: --format's, else the file name's. */
    private boolean onnx() {
        LoadedModel.Format f = modelOptions.format.format();
        return (f != null ? f : LoadedModel.Format.detect(modelOptions.path())) == LoadedModel.Format.ONNX;
    }

    /** --synthetic-collect: collect's rate and this process's peak RSS over n generated images. */
    private int syntheticCollect(int n) throws Exception {
        LoadedModel m = modelOptions.load();
        String l = m.resolveLayer(layerOption.name);
        Path tmp = Files.createTempDirectory("atlas4j-synthetic");
        long t0 = System.nanoTime();
        var r = Collector.run(m.graph(), new SyntheticImages(n), Collector.Options.of(l, 1), tmp);
        System.out.printf(Locale.ROOT, "synthetic collect: %,d images in %.1f s (%,.0f img/s); peak RSS %s; activations %,d MB on disk%n",
                r.count(), (System.nanoTime() - t0) / 1e9, r.imagesPerSecond(), peakRss(),
                Files.size(tmp.resolve(Collector.ACTIVATIONS)) >> 20);
        try (var s = Files.walk(tmp)) {
            s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
        return 0;
    }

    /** --vs-peers --model NET.onnx: PyTorch runs the same file (its own defaults for the counts). */
    private int onnxVsPeers() throws Exception {
        Progress.setQuiet(true);
        LoadedModel m = modelOptions.load();
        OnnxPeerBench.run(m, new OnnxPeerBench.Options(layerOption.name, stages == null ? OnnxPeerBench.STAGES : stages, rounds,
                batch, images == null ? 64 : images, renderIcons == null ? 16 : renderIcons, renderSteps == null ? 8 : renderSteps,
                Runtime.getRuntime().availableProcessors(), profile), Path.of("atlas-output"));
        return 0;
    }

    /** --vs-peers on the demo model: PyTorch and umap-learn against our stages. */
    private int demoVsPeers() throws Exception {
        Path dataDir = dataDirOption.path();
        org.atlas4j.data.DataInstaller.ensureFashionMnist(dataDir);
        LoadedModel m = modelOptions.load();
        Progress.setQuiet(true);
        PeerBench.run(m, m.resolveLayer(layerOption.name), dataDir, new PeerBench.Rounds(rounds, reduceRounds),
                new PeerBench.Work(images == null ? 20_000 : images, renderIcons == null ? 128 : renderIcons,
                        renderSteps == null ? 128 : renderSteps), demoActivations, !noEndToEnd);
        return 0;
    }

    /** The plain bench: each chosen stage alone on the demo data, one line each. */
    private int stageRates() throws Exception {
        java.util.List<String> stages = this.stages == null ? java.util.List.of("collect", "reduce", "render", "explain") : this.stages;
        Path dataDir = dataDirOption.path();
        Progress.setQuiet(true);
        org.atlas4j.data.DataInstaller.ensureFashionMnist(dataDir);
        LoadedModel m = modelOptions.load();
        String l = m.resolveLayer(layerOption.name);
        ImageDataset data = FashionMnist.all(dataDir);
        Path tmp = Files.createTempDirectory("atlas4j-bench");
        StringBuilder report = new StringBuilder();
        report.append(String.format(Locale.ROOT, "atlas4j bench — %s, layer %s, %d cores, Java %s%n", modelOptions.path(), l,
                Runtime.getRuntime().availableProcessors(), System.getProperty("java.version")));

        if (stages.contains("explain")) explain(m, FashionMnist.test(dataDir), report);
        // reduce and render start from collect's activations
        if (stages.contains("collect")) {
            collect(m, l, data, Math.min(images == null ? 20_000 : images, data.size()), tmp, report);
            Npy.NpyArray acts = Npy.read(tmp.resolve(Collector.ACTIVATIONS));
            if (stages.contains("reduce")) reduce(acts, report);
            if (stages.contains("render")) render(m, l, acts, tmp, report);
        }
        System.out.print(report);
        return 0;
    }

    /** collect: our engine vs DL4J's own layers on the same images. */
    private static void collect(LoadedModel m, String layer, ImageDataset data, int n, Path tmp, StringBuilder report)
            throws Exception {
        ImageDataset slice = SubsetDataset.firstN(data, n);
        Collector.run(m.graph(), SubsetDataset.firstN(data, 512), Collector.Options.of(layer, 1), tmp); // warm-up
        var cr = Collector.run(m.graph(), slice, Collector.Options.of(layer, 1), tmp);
        if (m.network() != null) {
            double dl4j = dl4jImagesPerSecond(m, slice);
            report.append(String.format(Locale.ROOT, "collect   %,8.0f img/s  (%s, %,d images; DL4J layers: %,.0f img/s, ×%.1f)%n",
                    cr.imagesPerSecond(), cr.engine(), n, dl4j, cr.imagesPerSecond() / dl4j));
        } else { // an ONNX model has no DL4J network to compare with
            report.append(String.format(Locale.ROOT, "collect   %,8.0f img/s  (%s, %,d images)%n", cr.imagesPerSecond(),
                    cr.engine(), n));
        }
    }

    /** reduce: UMAP on the first n collected activations, for each of --umap-sizes. */
    private void reduce(Npy.NpyArray acts, StringBuilder report) {
        for (int requested : umapSizes) {
            int n = Math.min(requested, acts.rows());
            float[] x = Arrays.copyOf(acts.data(), n * acts.cols());
            long t0 = System.nanoTime();
            Reducer.fit(x, n, acts.cols(), Reducer.Options.paperDefaults(1));
            report.append(String.format(Locale.ROOT, "reduce    %8.1f s     (UMAP, %,d × %d, cosine, k=20)%n",
                    (System.nanoTime() - t0) / 1e9, n, acts.cols()));
        }
    }

    /** render: one batch of icons, directions = the first collected activations. */
    private void render(LoadedModel m, String layer, Npy.NpyArray acts, Path tmp, StringBuilder report) throws Exception {
        int k = renderIcons == null ? 128 : renderIcons;
        int steps = renderSteps == null ? 128 : renderSteps;
        float[] dirs = Arrays.copyOf(acts.data(), k * acts.cols());
        Npy.NpyArray moment = Npy.read(tmp.resolve(Collector.SECOND_MOMENT));
        var ro = Renderer.Options.of(layer, steps, k, 1);
        var rr = Renderer.run(m.graph(), dirs, k, moment.data(), ro, tmp.resolve("render"));
        report.append(String.format(Locale.ROOT, "render    %8.1f icon-steps/s  (%s; %d icons × %d steps, %d px, batch %d)%n",
                rr.iconStepsPerSecond(), rr.engine(), k, steps, rr.iconSize(), k));
    }

    /** Maps per second for each attribution method alone (batch 64; the first three batches are a warm-up). */
    private void explain(LoadedModel m, ImageDataset test, StringBuilder report) {
        String layer = org.atlas4j.attribution.ExplainJob.defaultLayer(m.graph(), null);
        int len = test.imageLength();
        for (var method : org.atlas4j.attribution.Method.all()) {
            int n = Math.min(test.size(), method.smooth() ? Math.max(64, explainImages / 8) : explainImages);
            var cam = method.base() == org.atlas4j.attribution.Method.Base.CAM
                    ? org.atlas4j.attribution.CamHead.find(m, layer) : null;
            var e = new org.atlas4j.attribution.Explainer(m.graph(), layer, cam,
                    new org.atlas4j.attribution.Explainer.Options(java.util.List.of(method), 50, 0.15, 1, 64));
            long t0 = 0;
            int timed = 0;
            int warm = 3 * 64;
            for (int s = 0; s < n + warm; s += 64) {
                if (s == warm) t0 = System.nanoTime();
                int b = 64;
                float[] x = new float[b * len];
                long[] keys = new long[b];
                int[] targets = new int[b];
                for (int i = 0; i < b; i++) {
                    test.copyImage((s + i) % test.size(), x, i * len);
                    keys[i] = s + i;
                    targets[i] = org.atlas4j.attribution.Explainer.TOP1;
                }
                e.explain(x, b, targets, keys);
                if (s >= warm) timed += b;
            }
            double secs = (System.nanoTime() - t0) / 1e9;
            report.append(String.format(Locale.ROOT, "explain   %,8.0f maps/s  (%s, layer %s, %,d images, batch 64%s)%n",
                    timed / secs, method.id(), layer, timed, method.smooth() ? ", 50 noisy copies each" : ""));
        }
    }

    /** VmHWM of this process (Linux), e.g. "1,234 MB". */
    static String peakRss() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) {
                    long kb = Long.parseLong(line.replaceAll("[^0-9]", ""));
                    return String.format(Locale.ROOT, "%,d MB", kb / 1024);
                }
            }
        } catch (java.io.IOException e) {
            // not Linux
        }
        return "n/a";
    }

    /** Deterministic pseudo-random 28×28 greyscale images, generated when asked for: no memory per image. */
    record SyntheticImages(int size) implements ImageDataset {
        @Override public int channels() { return 1; }
        @Override public int height() { return 28; }
        @Override public int width() { return 28; }
        @Override public int label(int index) { return index % 10; }
        @Override public java.util.List<String> classNames() { return FashionMnist.CLASS_NAMES; }
        @Override public String describe() { return "synthetic " + size + " images"; }

        @Override
        public void copyImage(int index, float[] dst, int offset) {
            java.util.SplittableRandom r = new java.util.SplittableRandom(index * 0x9E3779B97F4A7C15L);
            for (int i = 0; i < 784; i++) dst[offset + i] = (float) r.nextDouble();
        }
    }

    private static double dl4jImagesPerSecond(LoadedModel m, ImageDataset data) {
        int n = Math.min(data.size(), 2048);
        int b = 256;
        int len = data.imageLength();
        long t0 = 0;
        for (int rep = 0; rep < 2; rep++) { // first pass warms up
            if (rep == 1) t0 = System.nanoTime();
            for (int s = 0; s < n; s += b) {
                int bs = Math.min(b, n - s);
                float[] x = new float[bs * len];
                for (int i = 0; i < bs; i++) data.copyImage(s + i, x, i * len);
                INDArray in = Nd4j.create(x, new long[] {bs, data.channels(), data.height(), data.width()}, 'c');
                m.dl4jOutput(in);
            }
        }
        return n / ((System.nanoTime() - t0) / 1e9);
    }
}
