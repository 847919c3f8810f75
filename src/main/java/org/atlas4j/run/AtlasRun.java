package org.atlas4j.run;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.atlas4j.collect.Collector;
import org.atlas4j.data.FashionMnist;
import org.atlas4j.data.IdxDataset;
import org.atlas4j.data.ImageDataset;
import org.atlas4j.data.SubsetDataset;
import org.atlas4j.grid.Gridder;
import org.atlas4j.io.Json;
import org.atlas4j.io.Npy;
import org.atlas4j.model.LoadedModel;
import org.atlas4j.reduce.Reducer;
import org.atlas4j.render.Fidelity;
import org.atlas4j.render.Renderer;
import org.atlas4j.stitch.Stitcher;
import org.atlas4j.util.Progress;
import org.atlas4j.util.UserError;

/**
 * Runs the pipeline stages on one run folder. Each stage reads the previous stage's files and writes its own,
 * with a stamp of its options: a stage whose stamp matches is skipped, so an interrupted run resumes and any
 * single stage can be rerun alone.
 */
public final class AtlasRun {
    public static final String PROVENANCE = "provenance.json";
    private final RunConfig cfg;
    private final Path dir;
    private LoadedModel model;
    private ImageDataset data;
    private String layer;

    /** Reopens an existing run folder with the config recorded in its provenance. */
    public static AtlasRun open(Path runDir) {
        Path p = runDir.resolve(PROVENANCE);
        if (!Files.exists(p)) {
            throw new UserError(runDir + " is not an atlas run folder (no " + PROVENANCE + "); pass e.g. atlas-output/fashion-mnist");
        }
        var prov = Json.read(p, com.fasterxml.jackson.databind.JsonNode.class);
        if (prov == null || !prov.path("config").isObject()) {
            throw new UserError(p + " records no run config (no \"config\" object); rerun the run with ./atlas run");
        }
        RunConfig cfg;
        try {
            cfg = Json.MAPPER.convertValue(prov.get("config"), RunConfig.class);
        } catch (IllegalArgumentException e) { // Jackson's wrapper of a mapping error
            throw new UserError(p + " records an unreadable run config: " + Json.oneLine(
                    e.getCause() instanceof com.fasterxml.jackson.core.JsonProcessingException j ? Json.describe(j) : e.getMessage()));
        }
        if (cfg.data == null || cfg.collect == null || cfg.reduce == null || cfg.grid == null || cfg.render == null
                || cfg.stitch == null || cfg.grid.levels == null) {
            throw new UserError(p + " records a run config with a section set to null; rerun the run with ./atlas run");
        }
        Path abs = runDir.toAbsolutePath().normalize();
        cfg.output = abs.getParent().toString();
        cfg.name = abs.getFileName().toString();
        try {
            return new AtlasRun(cfg);
        } catch (UserError e) {
            throw new UserError(p + " records an invalid run config: " + e.getMessage(), e);
        }
    }

    public AtlasRun(RunConfig cfg) {
        this.cfg = cfg;
        this.dir = cfg.runDir();
        validate(cfg);
    }

    static void validate(RunConfig c) {
        if (c.data.limit < 0) throw new UserError("--limit must be >= 0 (got " + c.data.limit + ")");
        // every stage's options are checked before any work starts, so a typo fails in a second, not after collect
        new Reducer.Options(c.reduce.method, c.reduce.neighbors, c.reduce.minDist, c.reduce.metric, c.reduce.epochs,
                c.reduce.perplexity, c.reduce.tsneMaxSamples, c.seed);
        new Collector.Options("-", c.collect.batchSize, c.seed, c.collect.excludeEdges, c.collect.attribution);
        new Gridder.Options(c.grid.size, c.grid.threshold);
        new Renderer.Options("-", c.render.steps, c.render.learningRate, c.render.batchSize, c.render.iconSize,
                c.render.cossimPow, c.render.whiten, c.render.transforms, c.seed, c.render.attempts);
        new Stitcher.Options(c.stitch.tilePixels, c.stitch.scaleBySamples, c.stitch.captions);
    }

    public Path dir() {
        return dir;
    }

    public Path stageDir(String stage) {
        Path sharedDir = shared.get(stage);
        return sharedDir != null ? sharedDir : dir.resolve(stage);
    }

    /** Stages a level run takes from its parent (collect and reduce are the same at every grid size). */
    private Map<String, Path> shared = Map.of();

    /** The grid sizes of this run's zoom levels, ascending: the main size plus {@code grid.levels}. */
    public List<Integer> levelSizes() {
        java.util.TreeSet<Integer> sizes = new java.util.TreeSet<>(cfg.grid.levels);
        sizes.add(cfg.grid.size);
        for (int n : sizes) {
            if (n < 1 || n > 200) throw new UserError("grid levels must be between 1 and 200, got " + n);
        }
        return List.copyOf(sizes);
    }

    /** Folder of the zoom level with grid size n: the run itself for the main size, else {@code levels/<n>/}. */
    public Path levelDir(int n) {
        return n == cfg.grid.size ? dir : dir.resolve("levels").resolve(String.valueOf(n));
    }

    /** The run of one extra zoom level: its own grid, render and stitch over this run's collect and layout. */
    public AtlasRun level(int n) throws Exception {
        if (n == cfg.grid.size) return this;
        RunConfig child = Json.MAPPER.convertValue(Json.MAPPER.valueToTree(cfg), RunConfig.class);
        child.output = dir.resolve("levels").toString();
        child.name = String.valueOf(n);
        child.grid.size = n;
        child.grid.levels = new ArrayList<>();
        AtlasRun sub = new AtlasRun(child);
        sub.model = model();
        sub.layer = layer();
        sub.shared = Map.of("collect", stageDir("collect"), "reduce", stageDir("reduce"));
        return sub;
    }

