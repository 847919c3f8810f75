package org.atlas4j.classatlas;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.atlas4j.collect.Collector;
import org.atlas4j.grid.Gridder;
import org.atlas4j.io.AtomicFiles;
import org.atlas4j.io.Json;
import org.atlas4j.io.Npy;
import org.atlas4j.reduce.LayoutNormalizer;
import org.atlas4j.reduce.Reducer;
import org.atlas4j.run.AtlasRun;
import org.atlas4j.util.Finite;
import org.atlas4j.util.Progress;
import org.atlas4j.util.UserError;

/**
 * Classes A and B side by side (the paper's class comparison): their samples laid out with x = attribution difference
 * (B − A, scaled by its 99th percentile, clipped to [−1,1]) and y = a 1-D UMAP of the activations; gridded, rendered,
 * stitched in {@code <run>/compare-<a>-vs-<b>/}, with a ranked table of dual-role cells (strong attribution to both)
 * in dual-role.{json,txt}. Collects attributions into the run first if it has none.
 */
public final class ComparisonJob {
    /** What a comparison kept; written to its collect/selection.json. */
    public record ComparedClasses(String classA, int indexA, String classB, int indexB, int perClass, int samples) {
    }

    private final AtlasRun run;

    /** @param run the run whose samples are compared; it is collected with attributions (its own config is not changed) */
    public ComparisonJob(AtlasRun run) {
        this.run = run.variant(run.config().withAttribution());
    }

    public List<Comparison.DualRole> run(String a, String b, int perClass, int gridSize, int threshold, boolean force)
            throws Exception {
        run.collect(false);
        Npy.NpyArray attr = Npy.read(run.stageDir("collect").resolve(Collector.ATTRIBUTION));
        int classes = attr.cols();
        List<String> names = run.model().card().classNames();
        int ia = ClassFilter.resolve(a, names);
        int ib = ClassFilter.resolve(b, names);
        if (ia == ib) throw new UserError("compare needs two different classes, got '" + a + "' twice");
        java.util.TreeSet<Integer> keepSet = new java.util.TreeSet<>();
        for (int i : ClassFilter.select(attr.data(), classes, ia, perClass)) keepSet.add(i);
        for (int i : ClassFilter.select(attr.data(), classes, ib, perClass)) keepSet.add(i);
        int[] keep = keepSet.stream().mapToInt(Integer::intValue).toArray();
        String na = ia < names.size() ? names.get(ia) : Integer.toString(ia);
        String nb = ib < names.size() ? names.get(ib) : Integer.toString(ib);
        var sel = new ComparedClasses(na, ia, nb, ib, perClass, keep.length);
        AtlasRun sub = SubsetRun.create(run, "compare-" + SubsetRun.slug(na) + "-vs-" + SubsetRun.slug(nb), keep, sel,
                gridSize, threshold);
        Progress.info(String.format(Locale.ROOT, "compare '%s' vs '%s': %,d samples", na, nb, keep.length));
        float[] at = SubsetRun.rows(attr.data(), keep, classes);
        var ro = run.config().reduceOptions();
        sub.reduce(force, List.of("compare", ro), "compare", (acts, out) -> layout(acts, out, at, classes, ia, ib, keep, ro));
        sub.grid(force);
        sub.render(force);
        Gridder.Grid grid = Gridder.Grid.read(sub.stageDir("grid"));
        var duals = dualRoles(grid, at, classes, ia, ib);
        List<String> captions = new ArrayList<>();
        for (Gridder.Cell c : grid.cells()) {
            captions.add(String.format(Locale.ROOT, "%.2f|%.2f", SubsetRun.meanAttribution(c, at, classes, ia),
                    SubsetRun.meanAttribution(c, at, classes, ib)));
        }
        sub.stitch(captions);
        writeDualRoles(sub.dir(), na, nb, duals);
        return duals;
    }

    /** x from the attribution difference, y from a 1-D UMAP; writes raw-layout.npy and layout.npy to {@code out}. */
    private static int layout(Npy.NpyArray acts, Path out, float[] at, int classes, int ia, int ib, int[] keep,
            Reducer.Options ro) {
        float[] x = Comparison.axis(at, classes, ia, ib);
        // 1-D embedding: the principal axis of the 2-D UMAP layout (Smile's UMAP refuses one dimension)
        float[] y = principalAxis(Reducer.fit(acts.data(), acts.rows(), acts.cols(), ro, 2));
        float[] raw = new float[2 * keep.length];
        for (int i = 0; i < keep.length; i++) {
            raw[2 * i] = x[i];
            raw[2 * i + 1] = y[i];
        }
        float[] yn = LayoutNormalizer.normalize(raw, 1, 99);
        float[] layout = new float[2 * keep.length];
        for (int i = 0; i < keep.length; i++) {
            layout[2 * i] = (x[i] + 1) / 2; // [−1,1] → [0,1] for the grid
            layout[2 * i + 1] = yn[2 * i + 1];
        }
        Finite.requireFinite(layout, keep.length, 2, i -> "sample " + keep[i], "comparison layout coordinate",
                out.resolve(Reducer.LAYOUT), Finite.MODEL_CAUSE);
        Npy.writeFloat32(out.resolve(Reducer.RAW_LAYOUT), raw, keep.length, 2);
        Npy.writeFloat32(out.resolve(Reducer.LAYOUT), layout, keep.length, 2);
        return keep.length;
    }

    private static List<Comparison.DualRole> dualRoles(Gridder.Grid grid, float[] at, int classes, int ia, int ib) {
        List<int[]> members = new ArrayList<>();
        int[] rows = new int[grid.cells().size()];
        int[] cols = new int[grid.cells().size()];
        for (Gridder.Cell c : grid.cells()) {
            members.add(c.members());
            rows[c.id()] = c.row();
            cols[c.id()] = c.col();
        }
        return Comparison.dualRoles(members, rows, cols, at, classes, ia, ib);
    }

    /** dual-role.json and a ranked dual-role.txt, whose head is also logged. */
    private static void writeDualRoles(Path dir, String na, String nb, List<Comparison.DualRole> duals) {
        Json.write(dir.resolve("dual-role.json"), Map.of("classA", na, "classB", nb, "cells", duals));
        StringBuilder t = new StringBuilder(String.format(Locale.ROOT, "Dual-role candidates: cells attributing to both %s "
                + "(A) and %s (B), strongest first%n%-5s %-4s %-4s %-8s %-9s %-9s%n", na, nb, "cell", "row", "col", "samples",
                "mean A", "mean B"));
        for (var r : duals) {
            t.append(String.format(Locale.ROOT, "%-5d %-4d %-4d %-8d %-9.3f %-9.3f%n", r.cell(), r.row(), r.col(), r.samples(),
                    r.meanA(), r.meanB()));
        }
        AtomicFiles.writeString(dir.resolve("dual-role.txt"), t.toString());
        Progress.info(t.toString().lines().limit(7).collect(java.util.stream.Collectors.joining("\n")));
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
}
