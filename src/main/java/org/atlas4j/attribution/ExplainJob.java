package org.atlas4j.attribution;

import java.awt.Color;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.atlas4j.data.FashionMnist;
import org.atlas4j.data.IdxDataset;
import org.atlas4j.data.ImageFiles;
import org.atlas4j.data.PixelScaling;
import org.atlas4j.io.AtomicFiles;
import org.atlas4j.io.Json;
import org.atlas4j.io.Npy;
import org.atlas4j.model.LoadedModel;
import org.atlas4j.model.NetGraph;
import org.atlas4j.provenance.Versions;
import org.atlas4j.util.Progress;
import org.atlas4j.util.UserError;

/**
 * {@code atlas explain}: attribution maps for every image of a file or folder (or demo test images), written per image
 * (overlay PNGs, raw maps as .npy, predictions), with paged contact sheets, a JSON index and optional sanity checks.
 * Memory is bounded by one batch; an image whose {@code explain.json} matches the settings is not redone.
 */
public final class ExplainJob {
    public static final String INDEX = "index.json";
    public static final String IMAGE_JSON = "explain.json";

    /**
     * @param images a file or folder; null for demo Fashion-MNIST test images ({@code demoCount}, classes in turn)
     * @param methods method names as given (see {@link Method#VALID}); CAM is dropped with a note when "all" asks
     *        for it and the head does not allow it, refused when named
     * @param classSpec top1, top2, a class index or a class name
     * @param resize null for the model card's policy (else crop)
     * @param layer null for the last layer with spatial size above 1×1
     * @param inputShape C,H,W for a model without a card; null to use the card
     * @param format null to tell from the file name
     * @param pixelScaling overrides the card's (see {@link PixelScaling#VALID}); null to use the card
     * @param resizeFilter overrides the card's (see {@link ImageFiles.ResizeFilter#VALID}); null to use the card
     * @param imageLimits the pixel cap and whether damaged files are kept; null for the defaults
     */
    public record Options(Path model, Path images, Path dataDir, int demoCount, List<String> methods, String classSpec,
            String layer, Path out, int batchSize, int smoothSamples, double smoothSigma, long seed,
            ImageFiles.Resize resize, Color background, boolean sanity, int sanityImages, int sheetRows, boolean force,
            int[] inputShape, String pixelScaling, LoadedModel.Format format, String resizeFilter,
            ImageFiles.Limits imageLimits) {
        public Options(Path model, Path images, Path dataDir, int demoCount, List<String> methods, String classSpec,
                String layer, Path out, int batchSize, int smoothSamples, double smoothSigma, long seed,
                ImageFiles.Resize resize, Color background, boolean sanity, int sanityImages, int sheetRows, boolean force,
                int[] inputShape, String pixelScaling, LoadedModel.Format format, String resizeFilter) {
            this(model, images, dataDir, demoCount, methods, classSpec, layer, out, batchSize, smoothSamples, smoothSigma,
                    seed, resize, background, sanity, sanityImages, sheetRows, force, inputShape, pixelScaling, format,
                    resizeFilter, null);
        }

        public Options(Path model, Path images, Path dataDir, int demoCount, List<String> methods, String classSpec,
                String layer, Path out, int batchSize, int smoothSamples, double smoothSigma, long seed,
                ImageFiles.Resize resize, Color background, boolean sanity, int sanityImages, int sheetRows, boolean force,
                int[] inputShape, String pixelScaling, LoadedModel.Format format) {
            this(model, images, dataDir, demoCount, methods, classSpec, layer, out, batchSize, smoothSamples, smoothSigma,
                    seed, resize, background, sanity, sanityImages, sheetRows, force, inputShape, pixelScaling, format, null);
        }

        public Options {
            if (imageLimits == null) imageLimits = ImageFiles.Limits.DEFAULT;
            if (demoCount < 1) throw new UserError("--count must be >= 1, got " + demoCount);
            if (sheetRows < 1) throw new UserError("--sheet-rows must be >= 1, got " + sheetRows);
            if (sanityImages < 2) throw new UserError("--sanity-images must be >= 2, got " + sanityImages);
        }
    }

    public record Prediction(int index, String name, double probability) {
    }

    public record MapInfo(String png, String npy, double max, boolean allZero) {
    }