    /** Grids, renders and stitches every extra zoom level. */
    public void levels(boolean force) throws Exception {
        for (int n : levelSizes()) {
            if (n == cfg.grid.size) continue;
            Progress.info("level " + n + "×" + n + ":");
            AtlasRun sub = level(n);
            sub.grid(force);
            sub.render(force);
            sub.stitch();
        }
    }

    public LoadedModel model() {
        if (model == null) {
            model = LoadedModel.load(Path.of(cfg.model), cfg.inputShape,
                    cfg.modelFormat == null ? null : LoadedModel.Format.parse(cfg.modelFormat));
        }
        return model;
    }

    public String layer() {
        if (layer == null) layer = model().resolveLayer(cfg.layer);
        model().graph().spatialLayer(layer);
        return layer;
    }

    /** Random-crop and pixel-cap settings of a folder dataset (part of the collect stamp: crops change the samples). */
    private org.atlas4j.data.FolderDataset.Sampling sampling() {
        double[] sc = cfg.data.cropScale;
        if (sc == null || sc.length != 2) {
            throw new UserError("data.cropScale must be [min, max] area fractions, e.g. [0.08, 1.0]");
        }
        return new org.atlas4j.data.FolderDataset.Sampling(new org.atlas4j.data.RandomCrops.Options(cfg.data.cropsPerImage,
                sc[0], sc[1]), cfg.seed, Math.round(cfg.data.maxImageMegapixels * 1e6), cfg.data.keepDamaged);
    }

    /** The sampling as stamped: empty for whole images at the default cap. */
    private String dataSampling() {
        if (!"folder".equals(cfg.data.type)) return "";
        var s = sampling();
        return (s.crops().cropping() ? s.crops().toString() : "") + (s.maxPixels() != org.atlas4j.data.ImageFiles.DEFAULT_MAX_PIXELS
                ? " maxPixels=" + s.maxPixels() : "") + (s.keepDamaged() ? " keepDamaged" : "");
    }

    public ImageDataset data() throws Exception {
        if (data == null) {
            ImageDataset d;
            if (cfg.data.cropsPerImage != 0 && !"folder".equals(cfg.data.type)) {
                throw new UserError("--crops-per-image (data.cropsPerImage) works on folders of image files; data type '"
                        + cfg.data.type + "' has fixed-size images: set it to 0 or use --images <folder>");
            }
            if ("fashion-mnist".equals(cfg.data.type)) {
                Path fm = Path.of(cfg.data.dir);
                org.atlas4j.data.DataInstaller.ensureFashionMnist(fm);
                d = FashionMnist.all(fm);
            } else if ("idx".equals(cfg.data.type)) {
                if (cfg.data.images == null) throw new UserError("data type idx needs data.images (and optionally data.labels)");
                d = IdxDataset.read(Path.of(cfg.data.images), cfg.data.labels == null ? null : Path.of(cfg.data.labels),
                        model().card().classNames());
            } else if ("folder".equals(cfg.data.type)) {
                if (cfg.data.images == null) {
                    throw new UserError("data type folder needs data.images (a folder of class sub-folders, or a flat folder "
                            + "with data.labels pointing at a file,label CSV)");
                }
                var pre = model().preprocess(null, cfg.data.resize, java.awt.Color.BLACK);
                var fd = org.atlas4j.data.FolderDataset.open(Path.of(cfg.data.images),
                        cfg.data.labels == null ? null : Path.of(cfg.data.labels), pre, sampling(),
                        model().card().classNames());
                d = fd;
            } else {
                throw new UserError("unknown data type '" + cfg.data.type + "'; valid: fashion-mnist, idx, folder");
            }
            int[] in = model().graph().inputShape();
            if (d.channels() != in[0] || d.height() != in[1] || d.width() != in[2]) {
                throw new UserError(String.format(Locale.ROOT, "images are %d×%d×%d but the model expects %d×%d×%d (C×H×W)",
                        d.channels(), d.height(), d.width(), in[0], in[1], in[2]));
            }
            data = cfg.data.limit > 0 ? SubsetDataset.firstN(d, cfg.data.limit) : d;
        }
        return data;
    }

    // ---- stamps: a stage is up to date when its options (and its input's stamp) are unchanged ----

    private String stamp(String stage, Object options, String upstream) {
        return Json.canonical(Map.of("stage", stage, "options", options, "upstream", upstream == null ? "" : upstream));
    }

    private boolean upToDate(String stage, String stamp, String... outputs) {
        Path s = stageDir(stage).resolve("stamp.json");
        try {
            if (!Files.exists(s) || !Files.readString(s).equals(stamp)) return false;
        } catch (IOException e) {
            return false;
        }
        for (String o : outputs) if (!Files.exists(stageDir(stage).resolve(o))) return false;
        Progress.info(stage + ": up to date, skipped (use --force to redo)");
        return true;
    }

    private void writeStamp(String stage, String stamp) {
        org.atlas4j.io.AtomicFiles.writeString(stageDir(stage).resolve("stamp.json"), stamp);
    }

    private String readStamp(String stage) {
        try {
            return Files.readString(stageDir(stage).resolve("stamp.json"));
        } catch (IOException e) {
            throw new UserError("stage '" + stage + "' has not run in " + dir + "; run it first (./atlas " + stage
                    + " --config ...) or use ./atlas run");
        }
    }

    // ---- stages ----

    /** Spark master URL for collect (null: in this process); the outputs are the same either way. */
    private String spark;

    public AtlasRun spark(String masterUrl) {
        this.spark = masterUrl;
        return this;
    }

