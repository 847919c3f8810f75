package org.atlas4j.classatlas;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import org.atlas4j.collect.Collector;
import org.atlas4j.grid.Gridder;
import org.atlas4j.io.Npy;
import org.atlas4j.run.AtlasRun;
import org.atlas4j.stitch.Stitcher;
import org.atlas4j.util.Progress;
import org.atlas4j.util.UserError;

/**
 * A class atlas (the paper's "class activation atlas"): the samples whose top-attributed class is the target plus the
 * {@code topN} with the strongest positive attribution to it, laid out, gridded, rendered and stitched in
 * {@code <run>/class-<name>/}, each cell captioned with its mean attribution to the class. Collects attributions into
 * the run first if it has none.
 */
public final class ClassAtlasJob {
    /** What a class atlas kept; written to its collect/selection.json. */
    public record ClassSelection(String className, int classIndex, int topN, int samples, int ofSamples) {
    }

    private final AtlasRun run;

    /** @param run the run whose samples are filtered; it is collected with attributions (its own config is not changed) */
    public ClassAtlasJob(AtlasRun run) {
        this.run = run.variant(run.config().withAttribution());
    }

    public Stitcher.Atlas run(String cls, int topN, int gridSize, int threshold, boolean force) throws Exception {
        run.collect(false);
        Npy.NpyArray attr = Npy.read(run.stageDir("collect").resolve(Collector.ATTRIBUTION));
        int classes = attr.cols();
        List<String> names = run.model().card().classNames();
        int target = ClassFilter.resolve(cls, names);
        int[] keep = ClassFilter.select(attr.data(), classes, target, topN);
        String className = target < names.size() ? names.get(target) : Integer.toString(target);
        if (keep.length < 3) {
            throw new UserError("only " + keep.length + " samples attribute to class '" + className + "'; collect more images");
        }
        float[] at = SubsetRun.rows(attr.data(), keep, classes);
        ClassSelection sel = new ClassSelection(className, target, topN, keep.length, attr.rows());
        AtlasRun sub = SubsetRun.create(run, "class-" + SubsetRun.slug(className), keep, sel, gridSize, threshold);
        Progress.info(String.format(Locale.ROOT, "class atlas '%s': %,d of %,d samples (top-attributed class, plus the "
                + "top %,d by attribution)", className, keep.length, attr.rows(), topN));
        sub.reduce(force);
        sub.grid(force);
        sub.render(force);
        List<String> captions = new ArrayList<>();
        for (Gridder.Cell c : Gridder.Grid.read(sub.stageDir("grid")).cells()) {
            captions.add(String.format(Locale.ROOT, "%.2f", SubsetRun.meanAttribution(c, at, classes, target)));
        }
        return sub.stitch(captions);
    }
}
