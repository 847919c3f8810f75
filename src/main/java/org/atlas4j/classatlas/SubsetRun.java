package org.atlas4j.classatlas;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

import org.atlas4j.collect.Collector;
import org.atlas4j.grid.Gridder;
import org.atlas4j.io.AtomicFiles;
import org.atlas4j.io.Json;
import org.atlas4j.io.Npy;
import org.atlas4j.run.AtlasRun;
import org.atlas4j.run.StageStamps;

/**
 * A child run in {@code <run>/<name>/} whose collect stage is a subset of its parent's samples (a class atlas or a
 * comparison): the subset's rows of activations, attributions and samples.csv, the parent's second moment, the
 * selection as selection.json, and a collect stamp naming the selection and the parent's collect.
 */
final class SubsetRun {
    private SubsetRun() {
    }

    static AtlasRun create(AtlasRun parent, String name, int[] keep, Object selection, int gridSize, int threshold)
            throws Exception {
        AtlasRun sub = parent.variant(parent.config().forSubset(name, parent.dir(), gridSize, threshold));
        Path pc = parent.stageDir("collect");
        Path sc = sub.stageDir("collect");
        Files.createDirectories(sc);
        Npy.NpyArray acts = Npy.read(pc.resolve(Collector.ACTIVATIONS));
        Npy.NpyArray attr = Npy.read(pc.resolve(Collector.ATTRIBUTION));
        Npy.writeFloat32(sc.resolve(Collector.ACTIVATIONS), rows(acts.data(), keep, acts.cols()), keep.length, acts.cols());
        Npy.writeFloat32(sc.resolve(Collector.ATTRIBUTION), rows(attr.data(), keep, attr.cols()), keep.length, attr.cols());
        // whitening keeps the whole layer's statistics: the subset's directions are whitened against all images
        Files.copy(pc.resolve(Collector.SECOND_MOMENT), sc.resolve(Collector.SECOND_MOMENT),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        List<String> lines = Files.readAllLines(pc.resolve(Collector.SAMPLES));
        StringBuilder csv = new StringBuilder(lines.get(0)).append('\n');
        for (int k : keep) csv.append(lines.get(k + 1)).append('\n');
        AtomicFiles.writeString(sc.resolve(Collector.SAMPLES), csv.toString());
        Json.write(sc.resolve("selection.json"), selection);
        sub.stamps().write("collect", StageStamps.stamp("collect", selection, parent.stamps().read("collect")));
        return sub;
    }

    /** The given rows of a row-major matrix with {@code cols} columns. */
    static float[] rows(float[] matrix, int[] keep, int cols) {
        float[] out = new float[keep.length * cols];
        for (int k = 0; k < keep.length; k++) System.arraycopy(matrix, keep[k] * cols, out, k * cols, cols);
        return out;
    }

    /** Mean attribution to class {@code cls} over a cell's members ({@code at} is samples × classes). */
    static double meanAttribution(Gridder.Cell c, float[] at, int classes, int cls) {
        double sum = 0;
        for (int m : c.members()) sum += at[m * classes + cls];
        return sum / c.members().length;
    }

    /** A class name as a folder name: lower case, runs of other characters as one dash. */
    static String slug(String s) {
        return s.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]+", "-");
    }
}