    public void collect(boolean force) throws Exception {
        var o = new Collector.Options(layer(), cfg.collect.batchSize, cfg.seed, cfg.collect.excludeEdges,
                cfg.collect.attribution);
        String st = stamp("collect", List.of(o, model().sha256(), cfg.data.type, cfg.data.dir, String.valueOf(cfg.data.images), String.valueOf(cfg.data.labels),
                cfg.data.limit, dataSampling()), null);
        if (!force && upToDate("collect", st, Collector.ACTIVATIONS, Collector.SAMPLES, Collector.META)) return;
        Files.createDirectories(stageDir("collect"));
        Collector.Result r;
        try {
            r = spark == null ? Collector.run(model().graph(), data(), o, stageDir("collect"))
                    : org.atlas4j.spark.DistributedCollect.collect(org.atlas4j.spark.DistributedCollect.spark(spark), cfg, data(),
                            o, stageDir("collect"), Integer.getInteger("atlas4j.spark.slice", org.atlas4j.spark.DistributedCollect.DEFAULT_SLICE));
        } catch (Collector.NothingDecoded e) {
            var fd = folder();
            if (fd == null || fd.failed().isEmpty()) throw e;
            // nothing decoded: say why, and list the files as a successful collect would
            listSkipped(fd, 0);
            var first = fd.failed().get(0);
            throw new UserError(e.getMessage() + " (e.g. " + first.file() + ": " + first.reason() + "; every file with its "
                    + "reason in " + stageDir("collect").resolve("skipped-files.json") + ")");
        }
        writeStamp("collect", st);
        Map<String, Object> info = new java.util.LinkedHashMap<>(Map.of("images", r.count(), "dim", r.dim(),
                "imagesPerSecond", r.imagesPerSecond(), "accuracy", r.accuracy()));
        if (folder() != null) {
            var fd = folder();
            // unreadable files are counted and listed, never silently lost
            info.put("skippedFiles", fd.skipped());
            info.put("failedToDecode", fd.failed());
            info.put("damagedKept", fd.damaged());
            info.put("decodeWaitSeconds", fd.decodeWaitSeconds());
            Progress.info(String.format(Locale.ROOT, "collect: waited %.1f s of %.1f s for image decoding (the rest overlapped "
                    + "the model)", fd.decodeWaitSeconds(), r.seconds()));
            listSkipped(fd, r.count());
        }
        recordStage("collect", r.seconds(), info);
    }

    /** The image folder behind data() (also under --limit), or null for other datasets. */
    private org.atlas4j.data.FolderDataset folder() throws Exception {
        ImageDataset d = data();
        if (d instanceof org.atlas4j.data.SubsetDataset s) d = s.base();
        return d instanceof org.atlas4j.data.FolderDataset fd ? fd : null;
    }

    /** Writes collect/skipped-files.json and, when files were left out or kept damaged, says how many. */
    private void listSkipped(org.atlas4j.data.FolderDataset fd, int count) {
        Path list = stageDir("collect").resolve("skipped-files.json");
        Map<String, Object> lists = new java.util.LinkedHashMap<>(); // a fixed key order: Map.of's varies by JVM
        lists.put("skipped", fd.skipped());
        lists.put("failedToDecode", fd.failed());
        lists.put("damagedKept", fd.damaged());
        Json.write(list, lists);
        if (!fd.skipped().isEmpty() || !fd.failed().isEmpty() || !fd.damaged().isEmpty()) {
            // files that fail only when decoded are left out of the atlas like those refused at open
            Progress.info(String.format(Locale.ROOT, "collect: %d %s, %d skipped (listed in %s: %d unreadable, damaged or too "
                    + "large, %d failed to decode)%s", count, fd.samplesPerFile() > 1 ? "samples" : "images",
                    fd.skipped().size() + fd.failed().size(), list, fd.skipped().size(), fd.failed().size(),
                    fd.damaged().isEmpty() ? "" : ", " + fd.damaged().size() + " damaged but kept (--keep-damaged)"));
        }
    }

    public void reduce(boolean force) throws Exception {
        var o = new Reducer.Options(cfg.reduce.method, cfg.reduce.neighbors, cfg.reduce.minDist, cfg.reduce.metric,
                cfg.reduce.epochs, cfg.reduce.perplexity, cfg.reduce.tsneMaxSamples, cfg.seed);
        String st = stamp("reduce", o, readStamp("collect"));
        if (!force && upToDate("reduce", st, Reducer.LAYOUT)) return;
        Files.createDirectories(stageDir("reduce"));
        Npy.NpyArray acts = Npy.read(stageDir("collect").resolve(Collector.ACTIVATIONS));
        var r = Reducer.run(acts.data(), acts.rows(), acts.cols(), o, stageDir("reduce"));
        writeStamp("reduce", st);
        recordStage("reduce", r.seconds(), Map.of("samples", r.samples(), "method", o.method()));
    }

    public void grid(boolean force) throws Exception {
        var o = new Gridder.Options(cfg.grid.size, cfg.grid.threshold);
        String st = stamp("grid", o, readStamp("reduce"));
        if (!force && upToDate("grid", st, Gridder.CELLS, Gridder.CELL_VECTORS)) return;
        Files.createDirectories(stageDir("grid"));
        long t0 = System.nanoTime();
        Npy.NpyArray layout = Npy.read(stageDir("reduce").resolve(Reducer.LAYOUT));
        Npy.NpyArray acts = Npy.read(stageDir("collect").resolve(Collector.ACTIVATIONS));
        SampleTable samples = SampleTable.read(stageDir("collect").resolve(Collector.SAMPLES));
        int classes = Math.max(model().card().classNames().size(), samples.maxLabel() + 1);
        var g = Gridder.run(layout.data(), acts.data(), acts.cols(), samples.labels(), classes, o, stageDir("grid"));
        writeStamp("grid", st);
        double secs = (System.nanoTime() - t0) / 1e9;
        Progress.info(String.format(Locale.ROOT, "grid: %d of %d cells kept (> %d samples), %d empty, %d below threshold; %s",
                g.cells().size(), o.size() * o.size(), o.threshold(), g.emptyCells(), g.droppedCells(), Progress.format(secs)));
        recordStage("grid", secs, Map.of("cells", g.cells().size(), "keptSamples", g.keptSamples()));
    }