    /** What one image got; written last into its folder, so its presence means the image is done. */
    public record ImageRecord(String file, String dir, String key, int target, String targetName, List<Prediction> top5,
            Map<String, MapInfo> maps) {
    }

    public record Skipped(String file, String reason) {
    }

    public record Entry(String file, String dir, int target, String targetName, String top1, double top1Probability) {
    }

    public record Index(String model, String modelSha256, String layer, String layerShape, List<String> methods,
            String classSelection, int smoothSamples, double smoothSigma, long seed, String resize, String pixelScaling,
            String source, int images, int explained, int resumed, int skipped, List<Skipped> skippedFiles,
            List<Skipped> damagedKept,
            Map<String, Integer> allZeroMaps, List<String> contactSheets, String sanity, double seconds,
            double imagesPerSecond, Map<String, String> versions, List<Entry> entries) {
    }

    /** Where images come from: files, or the demo's test set. */
    interface Source {
        int size();

        String name(int i);

        /** Changes when the image does (file size and time), so resume never reuses a stale map. */
        String stamp(int i);

        void load(int i, float[] dst, int offset) throws ImageFiles.UnreadableImageException;

        String describe();
    }

    private ExplainJob() {
    }

    public static Index run(Options o) {
        long t0 = System.nanoTime();
        LoadedModel model = LoadedModel.load(o.model(), o.inputShape(), o.format());
        NetGraph graph = model.graph();
        int[] shape = graph.inputShape();
        List<String> classNames = classNames(model, graph.classCount());
        String layer = defaultLayer(graph, o.layer());
        NetGraph.LayerShape ls = graph.spatialLayer(layer);
        Progress.info(String.format(Locale.ROOT, "explain: layer %s (%s)%s", layer, ls.shapeString(),
                o.layer() == null ? ", the last with spatial size above 1×1 (--layer to change)" : ""));

        List<Method> methods = new ArrayList<>(Method.parseList(o.methods()));
        CamHead cam = camHeadOrDrop(model, layer, methods, o.methods());
        int target = parseClass(o.classSpec(), classNames);
        Explainer explainer = new Explainer(graph, layer, cam,
                new Explainer.Options(methods, o.smoothSamples(), o.smoothSigma(), o.seed(), o.batchSize()));
        // the explainer sizes its passes to the memory budget (native: its planned buffers; SameDiff: an estimate)
        int perPass = explainer.passBatch();
        Progress.info("explain: " + explainer.engine());
        if (perPass < o.batchSize()) {
            Progress.info("explain: " + perPass + " images per pass (not " + o.batchSize() + ") to stay within the "
                    + (org.atlas4j.model.MemoryBudget.budgetBytes() >> 20) + " MB batch memory budget (ATLAS_BATCH_MEMORY_MB)");
        }
        Explainer.Options eo = new Explainer.Options(methods, o.smoothSamples(), o.smoothSigma(), o.seed(), perPass);

        if (o.images() != null && o.pixelScaling() == null
                && (model.card().pixelScaling() == null || "as given".equals(model.card().pixelScaling()))) {
            Progress.info("explain: the model card gives no pixel scaling; assuming \"pixels / 255\" (--pixel-scaling to change)");
        }
        List<Skipped> damagedKept = new ArrayList<>();
        ImageFiles.Preprocess pre = model.preprocess(o.pixelScaling(), o.resize() == null ? null : o.resize().name(),
                o.resizeFilter(), o.background());
        Source source = o.images() == null ? demoSource(o.dataDir(), o.demoCount())
                : fileSource(o.images(), pre, o.imageLimits(), damagedKept);
        Path out = o.out();
        try {
            Files.createDirectories(out);
        } catch (java.io.IOException e) {
            throw new UserError("cannot create output folder " + out + ": " + e.getMessage());
        }
        ImageLoop loop = new ImageLoop(source, out, settingsKey(model, layer, methods, o, pre), o.force(), explainer,
                perPass, shape, pre, target, classNames);
        loop.run();

        Map<String, Integer> zero = new LinkedHashMap<>();
        for (Method m : methods) zero.put(m.id(), 0);
        List<Entry> entries = entries(loop.records, zero);

        explainer.close(); // its buffers are not needed by the sanity checks, which build their own engines
        List<String> sheets = contactSheets(out, entries, methods, o.sheetRows(), source.describe());
        String sanity = null;
        if (o.sanity()) {
            sanity = runSanity(model, layer, eo, source, entries, o, loop.len, out);
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        int n = source.size();
        List<Skipped> skipped = loop.skipped;
        Index index = new Index(o.model().toString(), model.sha256(), layer, ls.shapeString(),
                methods.stream().map(Method::id).toList(), o.classSpec(), o.smoothSamples(), o.smoothSigma(), o.seed(),
                describeResize(pre), pre.scaling().spec(), source.describe(), n, loop.explained, loop.resumed,
                skipped.size(), skipped, damagedKept, zero, sheets, sanity, secs, (loop.explained + loop.resumed) / secs,
                Versions.all(), entries);
        Json.write(out.resolve(INDEX), index);
        AtomicFiles.writeString(out.resolve("report.txt"), report(index));
        logSummary(index, damagedKept, out);
        return index;
    }

    /** The card's class names when it names every class, else "class 0", "class 1", … */
    private static List<String> classNames(LoadedModel model, int classes) {
        return model.card().classNames().size() == classes ? model.card().classNames()
                : java.util.stream.IntStream.range(0, classes).mapToObj(i -> "class " + i).toList();
    }

    /**
     * The CAM head when a CAM method is asked for; when the head does not allow CAM, the CAM methods are dropped from
     * {@code methods} with a note if "all" asked for them, and the error stands if CAM was named.
     */
    private static CamHead camHeadOrDrop(LoadedModel model, String layer, List<Method> methods, List<String> asked) {
        if (methods.stream().noneMatch(m -> m.base() == Method.Base.CAM)) return null;
        try {
            return CamHead.find(model, layer);
        } catch (UserError e) {
            boolean named = asked.stream().flatMap(s -> java.util.Arrays.stream(s.split(",")))
                    .anyMatch(s -> s.trim().equalsIgnoreCase("cam"));
            if (named) throw e;
            methods.removeIf(m -> m.base() == Method.Base.CAM);
            Progress.info("explain: CAM left out — " + e.getMessage());
            return null;
        }
    }

    /**
     * The pass over every image: resumed and unreadable images pass straight through, the rest are explained a batch
     * at a time. PNG encoding costs ~10× the maps here, so pictures are written on worker threads while the next batch
     * computes; a semaphore bounds how many finished images wait in memory.
     */
    private static final class ImageLoop {
        final Source source;
        final Path out;
        final String settings;
        final boolean force;
        final Explainer explainer;
        final int perPass;
        final int[] shape;
        final int len;
        final ImageFiles.Preprocess pre;
        final int target;
        final List<String> classNames;
        final int scale;
        /** Per image, in order: its record, or the pending write that will produce it. */
        final List<java.util.concurrent.Future<ImageRecord>> records = new ArrayList<>();
        final List<Skipped> skipped = new ArrayList<>();
        int explained;
        int resumed;

        ImageLoop(Source source, Path out, String settings, boolean force, Explainer explainer, int perPass,
                int[] shape, ImageFiles.Preprocess pre, int target, List<String> classNames) {
            this.source = source;
            this.out = out;
            this.settings = settings;
            this.force = force;
            this.explainer = explainer;
            this.perPass = perPass;
            this.shape = shape;
            this.len = shape[0] * shape[1] * shape[2];
            this.pre = pre;
            this.target = target;
            this.classNames = classNames;
            this.scale = Overlays.displayScale(shape[1], shape[2]);
        }

        void run() {
            int n = source.size();
            int threads = Math.max(1, Runtime.getRuntime().availableProcessors());
            java.util.concurrent.ExecutorService writers = java.util.concurrent.Executors.newFixedThreadPool(threads, r -> {
                Thread t = new Thread(r, "explain-writer");
                t.setDaemon(true);
                return t;
            });
            java.util.concurrent.Semaphore inFlight = new java.util.concurrent.Semaphore(2 * perPass);
            try (Progress bar = Progress.start("explain", n, "images")) {
                int i = 0;
                while (i < n) {
                    float[] x = new float[perPass * len];
                    List<Integer> batch = new ArrayList<>();
                    i = gather(i, x, batch, bar);
                    if (batch.isEmpty()) continue;
                    explainAndWrite(x, batch, writers, inFlight, bar);
                }
                writers.shutdown();
                writers.awaitTermination(Long.MAX_VALUE, java.util.concurrent.TimeUnit.DAYS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while writing maps", e);
            } finally {
                writers.shutdownNow();
            }
        }

        /**
         * Loads images from {@code i} on into {@code x} until one batch is full or none are left; resumed and
         * unreadable ones are recorded and passed over. Returns the next image to look at.
         */
        private int gather(int i, float[] x, List<Integer> batch, Progress bar) {
            int n = source.size();
            while (i < n && batch.size() < perPass) {
                String dir = dirName(source.name(i));
                String key = settings + ":" + source.stamp(i);
                ImageRecord done = force ? null : readRecord(out.resolve(dir).resolve(IMAGE_JSON));
                if (done != null && done.key().equals(key)) {
                    records.add(java.util.concurrent.CompletableFuture.completedFuture(done));
                    resumed++;
                    bar.step(1);
                } else {
                    try {
                        source.load(i, x, batch.size() * len);
                        batch.add(i);
                    } catch (ImageFiles.UnreadableImageException e) {
                        skipped.add(new Skipped(source.name(i), e.getMessage()));
                        Progress.info("explain: skipped " + source.name(i) + ": " + e.getMessage());
                        bar.step(1);
                    }
                }
                i++;
            }
            return i;
        }

        /** Explains one gathered batch and hands each image's files to the writers. */
        private void explainAndWrite(float[] x, List<Integer> batch, java.util.concurrent.ExecutorService writers,
                java.util.concurrent.Semaphore inFlight, Progress bar) {
            int b = batch.size();
            int[] targets = new int[b];
            long[] keys = new long[b];
            for (int j = 0; j < b; j++) {
                targets[j] = target;
                keys[j] = source.name(batch.get(j)).hashCode() & 0xffffffffL;
            }
            List<Explainer.Result> results = explainer.explain(java.util.Arrays.copyOf(x, b * len), b, targets, keys);
            for (int j = 0; j < b; j++) requireFinite(results.get(j), source.name(batch.get(j)), out);
            for (int j = 0; j < b; j++) {
                int idx = batch.get(j);
                String name = source.name(idx);
                String key = settings + ":" + source.stamp(idx);
                float[] image = java.util.Arrays.copyOfRange(x, j * len, (j + 1) * len);
                Explainer.Result result = results.get(j);
                inFlight.acquireUninterruptibly();
                records.add(writers.submit(() -> {
                    try {
                        return write(out, name, key, image, 0, shape, pre, scale, result, classNames);
                    } finally {
                        inFlight.release();
                        bar.step(1);
                    }
                }));
                explained++;
            }
        }
    }

    /** Every image's index entry, in order, once written; counts all-zero maps per method into {@code zero}. */
    private static List<Entry> entries(List<java.util.concurrent.Future<ImageRecord>> records, Map<String, Integer> zero) {
        List<Entry> entries = new ArrayList<>();
        for (var f : records) {
            ImageRecord rec = await(f);
            entries.add(entry(rec));
            countZero(rec, zero);
        }
        for (var e : zero.entrySet()) {
            if (e.getValue() > 0) {
                Progress.info(String.format(Locale.ROOT, "explain: warning: %s gave an all-zero map for %d image(s) (no "
                        + "positive evidence for the class at this layer); those maps are saved as zeros", e.getKey(), e.getValue()));
            }
        }
        return entries;
    }

    /** A record, once its write has finished; a failed write's own exception. */
    private static ImageRecord await(java.util.concurrent.Future<ImageRecord> f) {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof RuntimeException re) throw re;
            throw new IllegalStateException(e.getCause());
        }
    }

