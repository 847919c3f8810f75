package org.atlas4j.run;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.atlas4j.collect.Collector;
import org.atlas4j.data.FolderDataset;
import org.atlas4j.data.ImageDataset;
import org.atlas4j.data.ModelInput;
import org.atlas4j.data.SkippedFiles;
import org.atlas4j.grid.Gridder;
import org.atlas4j.io.Json;
import org.atlas4j.io.Npy;
import org.atlas4j.model.LoadedModel;
import org.atlas4j.provenance.Provenance;
import org.atlas4j.provenance.StageRecord;
import org.atlas4j.reduce.Reducer;
import org.atlas4j.render.Fidelity;
import org.atlas4j.render.Renderer;
import org.atlas4j.stitch.Stitcher;
import org.atlas4j.util.Progress;
import org.atlas4j.viewer.ViewerExport;

/**
 * Runs the pipeline stages on one run folder: collect → reduce → grid → render (and fidelity) → stitch, the extra zoom
 * levels, and the viewer. Each stage reads the previous stage's files and writes its own, with a stamp of its options
 * ({@link StageStamps}): a stage whose stamp matches is skipped unless forced, so an interrupted run resumes and any
 * single stage can be rerun alone. Jobs built on a run (class atlases, comparisons, layer comparison, patch test) live
 * in their own packages and use this class; it uses none of them.
 */
public final class AtlasRun {
    public static final String PROVENANCE = Provenance.FILE;
    private final RunConfig cfg;
    private final Path dir;
    private final StageStamps stamps;
    /** Stages a level run takes from its parent (collect and reduce are the same at every grid size). */
    private Map<String, Path> shared = Map.of();
    private final RunInputs inputs;
    /** Null: collect runs in this process. */
    private CollectEngine collectEngine;

    /** Reopens an existing run folder with the config recorded in its provenance. */
    public static AtlasRun open(Path runDir) {
        return RunFolder.reopen(runDir);
    }

    public AtlasRun(RunConfig cfg) {
        this.cfg = cfg;
        this.dir = cfg.runDir();
        this.stamps = new StageStamps(dir, this::stageDir);
        this.inputs = new RunInputs(cfg);
        cfg.validate();
    }

    /** A run of a config derived from this one's (a level, layer or subset), sharing the loaded model and images. */
    public AtlasRun variant(RunConfig child) {
        AtlasRun r = new AtlasRun(child);
        r.inputs.shareFrom(inputs);
        return r;
    }

    public Path dir() { return dir; }

    public RunConfig config() { return cfg; }

    public StageStamps stamps() { return stamps; }

    public Path stageDir(String stage) {
        Path sharedDir = shared.get(stage);
        return sharedDir != null ? sharedDir : dir.resolve(stage);
    }

    /** The run of one extra zoom level: its own grid, render and stitch over this run's collect and layout. */
    public AtlasRun level(int n) throws Exception {
        if (n == cfg.grid.size) return this;
        layer(); // loaded here, shared by every level
        AtlasRun sub = variant(cfg.forLevel(n, dir.resolve("levels")));
        sub.shared = Map.of("collect", stageDir("collect"), "reduce", stageDir("reduce"));
        return sub;
    }

    /** Grids, renders and stitches every extra zoom level. */
    public void levels(boolean force) throws Exception {
        for (int n : cfg.levelSizes()) {
            if (n == cfg.grid.size) continue;
            Progress.info("level " + n + "×" + n + ":");
            AtlasRun sub = level(n);
            sub.grid(force);
            sub.render(force);
            sub.stitch(null);
        }
    }

    public LoadedModel model() { return inputs.model(); }

    public String layer() { return inputs.layer(); }

    public ImageDataset data() throws Exception { return inputs.data(); }

    /** How displayed icon values become the model's inputs: the card's pixel scaling and channel order, as collect used. */
    public ModelInput modelInput() { return inputs.modelInput(); }

    // ---- stages ----

    /** The collect stage's stamp: its options, the model's hash and which images (with their sampling). */
    public String collectStamp() { return cfg.collectStamp(layer(), model().sha256()); }

    /** Collect's pass over the images elsewhere (e.g. on Spark, {@code org.atlas4j.spark}); same outputs as here. */
    public AtlasRun collectWith(CollectEngine engine) {
        this.collectEngine = engine;
        return this;
    }

    public void collect(boolean force) throws Exception {
        String st = collectStamp();
        if (!force && stamps.upToDate("collect", st, Collector.ACTIVATIONS, Collector.SAMPLES, Collector.META)) return;
        Files.createDirectories(stageDir("collect"));
        Collector.Result r;
        FolderDataset fd = SkippedFiles.folderBehind(data());
        try {
            r = collectEngine == null ? Collector.run(model().graph(), data(), cfg.collectOptions(layer()), stageDir("collect"))
                    : collectEngine.collect(cfg, data(), cfg.collectOptions(layer()), stageDir("collect"));
        } catch (Collector.NothingDecoded e) {
            throw SkippedFiles.nothingDecoded(e, fd, stageDir("collect"));
        }
        stamps.write("collect", st);
        Map<String, Object> info = new java.util.HashMap<>(Map.of("images", r.count(), "dim", r.dim(),
                "imagesPerSecond", r.imagesPerSecond(), "accuracy", r.accuracy()));
        if (fd != null) info.putAll(SkippedFiles.report(fd, stageDir("collect"), r.count(), r.seconds()));
        recordStage("collect", r.seconds(), info);
    }