    public void render(boolean force) throws Exception {
        var r = cfg.render;
        var o = new Renderer.Options(layer(), r.steps, r.learningRate, r.batchSize, r.iconSize, r.cossimPow, r.whiten,
                r.transforms, cfg.seed, r.attempts);
        String st = stamp("render", o, readStamp("grid"));
        if (!force && upToDate("render", st, Renderer.META)) {
            // killed between the render's stamp and its fidelity: the icons are done, their measurement is not
            if (!Files.exists(stageDir("render").resolve(Fidelity.FILE))) fidelity();
            return;
        }
        Path rd = stageDir("render");
        // a stale partial render (other options or inputs) must not be resumed
        if (force || !Files.exists(rd.resolve("pending-stamp.json"))
                || !Files.readString(rd.resolve("pending-stamp.json")).equals(st)) {
            deleteRecursively(rd);
        }
        Files.createDirectories(rd);
        org.atlas4j.io.AtomicFiles.writeString(rd.resolve("pending-stamp.json"), st);
        Npy.NpyArray vectors = Npy.read(stageDir("grid").resolve(Gridder.CELL_VECTORS));
        Npy.NpyArray moment = Npy.read(stageDir("collect").resolve(Collector.SECOND_MOMENT));
        var res = Renderer.run(model().graph(), vectors.data(), vectors.rows(), moment.data(), o, rd, modelInput());
        writeStamp("render", st);
        recordStage("render", res.seconds(), Map.of("icons", res.cells(), "iconStepsPerSecond", res.iconStepsPerSecond(),
                "meanInitialObjective", res.meanInitialObjective(), "meanFinalObjective", res.meanFinalObjective()));
        fidelity();
    }

    /** How displayed icon values become the model's inputs: the card's pixel scaling and channel order, as collect used. */
    org.atlas4j.data.ModelInput modelInput() {
        return org.atlas4j.data.ModelInput.of(model().preprocess(null, cfg.data.resize, java.awt.Color.BLACK));
    }

    /** Feeds the rendered icons back through the model: see {@link Fidelity}. Writes render/fidelity.json. */
    public Fidelity.Result fidelity() throws Exception {
        long t0 = System.nanoTime();
        readStamp("render");
        Renderer.Result rr = Renderer.Result.read(stageDir("render"));
        Gridder.Grid grid = Gridder.Grid.read(stageDir("grid"));
        Npy.NpyArray vectors = Npy.read(stageDir("grid").resolve(Gridder.CELL_VECTORS));
        Npy.NpyArray moment = Npy.read(stageDir("collect").resolve(Collector.SECOND_MOMENT));
        Npy.NpyArray acts = Npy.read(stageDir("collect").resolve(Collector.ACTIVATIONS));
        List<Path> tiles = new ArrayList<>();
        for (var c : rr.results()) tiles.add(stageDir("render").resolve(c.tile()));
        int[][] members = grid.cells().stream().map(Gridder.Cell::members).toArray(int[][]::new);
        var f = Fidelity.measure(model().graph(), rr.options().layer(), tiles, vectors.data(), vectors.rows(), moment.data(),
                rr.options(), acts.data(), members, modelInput());
        Fidelity.write(stageDir("render"), f);
        double secs = (System.nanoTime() - t0) / 1e9;
        Progress.info(f.summary() + "; " + Progress.format(secs));
        recordStage("fidelity", secs, Map.of("top1", f.top1(), "top5", f.top5(), "meanRatio", f.meanRatio(),
                "medianRatio", f.medianRatio(), "fractionAboveBestReal", f.fractionAboveBestReal()));
        return f;
    }

    public Stitcher.Atlas stitch() throws Exception {
        return stitch(null);
    }

    /** @param captions per-cell captions, or null for each cell's most common true label */
    public Stitcher.Atlas stitch(List<String> captions) throws Exception {
        long t0 = System.nanoTime();
        var o = new Stitcher.Options(cfg.stitch.tilePixels, cfg.stitch.scaleBySamples, cfg.stitch.captions);
        readStamp("render");
        Gridder.Grid grid = Gridder.Grid.read(stageDir("grid"));
        Renderer.Result rr = Renderer.Result.read(stageDir("render"));
        List<String> tiles = new ArrayList<>();
        for (var c : rr.results()) tiles.add(c.tile());
        List<String> names = model().card().classNames();
        var atlas = Stitcher.run(grid, stageDir("render"), tiles, names, captions, o, dir);
        double secs = (System.nanoTime() - t0) / 1e9;
        Progress.info(String.format(Locale.ROOT,
                "stitch: %s (%d×%d px, %d tiles); neighbour label agreement %.2f (shuffled %.2f); mean tile difference %.3f; %s",
                dir.resolve(Stitcher.PNG), atlas.width(), atlas.height(), atlas.cells(), atlas.neighbours().observed(),
                atlas.neighbours().shuffledBaseline(), atlas.meanTileDifference(), Progress.format(secs)));
        recordStage("stitch", secs, Map.of("neighbourAgreement", atlas.neighbours().observed(),
                "shuffledBaseline", atlas.neighbours().shuffledBaseline(), "meanTileDifference", atlas.meanTileDifference()));
        return atlas;
    }