    /** The index's resize field: the policy, the filter unless Java2D, and BGR when the model wants it. */
    private static String describeResize(ImageFiles.Preprocess pre) {
        return pre.resize().name().toLowerCase(Locale.ROOT) + (pre.filter() != ImageFiles.ResizeFilter.JAVA2D ? " " + pre.filter().id : "")
                + (pre.bgr() ? ", BGR" : "");
    }

    private static void logSummary(Index ix, List<Skipped> damagedKept, Path out) {
        List<Skipped> skipped = ix.skippedFiles();
        Progress.info(String.format(Locale.ROOT, "explain: %d images (%d computed, %d reused, %d skipped: unreadable, damaged "
                + "or too large) in %s → %s", ix.images(), ix.explained(), ix.resumed(), skipped.size(),
                Progress.format(ix.seconds()), out));
        for (Skipped s : skipped.subList(0, Math.min(10, skipped.size()))) {
            Progress.info("  skipped " + s.file() + ": " + s.reason());
        }
        if (skipped.size() > 10) Progress.info("  … and " + (skipped.size() - 10) + " more (see " + out.resolve("report.txt") + ")");
        if (!damagedKept.isEmpty()) {
            Progress.info("explain: " + damagedKept.size() + " damaged files kept as decoded (--keep-damaged), e.g. "
                    + damagedKept.get(0).file() + ": " + damagedKept.get(0).reason());
        }
    }

