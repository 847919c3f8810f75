package org.atlas4j.grid;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.atlas4j.io.Json;
import org.atlas4j.io.Npy;

/**
 * Stage 3: bins the normalized 2-D layout into a size×size grid and averages the raw activations per cell.
 * Only cells holding more than {@code threshold} samples are kept (their mean would be noise otherwise).
 */
public final class Gridder {
    public static final String CELLS = "cells.json";
    public static final String CELL_VECTORS = "cell-vectors.npy";

    public record Options(int size, int threshold) {
        public Options {
            if (size < 1) throw new org.atlas4j.util.UserError("grid size must be at least 1 (got " + size + "); the paper uses 20 for whole-layer atlases");
            if (threshold < 0) throw new org.atlas4j.util.UserError("grid threshold must be >= 0 (got " + threshold + ")");
        }
    }

    /** One kept cell. {@code id} is its row in cell-vectors.npy; row 0 is the top (y near 0). */
    public record Cell(int id, int row, int col, int count, int[] labelHistogram, int topLabel, double purity,
            int[] members) {
    }

    /** Everything {@code cells.json} holds. */
    public record Grid(int size, int threshold, int samples, int keptSamples, int emptyCells, int droppedCells,
            List<Cell> cells) {
        public static Grid read(Path dir) {
            return Json.read(dir.resolve(CELLS), Grid.class);
        }

        /** The log line of a grid: kept, empty and dropped cells. */
        public String summary() {
            return String.format(java.util.Locale.ROOT, "grid: %d of %d cells kept (> %d samples), %d empty, %d below threshold",
                    cells.size(), size * size, threshold, emptyCells, droppedCells);
        }
    }

    private Gridder() {
    }

    /** Cell coordinate of a normalized position in [0,1]; 1.0 falls in the last cell. */
    public static int bin(float v, int size) {
        int b = (int) Math.floor(v * size);
        return Math.max(0, Math.min(size - 1, b));
    }

    /**
     * @param layout N×2 row-major (x, y) in [0,1]
     * @param activations N×D row-major
     * @param labels per-sample label (-1 when unknown); numClasses for the histogram
     */
    public static Grid fit(float[] layout, float[] activations, int dim, int[] labels, int numClasses, Options o,
            float[][] meansOut) {
        int n = layout.length / 2;
        int size = o.size();
        List<List<Integer>> members = new ArrayList<>(size * size);
        for (int i = 0; i < size * size; i++) members.add(new ArrayList<>());
        for (int i = 0; i < n; i++) {
            int col = bin(layout[2 * i], size);
            int row = bin(layout[2 * i + 1], size);
            members.get(row * size + col).add(i);
        }
        List<Cell> cells = new ArrayList<>();
        List<float[]> means = new ArrayList<>();
        int empty = 0;
        int dropped = 0;
        int kept = 0;
        for (int row = 0; row < size; row++) {
            for (int col = 0; col < size; col++) {
                List<Integer> m = members.get(row * size + col);
                if (m.isEmpty()) {
                    empty++;
                    continue;
                }
                if (m.size() <= o.threshold()) {
                    dropped++;
                    continue;
                }
                int[] idx = m.stream().mapToInt(Integer::intValue).toArray();
                int[] hist = new int[Math.max(numClasses, 1)];
                double[] sum = new double[dim];
                for (int i : idx) {
                    if (labels != null && labels[i] >= 0 && labels[i] < hist.length) hist[labels[i]]++;
                    int off = i * dim;
                    for (int c = 0; c < dim; c++) sum[c] += activations[off + c];
                }
                float[] mean = new float[dim];
                for (int c = 0; c < dim; c++) mean[c] = (float) (sum[c] / idx.length);
                int top = 0;
                for (int k = 1; k < hist.length; k++) if (hist[k] > hist[top]) top = k;
                int labelled = Arrays.stream(hist).sum();
                double purity = labelled == 0 ? 0 : hist[top] / (double) labelled;
                cells.add(new Cell(cells.size(), row, col, idx.length, hist, labelled == 0 ? -1 : top, purity, idx));
                means.add(mean);
                kept += idx.length;
            }
        }
        if (meansOut != null && meansOut.length > 0) meansOut[0] = flatten(means, dim);
        return new Grid(size, o.threshold(), n, kept, empty, dropped, cells);
    }

    static float[] flatten(List<float[]> rows, int dim) {
        float[] out = new float[rows.size() * dim];
        for (int i = 0; i < rows.size(); i++) System.arraycopy(rows.get(i), 0, out, i * dim, dim);
        return out;
    }

    /** Runs the stage: writes cells.json and cell-vectors.npy into {@code dir}. */
    /**
     * The grid stage from its input files: collect's activations and samples, reduce's layout; {@code modelClasses}
     * widens the label histograms to the model's classes (labels beyond them count too).
     */
    public static Grid run(Path collectDir, Path reduceDir, int modelClasses, Options o, Path dir) {
        Npy.NpyArray layout = Npy.read(reduceDir.resolve(org.atlas4j.reduce.Reducer.LAYOUT));
        Npy.NpyArray acts = Npy.read(collectDir.resolve(org.atlas4j.collect.Collector.ACTIVATIONS));
        var samples = org.atlas4j.collect.SampleTable.read(collectDir.resolve(org.atlas4j.collect.Collector.SAMPLES));
        int classes = Math.max(modelClasses, samples.maxLabel() + 1);
        return run(layout.data(), acts.data(), acts.cols(), samples.labels(), classes, o, dir);
    }

    public static Grid run(float[] layout, float[] activations, int dim, int[] labels, int numClasses, Options o, Path dir) {
        float[][] means = new float[1][];
        Grid g = fit(layout, activations, dim, labels, numClasses, o, means);
        if (g.cells().isEmpty()) {
            throw new org.atlas4j.util.UserError("no grid cell holds more than " + o.threshold() + " samples (" + g.samples()
                    + " samples on a " + o.size() + "×" + o.size() + " grid); lower --threshold or --grid, or collect more images");
        }
        org.atlas4j.util.Finite.requireFinite(means[0], g.cells().size(), dim, c -> "cell " + c, "mean activation",
                dir.resolve(CELL_VECTORS), "the collected activations or the layout hold non-finite values; collect and "
                        + "reduce again");
        Npy.writeFloat32(dir.resolve(CELL_VECTORS), means[0], g.cells().size(), dim);
        Json.write(dir.resolve(CELLS), g);
        return g;
    }
}