    public void all(boolean force) throws Exception {
        long t0 = System.nanoTime();
        collect(force);
        reduce(force);
        grid(force);
        render(force);
        stitch();
        levels(force);
        viewer();
        Progress.info("atlas: " + dir.resolve(Stitcher.PNG) + " and the viewer " + dir.resolve("index.html") + " ("
                + Progress.format((System.nanoTime() - t0) / 1e9) + " in all)");
    }

    /** Writes the interactive viewer ({@code index.html} and its data) for every rendered level. */
    public Path viewer() throws Exception {
        return viewer(false);
    }

    /** Skips when every level's render and the viewer's own code are as they were at the last export. */
    public Path viewer(boolean force) throws Exception {
        List<String> upstream = new ArrayList<>();
        for (int n : levelSizes()) {
            Path st = level(n).stageDir("render").resolve("stamp.json");
            upstream.add(n + ":" + (Files.exists(st) ? Files.readString(st) : "none"));
        }
        String st = stamp("viewer", org.atlas4j.viewer.ViewerExport.VERSION, String.join("|", upstream));
        if (!force && upToDate("viewer", st, "data.js") && Files.exists(dir.resolve("index.html"))) return dir.resolve("index.html");
        Path index = org.atlas4j.viewer.ViewerExport.write(this);
        writeStamp("viewer", st);
        return index;
    }

    public RunConfig config() {
        return cfg;
    }

    // ---- class atlas ----

    /** What a class atlas kept; written to its collect/class-filter.json. */
    public record ClassSelection(String className, int classIndex, int topN, int samples, int ofSamples) {
    }

    /**
     * A class atlas: the samples whose top-attributed class is {@code cls} plus the {@code topN} with the strongest
     * positive attribution to it, laid out, gridded, rendered and stitched in {@code <run>/class-<name>/}, each cell
     * captioned with its mean attribution to the class. Collects attributions first if the run has none.
     */
    public Stitcher.Atlas classAtlas(String cls, int topN, int gridSize, int threshold, boolean force) throws Exception {
        cfg.collect.attribution = true;
        collect(false);
        Npy.NpyArray attr = Npy.read(stageDir("collect").resolve(Collector.ATTRIBUTION));
        int classes = attr.cols();
        List<String> names = model().card().classNames();
        int target = org.atlas4j.classatlas.ClassFilter.resolve(cls, names);
        int[] keep = org.atlas4j.classatlas.ClassFilter.select(attr.data(), classes, target, topN);
        String className = target < names.size() ? names.get(target) : Integer.toString(target);
        if (keep.length < 3) {
            throw new UserError("only " + keep.length + " samples attribute to class '" + className + "'; collect more images");
        }
        float[] at = subset(attr.data(), keep, classes);
        ClassSelection sel = new ClassSelection(className, target, topN, keep.length, attr.rows());
        AtlasRun sub = subRun("class-" + slug(className), keep, sel, gridSize, threshold);
        Progress.info(String.format(Locale.ROOT, "class atlas '%s': %,d of %,d samples (top-attributed class, plus the "
                + "top %,d by attribution)", className, keep.length, attr.rows(), topN));
        sub.reduce(force);
        sub.grid(force);
        sub.render(force);
        Gridder.Grid grid = Gridder.Grid.read(sub.stageDir("grid"));
        List<String> captions = new ArrayList<>();
        for (Gridder.Cell c : grid.cells()) {
            captions.add(String.format(Locale.ROOT, "%.2f", meanAttribution(c, at, classes, target)));
        }
        return sub.stitch(captions);
    }

    /** Mean attribution to class {@code cls} over a cell's members ({@code at} is samples × classes). */
    private static double meanAttribution(Gridder.Cell c, float[] at, int classes, int cls) {
        double sum = 0;
        for (int m : c.members()) sum += at[m * classes + cls];
        return sum / c.members().length;
    }

    /** A child run in {@code <run>/<name>/} whose collect stage is the given subset of this run's samples. */
    private AtlasRun subRun(String name, int[] keep, Object selection, int gridSize, int threshold) throws Exception {
        RunConfig child = Json.MAPPER.convertValue(Json.MAPPER.valueToTree(cfg), RunConfig.class);
        child.output = dir.toString();
        child.name = name;
        child.grid.size = gridSize;
        child.grid.threshold = threshold;
        AtlasRun sub = new AtlasRun(child);
        sub.model = model();
        sub.layer = layer();
        Path sc = sub.stageDir("collect");
        Files.createDirectories(sc);
        Npy.NpyArray acts = Npy.read(stageDir("collect").resolve(Collector.ACTIVATIONS));
        Npy.NpyArray attr = Npy.read(stageDir("collect").resolve(Collector.ATTRIBUTION));
        Npy.writeFloat32(sc.resolve(Collector.ACTIVATIONS), subset(acts.data(), keep, acts.cols()), keep.length, acts.cols());
        Npy.writeFloat32(sc.resolve(Collector.ATTRIBUTION), subset(attr.data(), keep, attr.cols()), keep.length, attr.cols());
        // whitening keeps the whole layer's statistics: the subset's directions are whitened against all images
        Files.copy(stageDir("collect").resolve(Collector.SECOND_MOMENT), sc.resolve(Collector.SECOND_MOMENT),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        List<String> lines = Files.readAllLines(stageDir("collect").resolve(Collector.SAMPLES));
        StringBuilder csv = new StringBuilder(lines.get(0)).append('\n');
        for (int k : keep) csv.append(lines.get(k + 1)).append('\n');
        org.atlas4j.io.AtomicFiles.writeString(sc.resolve(Collector.SAMPLES), csv.toString());
        Json.write(sc.resolve("selection.json"), selection);
        sub.writeStamp("collect", stamp("collect", selection, readStamp("collect")));
        return sub;
    }

    private static float[] subset(float[] rows, int[] keep, int cols) {
        float[] out = new float[keep.length * cols];
        for (int k = 0; k < keep.length; k++) System.arraycopy(rows, keep[k] * cols, out, k * cols, cols);
        return out;
    }

    private static String slug(String s) {
        return s.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]+", "-");
    }