    /** The last layer whose output has spatial size above 1×1, or the requested one (which must be spatial). */
    public static String defaultLayer(NetGraph graph, String requested) {
        if (requested != null && !requested.isBlank()) {
            graph.spatialLayer(requested);
            return requested;
        }
        String best = null;
        for (NetGraph.LayerShape s : graph.shapes()) {
            if (s.spatial() && s.shape()[1] * s.shape()[2] > 1) best = s.node().name();
        }
        if (best == null) throw new UserError("the model has no layer with spatial size above 1×1 to explain");
        return best;
    }

    /** top1 | top2 | a class index | a class name (case and separators ignored). */
    public static int parseClass(String spec, List<String> names) {
        String s = spec == null ? "top1" : spec.trim();
        if (s.equalsIgnoreCase("top1")) return Explainer.TOP1;
        if (s.equalsIgnoreCase("top2")) return Explainer.TOP2;
        if (s.matches("\\d+")) {
            int c = Integer.parseInt(s);
            if (c >= names.size()) {
                throw new UserError("--class " + c + " is out of range: the model has " + names.size() + " classes (0–"
                        + (names.size() - 1) + ")");
            }
            return c;
        }
        for (int c = 0; c < names.size(); c++) {
            if (norm(names.get(c)).equals(norm(s))) return c;
        }
        throw new UserError("--class '" + spec + "' is not a class of this model. Valid: top1, top2, 0–" + (names.size() - 1)
                + " or one of " + String.join(", ", names));
    }