    public void reduce(boolean force) throws Exception {
        var o = cfg.reduceOptions();
        reduce(force, o, o.method(), (acts, out) -> Reducer.run(acts.data(), acts.rows(), acts.cols(), o, out).samples());
    }

    /**
     * The reduce stage with any layout (comparisons lay out their own axes): skipped when stamped with the same
     * {@code options} over the same collect, else {@code layout} writes reduce/layout.npy and the stage is stamped.
     */
    public void reduce(boolean force, Object options, String method, Reducer.LayoutWriter layout) throws Exception {
        String st = StageStamps.stamp("reduce", options, stamps.read("collect"));
        if (!force && stamps.upToDate("reduce", st, Reducer.LAYOUT)) return;
        Files.createDirectories(stageDir("reduce"));
        long t0 = System.nanoTime();
        int samples = layout.write(Npy.read(stageDir("collect").resolve(Collector.ACTIVATIONS)), stageDir("reduce"));
        stamps.write("reduce", st);
        recordStage("reduce", (System.nanoTime() - t0) / 1e9, Map.of("samples", samples, "method", method));
    }

    public void grid(boolean force) throws Exception {
        var o = cfg.gridOptions();
        String st = StageStamps.stamp("grid", o, stamps.read("reduce"));
        if (!force && stamps.upToDate("grid", st, Gridder.CELLS, Gridder.CELL_VECTORS)) return;
        Files.createDirectories(stageDir("grid"));
        long t0 = System.nanoTime();
        var g = Gridder.run(stageDir("collect"), stageDir("reduce"), model().card().classNames().size(), o, stageDir("grid"));
        stamps.write("grid", st);
        double secs = (System.nanoTime() - t0) / 1e9;
        Progress.info(g.summary() + "; " + Progress.format(secs));
        recordStage("grid", secs, Map.of("cells", g.cells().size(), "keptSamples", g.keptSamples()));
    }

    public void render(boolean force) throws Exception {
        var o = cfg.renderOptions(layer());
        String st = StageStamps.stamp("render", o, stamps.read("grid"));
        Path rd = stageDir("render");
        if (!force && stamps.upToDate("render", st, Renderer.META)) {
            // killed between the render's stamp and its fidelity: the icons are done, their measurement is not
            if (!Files.exists(rd.resolve(Fidelity.FILE))) fidelity();
            return;
        }
        var res = Renderer.run(model().graph(), stageDir("collect"), stageDir("grid"), st, force, o, rd, modelInput());
        stamps.write("render", st);
        recordStage("render", res.seconds(), res.facts());
        fidelity();
    }

    /** Feeds the rendered icons back through the model: see {@link Fidelity}. Writes render/fidelity.json. */
    public Fidelity.Result fidelity() throws Exception {
        long t0 = System.nanoTime();
        stamps.read("render");
        var f = Fidelity.measure(model().graph(), stageDir("collect"), stageDir("grid"), stageDir("render"), modelInput());
        double secs = (System.nanoTime() - t0) / 1e9;
        Progress.info(f.summary() + "; " + Progress.format(secs));
        recordStage("fidelity", secs, Map.of("top1", f.top1(), "top5", f.top5(), "meanRatio", f.meanRatio(),
                "medianRatio", f.medianRatio(), "fractionAboveBestReal", f.fractionAboveBestReal()));
        return f;
    }

    /** @param captions per-cell captions, or null for each cell's most common true label */
    public Stitcher.Atlas stitch(List<String> captions) throws Exception {
        long t0 = System.nanoTime();
        stamps.read("render");
        Gridder.Grid grid = Gridder.Grid.read(stageDir("grid"));
        List<String> tiles = Renderer.Result.read(stageDir("render")).results().stream().map(Renderer.CellResult::tile).toList();
        var atlas = Stitcher.run(grid, stageDir("render"), tiles, model().card().classNames(), captions, cfg.stitchOptions(), dir);
        double secs = (System.nanoTime() - t0) / 1e9;
        Progress.info(atlas.summary(dir.resolve(Stitcher.PNG)) + "; " + Progress.format(secs));
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
        stitch(null);
        levels(force);
        viewer(false);
        Progress.info("atlas: " + dir.resolve(Stitcher.PNG) + " and the viewer " + dir.resolve("index.html") + " ("
                + Progress.format((System.nanoTime() - t0) / 1e9) + " in all)");
    }

    /**
     * Writes the interactive viewer ({@code index.html} and its data) for every rendered level; skipped when every
     * level's render and the viewer's own code are as they were at the last export.
     */
    public Path viewer(boolean force) throws Exception {
        List<String> upstream = new ArrayList<>();
        for (int n : cfg.levelSizes()) upstream.add(n + ":" + level(n).stamps.readOrNone("render"));
        String st = StageStamps.stamp("viewer", ViewerExport.VERSION, String.join("|", upstream));
        if (!force && stamps.upToDate("viewer", st, "data.js") && Files.exists(dir.resolve("index.html"))) {
            return dir.resolve("index.html");
        }
        Path index = ViewerExport.write(RunFolder.viewerInput(this));
        stamps.write("viewer", st);
        return index;
    }

    /** Adds one stage's record to provenance.json (with the run's config, model and versions). */
    public synchronized void recordStage(String stage, double seconds, Map<String, ?> facts) throws IOException {
        Files.createDirectories(dir);
        Provenance.recordStage(dir, cfg.name, Json.MAPPER.valueToTree(cfg), cfg.seed,
                new Provenance.ModelRecord(cfg.model, model().sha256(), layer()), stage,
                StageRecord.of(facts, seconds, Instant.now().toString()));
    }
}