    // ---- class comparison ----

    /** What a comparison kept. */
    public record ComparedClasses(String classA, int indexA, String classB, int indexB, int perClass, int samples) {
    }

    /**
     * Classes A and B side by side: their samples laid out with x = attribution difference (B − A, scaled by its 99th
     * percentile, clipped to [−1,1]) and y = a 1-D UMAP of the activations; gridded, rendered, stitched in
     * {@code <run>/compare-<a>-vs-<b>/}, with a ranked table of dual-role cells (strong attribution to both).
     */
    public List<org.atlas4j.classatlas.Comparison.DualRole> compare(String a, String b, int perClass, int gridSize,
            int threshold, boolean force) throws Exception {
        cfg.collect.attribution = true;
        collect(false);
        Npy.NpyArray attr = Npy.read(stageDir("collect").resolve(Collector.ATTRIBUTION));
        int classes = attr.cols();
        List<String> names = model().card().classNames();
        int ia = org.atlas4j.classatlas.ClassFilter.resolve(a, names);
        int ib = org.atlas4j.classatlas.ClassFilter.resolve(b, names);
        if (ia == ib) throw new UserError("compare needs two different classes, got '" + a + "' twice");
        java.util.TreeSet<Integer> keepSet = new java.util.TreeSet<>();
        for (int i : org.atlas4j.classatlas.ClassFilter.select(attr.data(), classes, ia, perClass)) keepSet.add(i);
        for (int i : org.atlas4j.classatlas.ClassFilter.select(attr.data(), classes, ib, perClass)) keepSet.add(i);
        int[] keep = keepSet.stream().mapToInt(Integer::intValue).toArray();
        String na = ia < names.size() ? names.get(ia) : Integer.toString(ia);
        String nb = ib < names.size() ? names.get(ib) : Integer.toString(ib);
        var sel = new ComparedClasses(na, ia, nb, ib, perClass, keep.length);
        AtlasRun sub = subRun("compare-" + slug(na) + "-vs-" + slug(nb), keep, sel, gridSize, threshold);
        Progress.info(String.format(Locale.ROOT, "compare '%s' vs '%s': %,d samples", na, nb, keep.length));
        float[] at = subset(attr.data(), keep, classes);
        // layout: x from the attribution difference, y from a 1-D UMAP
        Path rd = sub.stageDir("reduce");
        Files.createDirectories(rd);
        var ro = new Reducer.Options(cfg.reduce.method, cfg.reduce.neighbors, cfg.reduce.minDist, cfg.reduce.metric,
                cfg.reduce.epochs, cfg.reduce.perplexity, cfg.reduce.tsneMaxSamples, cfg.seed);
        String st = stamp("reduce", List.of("compare", ro), sub.readStamp("collect"));
        if (force || !sub.upToDate("reduce", st, Reducer.LAYOUT)) {
            long t0 = System.nanoTime();
            float[] x = org.atlas4j.classatlas.Comparison.axis(at, classes, ia, ib);
            Npy.NpyArray acts = Npy.read(sub.stageDir("collect").resolve(Collector.ACTIVATIONS));
            // 1-D embedding: the principal axis of the 2-D UMAP layout (Smile's UMAP refuses one dimension)
            float[] y = principalAxis(Reducer.fit(acts.data(), acts.rows(), acts.cols(), ro, 2));
            float[] raw = new float[2 * keep.length];
            for (int i = 0; i < keep.length; i++) {
                raw[2 * i] = x[i];
                raw[2 * i + 1] = y[i];
            }
            float[] yn = org.atlas4j.reduce.LayoutNormalizer.normalize(raw, 1, 99);
            float[] layout = new float[2 * keep.length];
            for (int i = 0; i < keep.length; i++) {
                layout[2 * i] = (x[i] + 1) / 2; // [−1,1] → [0,1] for the grid
                layout[2 * i + 1] = yn[2 * i + 1];
            }
            org.atlas4j.util.Finite.requireFinite(layout, keep.length, 2, i -> "sample " + keep[i], "comparison layout "
                    + "coordinate", rd.resolve(Reducer.LAYOUT), org.atlas4j.util.Finite.MODEL_CAUSE);
            Npy.writeFloat32(rd.resolve(Reducer.RAW_LAYOUT), raw, keep.length, 2);
            Npy.writeFloat32(rd.resolve(Reducer.LAYOUT), layout, keep.length, 2);
            sub.writeStamp("reduce", st);
            sub.recordStage("reduce", (System.nanoTime() - t0) / 1e9, Map.of("samples", keep.length, "method", "compare"));
        }
        sub.grid(force);
        sub.render(force);
        Gridder.Grid grid = Gridder.Grid.read(sub.stageDir("grid"));
        List<int[]> members = new ArrayList<>();
        int[] rows = new int[grid.cells().size()];
        int[] cols = new int[grid.cells().size()];
        List<String> captions = new ArrayList<>();
        for (Gridder.Cell c : grid.cells()) {
            members.add(c.members());
            rows[c.id()] = c.row();
            cols[c.id()] = c.col();
        }
        var duals = org.atlas4j.classatlas.Comparison.dualRoles(members, rows, cols, at, classes, ia, ib);
        for (Gridder.Cell c : grid.cells()) {
            captions.add(String.format(Locale.ROOT, "%.2f|%.2f", meanAttribution(c, at, classes, ia),
                    meanAttribution(c, at, classes, ib)));
        }
        sub.stitch(captions);
        Json.write(sub.dir().resolve("dual-role.json"), Map.of("classA", na, "classB", nb, "cells", duals));
        StringBuilder t = new StringBuilder(String.format(Locale.ROOT, "Dual-role candidates: cells attributing to both %s "
                + "(A) and %s (B), strongest first%n%-5s %-4s %-4s %-8s %-9s %-9s%n", na, nb, "cell", "row", "col", "samples",
                "mean A", "mean B"));
        for (var r : duals) {
            t.append(String.format(Locale.ROOT, "%-5d %-4d %-4d %-8d %-9.3f %-9.3f%n", r.cell(), r.row(), r.col(), r.samples(),
                    r.meanA(), r.meanB()));
        }
        org.atlas4j.io.AtomicFiles.writeString(sub.dir().resolve("dual-role.txt"), t.toString());
        Progress.info(t.toString().lines().limit(7).collect(java.util.stream.Collectors.joining("\n")));
        return duals;
    }

