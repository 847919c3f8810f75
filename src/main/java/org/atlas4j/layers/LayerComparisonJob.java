package org.atlas4j.layers;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.atlas4j.collect.Collector;
import org.atlas4j.data.FolderDataset;
import org.atlas4j.data.SkippedFiles;
import org.atlas4j.grid.Gridder;
import org.atlas4j.io.Json;
import org.atlas4j.render.Fidelity;
import org.atlas4j.render.Renderer;
import org.atlas4j.run.AtlasRun;
import org.atlas4j.stitch.Stitcher;
import org.atlas4j.util.Progress;
import org.atlas4j.util.UserError;

/**
 * Atlases of several layers from ONE pass over the data ({@code <run>/layers/<layer>/}, each a run of its own), then
 * one page with them side by side and each layer's label purity: layers.png, layers.svg, layers.json (and layers.html).
 */
public final class LayerComparisonJob {
    /** One layer's atlas in a comparison, with its label structure. */
    public record LayerSummary(String layer, String shape, int cells, double meanPurity, double neighbourAgreement,
            double shuffledBaseline, double fidelityTop1, String atlas) {
    }

    private final AtlasRun run;

    public LayerComparisonJob(AtlasRun run) {
        this.run = run;
    }

    public List<LayerSummary> run(List<String> layers, boolean force) throws Exception {
        if (layers.size() < 2) throw new UserError("--layers needs at least two layers, e.g. relu1,relu2,relu3");
        java.util.Set<String> seen = new java.util.HashSet<>();
        for (String l : layers) {
            // two entries would write one folder at once (layers/<slug>/): refused, not raced
            if (!seen.add(slug(l))) throw new UserError("--layers lists '" + l + "' twice; give each layer once");
        }
        List<AtlasRun> runs = new ArrayList<>();
        for (String l : layers) {
            run.model().graph().spatialLayer(l);
            runs.add(run.variant(run.config().forLayer(l, slug(l), run.dir().resolve("layers"))));
        }
        collectAll(layers, runs, force);
        List<LayerSummary> out = new ArrayList<>();
        for (int i = 0; i < runs.size(); i++) out.add(atlas(layers.get(i), runs.get(i), force));
        LayerPage.write(run.dir(), out);
        for (AtlasRun r : runs) r.viewer(true); // now every sibling exists for the switchers
        if (Files.exists(run.stageDir("render").resolve(Renderer.META))) run.viewer(true);
        for (LayerSummary l : out) {
            Progress.info(String.format(Locale.ROOT, "%-8s %-10s %3d cells, mean purity %.2f, neighbour agreement %.2f "
                    + "(shuffled %.2f), fidelity top-1 %.2f", l.layer(), l.shape(), l.cells(), l.meanPurity(),
                    l.neighbourAgreement(), l.shuffledBaseline(), l.fidelityTop1()));
        }
        return out;
    }

    /** Collects every layer in one pass over the images, unless every layer's collect is up to date. */
    private void collectAll(List<String> layers, List<AtlasRun> runs, boolean force) throws Exception {
        List<Path> dirs = new ArrayList<>();
        List<String> stamps = new ArrayList<>();
        boolean all = true;
        for (AtlasRun r : runs) {
            dirs.add(r.stageDir("collect"));
            String st = r.collectStamp();
            stamps.add(st);
            all &= !force && r.stamps().upToDate("collect", st, Collector.ACTIVATIONS, Collector.SAMPLES, Collector.META);
        }
        if (all) return;
        var results = Collector.runLayers(run.model().graph(), run.data(), runs.get(0).config().collectOptions(layers.get(0)),
                layers, dirs);
        FolderDataset fd = SkippedFiles.folderBehind(run.data());
        for (int i = 0; i < runs.size(); i++) {
            AtlasRun r = runs.get(i);
            Collector.Result res = results.get(i);
            if (fd != null) SkippedFiles.write(fd, r.stageDir("collect"), res.count());
            r.stamps().write("collect", stamps.get(i));
            r.recordStage("collect", res.seconds(), Map.of("images", res.count(), "dim", res.dim(),
                    "imagesPerSecond", res.imagesPerSecond(), "layers", layers));
        }
    }

    /** One layer's reduce, grid, render and stitch, and its summary. */
    private LayerSummary atlas(String layer, AtlasRun r, boolean force) throws Exception {
        r.reduce(force);
        r.grid(force);
        r.render(force);
        var atlas = r.stitch();
        Gridder.Grid g = Gridder.Grid.read(r.stageDir("grid"));
        double purity = g.cells().stream().mapToDouble(Gridder.Cell::purity).average().orElse(0);
        var f = Json.read(r.stageDir("render").resolve(Fidelity.FILE), Fidelity.Result.class);
        return new LayerSummary(layer, run.model().graph().shape(layer).shapeString(), g.cells().size(), purity,
                atlas.neighbours().observed(), atlas.neighbours().shuffledBaseline(), f.top1(),
                run.dir().relativize(r.dir().resolve(Stitcher.PNG)).toString());
    }

    static String slug(String s) {
        return s.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]+", "-");
    }
}