    private static String norm(String s) {
        return s.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]", "");
    }

    static String dirName(String name) {
        return name.replace("/", "__").replaceAll("[^A-Za-z0-9._-]", "_");
    }

    /** Refuses an image whose maps or class probabilities are not finite, before any of its files is written. */
    static void requireFinite(Explainer.Result r, String name, Path out) {
        Path d = out.resolve(dirName(name));
        for (var e : r.maps().entrySet()) {
            float[] m = e.getValue();
            org.atlas4j.util.Finite.requireFinite(m, 0, m.length, "the " + e.getKey().id() + " map of image " + name,
                    d.resolve(e.getKey().fileId() + ".npy"), org.atlas4j.util.Finite.MODEL_CAUSE);
        }
        float[] p = r.probabilities();
        org.atlas4j.util.Finite.requireFinite(p, 0, p.length, "the class probabilities of image " + name,
                d.resolve(IMAGE_JSON), org.atlas4j.util.Finite.MODEL_CAUSE);
    }

    private static ImageRecord write(Path out, String name, String key, float[] x, int offset, int[] shape,
            ImageFiles.Preprocess pre, int scale, Explainer.Result r, List<String> classNames) {
        String dir = dirName(name);
        Path d = out.resolve(dir);
        try {
            Files.createDirectories(d);
        } catch (java.io.IOException e) {
            throw new UserError("cannot create " + d + ": " + e.getMessage());
        }
        int h = shape[1];
        int w = shape[2];
        BufferedImage shown = Overlays.upscale(Overlays.display(x, offset, shape[0], h, w, pre.scaling(), pre.bgr()), scale);
        // per-image pictures and maps skip fsync (2 per file dominated the run); explain.json, written last, is durable
        Overlays.writePngNoSync(d.resolve("input.png"), shown);
        Map<String, MapInfo> maps = new LinkedHashMap<>();
        for (var e : r.maps().entrySet()) {
            String id = e.getKey().fileId();
            float[] raw = e.getValue();
            float max = AttributionMaps.max(raw);
            Npy.writeFloat32(d.resolve(id + ".npy"), raw, h, w, false);
            Overlays.writePngNoSync(d.resolve(id + ".png"), Overlays.overlay(shown, AttributionMaps.normalized(raw), h, w));
            maps.put(e.getKey().id(), new MapInfo(dir + "/" + id + ".png", dir + "/" + id + ".npy", max, !(max > 0)));
        }
        List<Prediction> top = new ArrayList<>();
        for (int c : r.top(5)) top.add(new Prediction(c, classNames.get(c), r.probabilities()[c]));
        ImageRecord rec = new ImageRecord(name, dir, key, r.target(), classNames.get(r.target()), top, maps);
        Json.write(d.resolve(IMAGE_JSON), rec);
        return rec;
    }

    private static ImageRecord readRecord(Path file) {
        if (!Files.exists(file)) return null;
        try {
            return Json.read(file, ImageRecord.class);
        } catch (RuntimeException e) {
            return null; // unreadable or from another version: redo
        }
    }

    private static Entry entry(ImageRecord r) {
        Prediction p = r.top5().get(0);
        return new Entry(r.file(), r.dir(), r.target(), r.targetName(), p.name(), p.probability());
    }

    private static void countZero(ImageRecord r, Map<String, Integer> zero) {
        for (var e : r.maps().entrySet()) {
            if (e.getValue().allZero()) zero.merge(e.getKey(), 1, Integer::sum);
        }
    }

    private static List<String> contactSheets(Path out, List<Entry> entries, List<Method> methods, int rowsPerSheet,
            String title) {
        List<String> files = new ArrayList<>();
        List<String> columns = new ArrayList<>();
        columns.add("input");
        for (Method m : methods) columns.add(m.id());
        int pages = (entries.size() + rowsPerSheet - 1) / rowsPerSheet;
        for (int p = 0; p < pages; p++) files.add(String.format(Locale.ROOT, "contact-sheet-%03d.png", p + 1));
        // pages are independent: decode and draw them in parallel (the caller plus the common pool)
        try (Progress bar = Progress.start("contact sheets", pages, "pages")) {
            java.util.stream.IntStream.range(0, pages).parallel().forEach(p -> {
            List<Overlays.SheetRow> rows = new ArrayList<>();
            for (Entry e : entries.subList(p * rowsPerSheet, Math.min(entries.size(), (p + 1) * rowsPerSheet))) {
                List<Path> tiles = new ArrayList<>();
                tiles.add(out.resolve(e.dir()).resolve("input.png"));
                for (Method m : methods) tiles.add(out.resolve(e.dir()).resolve(m.fileId() + ".png"));
                rows.add(new Overlays.SheetRow(List.of(e.file(),
                        String.format(Locale.ROOT, "predicted %s (%.2f)", e.top1(), e.top1Probability()),
                        "map for: " + e.targetName()), tiles));
            }
            Overlays.contactSheet(out.resolve(files.get(p)), title + (pages > 1 ? " — page " + (p + 1) + "/" + pages : ""),
                    columns, rows, 112);
            bar.step(1);
            });
        }
        return files;
    }

    private static String runSanity(LoadedModel model, String layer, Explainer.Options eo, Source source, List<Entry> entries,
            Options o, int len, Path out) {
        // the first readable images, in order
        Map<String, Integer> byName = new java.util.HashMap<>();
        for (int i = 0; i < source.size(); i++) byName.put(source.name(i), i);
        int n = Math.min(o.sanityImages(), entries.size());
        if (n < 2) {
            Progress.info("explain: sanity checks need at least 2 readable images; skipped");
            return null;
        }
        float[] x = new float[n * len];
        long[] keys = new long[n];
        int got = 0;
        for (Entry e : entries) {
            if (got == n) break;
            try {
                source.load(byName.get(e.file()), x, got * len);
                keys[got] = e.file().hashCode() & 0xffffffffL;
                got++;
            } catch (ImageFiles.UnreadableImageException ex) {
                // changed since the maps were made: leave it out
            }
        }
        Sanity.Report r = Sanity.run(model, layer, eo, java.util.Arrays.copyOf(x, got * len), got,
                java.util.Arrays.copyOf(keys, got));
        SanityReport.write(r, out);
        System.err.print(SanityReport.table(r));
        return "sanity.json";
    }

    private static String settingsKey(LoadedModel model, String layer, List<Method> methods, Options o,
            ImageFiles.Preprocess pre) {
        Map<String, Object> k = new LinkedHashMap<>();
        k.put("model", model.sha256());
        k.put("layer", layer);
        k.put("methods", methods.stream().map(Method::id).toList());
        k.put("class", o.classSpec());
        k.put("smooth", List.of(o.smoothSamples(), o.smoothSigma()));
        k.put("seed", o.seed());
        k.put("resize", pre.resize().name());
        if (pre.filter() != ImageFiles.ResizeFilter.JAVA2D) k.put("filter", pre.filter().id); // keys unchanged otherwise
        k.put("bgr", pre.bgr());
        k.put("background", o.background().getRGB());
        k.put("scaling", pre.scaling().spec());
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(Json.canonical(k).getBytes(java.nio.charset.StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(d, 0, 8);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String report(Index ix) {
        StringBuilder s = new StringBuilder();
        s.append(String.format(Locale.ROOT, "atlas explain — %s, layer %s (%s)%nmethods: %s; class: %s%n", ix.model(),
                ix.layer(), ix.layerShape(), String.join(", ", ix.methods()), ix.classSelection()));
        s.append(String.format(Locale.ROOT, "%d images: %d computed, %d reused, %d skipped; %.1f s%n", ix.images(),
                ix.explained(), ix.resumed(), ix.skipped(), ix.seconds()));
        for (var e : ix.allZeroMaps().entrySet()) {
            if (e.getValue() > 0) s.append(String.format(Locale.ROOT, "all-zero %s maps: %d%n", e.getKey(), e.getValue()));
        }
        if (!ix.skippedFiles().isEmpty()) {
            s.append("\nSkipped (unreadable, damaged or too large):\n");
            for (Skipped k : ix.skippedFiles()) s.append("  ").append(k.file()).append(": ").append(k.reason()).append('\n');
        }
        if (ix.damagedKept() != null && !ix.damagedKept().isEmpty()) {
            s.append("\nDamaged but kept (--keep-damaged):\n");
            for (Skipped k : ix.damagedKept()) s.append("  ").append(k.file()).append(": ").append(k.reason()).append('\n');
        }
        return s.toString();
    }

    /** @param damagedKept collects the damaged files loaded anyway (limits.keepDamaged) */
    static Source fileSource(Path root, ImageFiles.Preprocess p, ImageFiles.Limits limits, List<Skipped> damagedKept) {
        List<Path> files = ImageFiles.list(root);
        Path base = Files.isDirectory(root) ? root : root.getParent() == null ? Path.of(".") : root.getParent();
        return new Source() {
            @Override public int size() { return files.size(); }
            @Override public String name(int i) { return base.relativize(files.get(i)).toString(); }

            @Override
            public String stamp(int i) {
                try {
                    return Files.size(files.get(i)) + "@" + Files.getLastModifiedTime(files.get(i)).toMillis();
                } catch (java.io.IOException e) {
                    return "?";
                }
            }

            @Override
            public void load(int i, float[] dst, int offset) throws ImageFiles.UnreadableImageException {
                String damage = ImageFiles.load(files.get(i), p, limits, dst, offset);
                if (damage != null) damagedKept.add(new Skipped(name(i), damage));
            }

            @Override public String describe() { return root.toString(); }
        };
    }

    /** Demo images: Fashion-MNIST test images, classes in turn (the first of each class, then the second, …). */
    static Source demoSource(Path dataDir, int count) {
        FashionMnist.requirePresent(dataDir);
        IdxDataset test = FashionMnist.test(dataDir);
        int classes = test.classNames().size();
        List<List<Integer>> byClass = new ArrayList<>();
        for (int c = 0; c < classes; c++) byClass.add(new ArrayList<>());
        for (int i = 0; i < test.size(); i++) byClass.get(test.label(i)).add(i);
        int[] picked = new int[Math.min(count, test.size())];
        for (int k = 0; k < picked.length; k++) picked[k] = byClass.get(k % classes).get(k / classes);
        return new Source() {
            @Override public int size() { return picked.length; }

            @Override
            public String name(int i) {
                return String.format(Locale.ROOT, "test-%05d-%s", picked[i], test.classNames().get(test.label(picked[i])));
            }

            @Override public String stamp(int i) { return "fashion-mnist-test:" + picked[i]; }

            @Override
            public void load(int i, float[] dst, int offset) {
                test.copyImage(picked[i], dst, offset);
            }

            @Override public String describe() { return "Fashion-MNIST test images (" + picked.length + ", classes in turn)"; }
        };
    }
}