    /** Projection of N×2 points on their first principal component. */
    static float[] principalAxis(float[] xy) {
        int n = xy.length / 2;
        double mx = 0;
        double my = 0;
        for (int i = 0; i < n; i++) {
            mx += xy[2 * i];
            my += xy[2 * i + 1];
        }
        mx /= n;
        my /= n;
        double sxx = 0;
        double syy = 0;
        double sxy = 0;
        for (int i = 0; i < n; i++) {
            double dx = xy[2 * i] - mx;
            double dy = xy[2 * i + 1] - my;
            sxx += dx * dx;
            syy += dy * dy;
            sxy += dx * dy;
        }
        double angle = 0.5 * Math.atan2(2 * sxy, sxx - syy); // direction of the larger eigenvalue
        double cx = Math.cos(angle);
        double cy = Math.sin(angle);
        float[] out = new float[n];
        for (int i = 0; i < n; i++) out[i] = (float) ((xy[2 * i] - mx) * cx + (xy[2 * i + 1] - my) * cy);
        return out;
    }

    // ---- layer comparison ----

    /** One layer's atlas in a comparison, with its label structure. */
    public record LayerSummary(String layer, String shape, int cells, double meanPurity, double neighbourAgreement,
            double shuffledBaseline, double fidelityTop1, String atlas) {
    }

    /**
     * Atlases of several layers from ONE pass over the data ({@code <run>/layers/<layer>/}), then one page with them
     * side by side and each layer's label purity: layers.png, layers.svg, layers.json (and layers.html).
     */
    public List<LayerSummary> compareLayers(List<String> layers, boolean force) throws Exception {
        if (layers.size() < 2) throw new UserError("--layers needs at least two layers, e.g. relu1,relu2,relu3");
        java.util.Set<String> seen = new java.util.HashSet<>();
        for (String l : layers) {
            // two entries would write one folder at once (layers/<slug>/): refused, not raced
            if (!seen.add(slug(l))) throw new UserError("--layers lists '" + l + "' twice; give each layer once");
        }
        List<AtlasRun> runs = new ArrayList<>();
        List<Path> dirs = new ArrayList<>();
        List<String> stamps = new ArrayList<>();
        boolean all = true;
        for (String l : layers) {
            model().graph().spatialLayer(l);
            RunConfig child = Json.MAPPER.convertValue(Json.MAPPER.valueToTree(cfg), RunConfig.class);
            child.output = dir.resolve("layers").toString();
            child.name = slug(l);
            child.layer = l;
            child.grid.levels = new ArrayList<>(); // one level per layer keeps the comparison affordable
            AtlasRun r = new AtlasRun(child);
            r.model = model();
            r.layer = l;
            runs.add(r);
            dirs.add(r.stageDir("collect"));
            var o = new Collector.Options(l, cfg.collect.batchSize, cfg.seed, cfg.collect.excludeEdges, false);
            String st = r.stamp("collect", List.of(o, model().sha256(), cfg.data.type, cfg.data.dir,
                    String.valueOf(cfg.data.images), String.valueOf(cfg.data.labels), cfg.data.limit, dataSampling()), null);
            stamps.add(st);
            all &= !force && r.upToDate("collect", st, Collector.ACTIVATIONS, Collector.SAMPLES, Collector.META);
        }
        if (!all) {
            var results = Collector.runLayers(model().graph(), data(),
                    new Collector.Options(layers.get(0), cfg.collect.batchSize, cfg.seed, cfg.collect.excludeEdges),
                    layers, dirs);
            for (int i = 0; i < runs.size(); i++) {
                if (folder() != null) runs.get(i).listSkipped(folder(), results.get(i).count());
                runs.get(i).writeStamp("collect", stamps.get(i));
                runs.get(i).recordStage("collect", results.get(i).seconds(), Map.of("images", results.get(i).count(),
                        "dim", results.get(i).dim(), "imagesPerSecond", results.get(i).imagesPerSecond(), "layers", layers));
            }
        }
        List<LayerSummary> out = new ArrayList<>();
        for (int i = 0; i < runs.size(); i++) {
            AtlasRun r = runs.get(i);
            r.reduce(force);
            r.grid(force);
            r.render(force);
            var atlas = r.stitch();
            Gridder.Grid g = Gridder.Grid.read(r.stageDir("grid"));
            double purity = g.cells().stream().mapToDouble(Gridder.Cell::purity).average().orElse(0);
            var f = Json.read(r.stageDir("render").resolve(Fidelity.FILE), Fidelity.Result.class);
            out.add(new LayerSummary(layers.get(i), model().graph().shape(layers.get(i)).shapeString(), g.cells().size(),
                    purity, atlas.neighbours().observed(), atlas.neighbours().shuffledBaseline(), f.top1(),
                    dir.relativize(r.dir().resolve(Stitcher.PNG)).toString()));
        }
        LayerPage.write(dir, out);
        for (AtlasRun r : runs) r.viewer(true); // now every sibling exists for the switchers
        if (Files.exists(stageDir("render").resolve(Renderer.META))) viewer(true);
        for (LayerSummary l : out) {
            Progress.info(String.format(Locale.ROOT, "%-8s %-10s %3d cells, mean purity %.2f, neighbour agreement %.2f "
                    + "(shuffled %.2f), fidelity top-1 %.2f", l.layer(), l.shape(), l.cells(), l.meanPurity(),
                    l.neighbourAgreement(), l.shuffledBaseline(), l.fidelityTop1()));
        }
        return out;
    }

    // ---- patch test ----

    /**
     * Pastes an icon (a PNG, or a cell number of this run's render) onto test images of class {@code from} and
     * reports how often the prediction flips to {@code to}, with noise and real-image controls; writes
     * patch-test.{json,txt,svg} to {@code <run>/patch-<from>-to-<to>/}.
     */
    public org.atlas4j.patch.PatchTest.Report patchTest(String from, String to, String icon, int images, double[] sizes)
            throws Exception {
        List<String> names = model().card().classNames();
        int ia = org.atlas4j.classatlas.ClassFilter.resolve(from, names);
        int ib = org.atlas4j.classatlas.ClassFilter.resolve(to, names);
        if (ia == ib) throw new UserError("patch-test needs two different classes, got '" + from + "' and '" + to + "'");
        ImageDataset all = data();
        // test images: the last 10,000 of the embedded default (Fashion-MNIST's test split), else all images
        int start = "fashion-mnist".equals(cfg.data.type) && all.size() == 70_000 ? 60_000 : 0;
        List<Integer> a = new ArrayList<>();
        int realB = -1;
        for (int i = start; i < all.size(); i++) {
            if (all.label(i) == ia && a.size() < images) a.add(i);
            if (all.label(i) == ib && realB < 0) realB = i;
        }
        if (a.isEmpty() || realB < 0) throw new UserError("no test images of class " + from + " or " + to + " in " + all.describe());
        Path iconFile = Files.exists(Path.of(icon)) ? Path.of(icon)
                : stageDir("render").resolve(Renderer.TILES).resolve(String.format(Locale.ROOT, "cell-%04d.png",
                        parseCell(icon)));
        if (!Files.exists(iconFile)) {
            throw new UserError("icon " + icon + " not found: give a PNG file or a cell number rendered in " + stageDir("render"));
        }
        java.awt.image.BufferedImage img = javax.imageio.ImageIO.read(iconFile.toFile());
        if (img == null || img.getWidth() != img.getHeight()) throw new UserError("icon " + iconFile + " is not a square image");
        int ch = all.channels();
        float[] iconUnit = org.atlas4j.patch.PatchTest.readImage(img, ch);
        float[] iconPx = new float[iconUnit.length]; // the icon as the model sees it, like the images it is pasted on
        modelInput().toModel(iconUnit, iconPx, 1, img.getWidth() * img.getHeight());
        float[] b = new float[all.imageLength()];
        all.copyImage(realB, b, 0);
        String fn = ia < names.size() ? names.get(ia) : from;
        String tn = ib < names.size() ? names.get(ib) : to;
        var report = org.atlas4j.patch.PatchTest.run(model().graph(), all, a.stream().mapToInt(Integer::intValue).toArray(),
                ib, iconPx, img.getWidth(), b, sizes, cfg.seed, fn, tn, modelInput());
        Path out = dir.resolve("patch-" + slug(fn) + "-to-" + slug(tn));
        Files.createDirectories(out);
        org.atlas4j.patch.PatchTest.write(report, sizes, out);
        Progress.info(Files.readString(out.resolve("patch-test.txt")));
        return report;
    }

    private static int parseCell(String s) {
        try {
            return Integer.parseInt(s.trim());
        } catch (NumberFormatException e) {
            throw new UserError("--icon takes a PNG file or a cell number, got '" + s + "'");
        }
    }

    // ---- provenance ----

    @SuppressWarnings("unchecked")
    synchronized void recordStage(String stage, double seconds, Map<String, Object> facts) throws IOException {
        Files.createDirectories(dir);
        Path p = dir.resolve(PROVENANCE);
        Map<String, Object> prov = Files.exists(p) ? Json.read(p, LinkedHashMap.class) : new LinkedHashMap<>();
        prov.put("run", cfg.name);
        prov.put("config", cfg);
        prov.put("seed", cfg.seed);
        Map<String, Object> m = new LinkedHashMap<>(); // not Map.of: its order changes between JVMs, and so would the file
        m.put("file", cfg.model);
        m.put("sha256", model().sha256());
        m.put("layer", layer());
        prov.put("model", m);
        prov.put("versions", Versions.all());
        Map<String, Object> stages = (Map<String, Object>) prov.computeIfAbsent("stages", k -> new LinkedHashMap<>());
        // sorted: facts often come from Map.of, whose order changes from one JVM to the next
        Map<String, Object> s = new LinkedHashMap<>(new java.util.TreeMap<>(facts));
        s.put("seconds", seconds);
        s.put("finished", Instant.now().toString());
        stages.put(stage, s);
        Json.write(p, prov);
    }

    static void deleteRecursively(Path p) throws IOException {
        if (!Files.exists(p)) return;
        try (var walk = Files.walk(p)) {
            for (Path q : walk.sorted(java.util.Comparator.reverseOrder()).toList()) Files.delete(q);
        }
    }
}
