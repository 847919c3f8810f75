package org.atlas4j.grid;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.TreeSet;

import org.atlas4j.io.Npy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Stage 3: binning, threshold filtering, per-cell means, label statistics and the written files. */
@org.atlas4j.UnitTest
class GridderTest {

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 6, 7, 10, 20, 33})
    void binEdges(int size) {
        assertEquals(0, Gridder.bin(0f, size));
        assertEquals(size - 1, Gridder.bin(1f, size), "1.0 belongs to the last cell");
        assertEquals(0, Gridder.bin(1f / size - 1e-6f, size), "just below 1/size is still the first cell");
        assertEquals(0, Gridder.bin(Math.nextDown(1f / size), size), "the float just below 1/size is still the first cell");
        for (int k = 0; k < size; k++) {
            assertEquals(k, Gridder.bin((k + 0.5f) / size, size), "centre of cell " + k);
            if (k > 0) assertEquals(k, Gridder.bin(k / (float) size + 1e-6f, size), "just above the near edge of cell " + k);
            assertEquals(k, Gridder.bin((k + 1) / (float) size - 1e-6f, size), "just below the far edge of cell " + k);
        }
        // out-of-range inputs are clamped rather than indexing outside the grid
        assertEquals(0, Gridder.bin(-0.2f, size));
        assertEquals(size - 1, Gridder.bin(1.3f, size));
    }

    /** A hand-made 3×3 layout: {row, col, label}; cell (2,1) holds exactly the threshold (1) and is dropped. */
    private static final int[][] PLACE = {
        {0, 0, 1}, {0, 0, 1}, {0, 0, 2},            // 3 samples, top label 1, purity 2/3
        {1, 2, 0}, {1, 2, -1},                      // 2 samples, one unlabelled: top 0, purity 1/1
        {2, 1, 3},                                  // 1 sample: dropped with threshold 1
        {2, 2, 3}, {2, 2, 0}, {2, 2, 3}, {2, 2, 3}, // 4 samples, top 3, purity 3/4
    };
    /** Sample i sits where PLACE[ORDER[i]] says (so cell membership is not simply contiguous indices). */
    private static final int[] ORDER = {7, 2, 5, 0, 9, 3, 1, 8, 4, 6};
    private static final int DIM = 3;

    /** Positions at random points strictly inside each sample's cell (x = column, y = row). */
    private static float[] layout(Random r) {
        float[] xy = new float[2 * ORDER.length];
        for (int i = 0; i < ORDER.length; i++) {
            int[] p = PLACE[ORDER[i]];
            xy[2 * i] = (p[1] + 0.05f + 0.9f * r.nextFloat()) / 3;
            xy[2 * i + 1] = (p[0] + 0.05f + 0.9f * r.nextFloat()) / 3;
        }
        return xy;
    }

    private static float[] activations(Random r) {
        float[] acts = new float[ORDER.length * DIM];
        for (int i = 0; i < acts.length; i++) acts[i] = (float) r.nextGaussian();
        return acts;
    }

    private static int[] labels() {
        int[] labels = new int[ORDER.length];
        for (int i = 0; i < ORDER.length; i++) labels[i] = PLACE[ORDER[i]][2];
        return labels;
    }

    @Test
    void fitPutsEachSampleInItsCellAndKeepsOnlyCellsAboveTheThreshold() {
        Random r = new Random(3);
        float[] xy = layout(r);
        float[] acts = activations(r);
        int n = ORDER.length;

        float[][] means = new float[1][];
        Gridder.Grid g = Gridder.fit(xy, acts, DIM, labels(), 4, new Gridder.Options(3, 1), means);

        assertEquals(3, g.size());
        assertEquals(1, g.threshold());
        assertEquals(n, g.samples());
        assertEquals(9, g.keptSamples());
        assertEquals(5, g.emptyCells());
        assertEquals(1, g.droppedCells());
        assertEquals(3, g.cells().size());
        assertEquals(3 * DIM, means[0].length);

        int[][] expected = {{0, 0, 3}, {1, 2, 2}, {2, 2, 4}}; // row-major order, row 0 (y near 0) first
        TreeSet<Integer> allMembers = new TreeSet<>();
        for (int c = 0; c < 3; c++) {
            Gridder.Cell cell = g.cells().get(c);
            assertEquals(c, cell.id(), "cell ids are the rows of cell-vectors.npy");
            assertEquals(expected[c][0], cell.row(), "row of cell " + c);
            assertEquals(expected[c][1], cell.col(), "column of cell " + c);
            assertEquals(expected[c][2], cell.count(), "count of cell " + c);
            assertEquals(cell.count(), cell.members().length);
            for (int m : cell.members()) {
                assertEquals(PLACE[ORDER[m]][0], cell.row(), "sample " + m + " is in the wrong row");
                assertEquals(PLACE[ORDER[m]][1], cell.col(), "sample " + m + " is in the wrong column");
                assertTrue(allMembers.add(m), "sample " + m + " is in two cells");
            }
            for (int k = 0; k < DIM; k++) {
                double s = 0;
                for (int m : cell.members()) s += acts[m * DIM + k];
                assertEquals(s / cell.count(), means[0][c * DIM + k], 1e-6, "mean of cell " + c + ", dimension " + k);
            }
        }
        // members cover exactly the kept samples: everything except the sample of the dropped cell (2,1)
        TreeSet<Integer> keptExpected = new TreeSet<>();
        for (int i = 0; i < n; i++) if (!(PLACE[ORDER[i]][0] == 2 && PLACE[ORDER[i]][1] == 1)) keptExpected.add(i);
        assertEquals(keptExpected, allMembers);

        // label histograms (unlabelled samples not counted), top label and purity
        assertArrayEquals(new int[] {0, 2, 1, 0}, g.cells().get(0).labelHistogram());
        assertEquals(1, g.cells().get(0).topLabel());
        assertEquals(2 / 3.0, g.cells().get(0).purity(), 1e-12);
        assertArrayEquals(new int[] {1, 0, 0, 0}, g.cells().get(1).labelHistogram());
        assertEquals(0, g.cells().get(1).topLabel());
        assertEquals(1.0, g.cells().get(1).purity(), 1e-12);
        assertArrayEquals(new int[] {1, 0, 0, 3}, g.cells().get(2).labelHistogram());
        assertEquals(3, g.cells().get(2).topLabel());
        assertEquals(0.75, g.cells().get(2).purity(), 1e-12);
    }

    @Test
    void thresholdZeroKeepsEveryNonEmptyCellAndHigherThresholdsDropMore() {
        Random r = new Random(5);
        float[] xy = layout(r);
        float[] acts = activations(r);
        assertEquals(4, Gridder.fit(xy, acts, DIM, labels(), 4, new Gridder.Options(3, 0), null).cells().size());
        Gridder.Grid t2 = Gridder.fit(xy, acts, DIM, labels(), 4, new Gridder.Options(3, 2), null);
        assertEquals(2, t2.cells().size(), "cells with 3 and 4 samples remain; 2 <= threshold is dropped");
        assertEquals(7, t2.keptSamples());
        assertEquals(2, t2.droppedCells());
        Gridder.Grid t3 = Gridder.fit(xy, acts, DIM, labels(), 4, new Gridder.Options(3, 3), null);
        assertEquals(1, t3.cells().size(), "a cell with exactly the threshold count is dropped");
        assertEquals(4, t3.cells().get(0).count());
    }

    @Test
    void unlabelledDataHasNoTopLabel() {
        Random r = new Random(6);
        Gridder.Grid g = Gridder.fit(layout(r), activations(r), DIM, null, 0, new Gridder.Options(3, 0), null);
        for (Gridder.Cell c : g.cells()) {
            assertEquals(-1, c.topLabel());
            assertEquals(0.0, c.purity());
        }
    }

    @Test
    void optionsRejectNonsense() {
        var e = assertThrows(IllegalArgumentException.class, () -> new Gridder.Options(0, 1));
        assertTrue(e.getMessage().contains("grid size"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new Gridder.Options(-3, 1));
        var t = assertThrows(IllegalArgumentException.class, () -> new Gridder.Options(5, -1));
        assertTrue(t.getMessage().contains("threshold"), t.getMessage());
    }

    @Test
    void runWritesCellsAndVectors(@TempDir Path dir) {
        Random r = new Random(7);
        float[] xy = layout(r);
        float[] acts = activations(r);
        float[][] means = new float[1][];
        Gridder.Grid expected = Gridder.fit(xy, acts, DIM, labels(), 4, new Gridder.Options(3, 1), means);
        Gridder.Grid g = Gridder.run(xy, acts, DIM, labels(), 4, new Gridder.Options(3, 1), dir);

        Npy.NpyArray v = Npy.read(dir.resolve(Gridder.CELL_VECTORS));
        assertArrayEquals(new int[] {3, DIM}, v.shape());
        assertArrayEquals(means[0], v.data());

        Gridder.Grid back = Gridder.Grid.read(dir);
        assertEquals(g.cells().size(), back.cells().size());
        assertEquals(expected.keptSamples(), back.keptSamples());
        assertEquals(expected.droppedCells(), back.droppedCells());
        for (int i = 0; i < back.cells().size(); i++) {
            Gridder.Cell a = expected.cells().get(i);
            Gridder.Cell b = back.cells().get(i);
            assertEquals(a.row(), b.row());
            assertEquals(a.col(), b.col());
            assertEquals(a.count(), b.count());
            assertEquals(a.topLabel(), b.topLabel());
            assertEquals(a.purity(), b.purity(), 1e-12);
            assertArrayEquals(a.members(), b.members());
            assertArrayEquals(a.labelHistogram(), b.labelHistogram());
        }
    }

    @Test
    void runWithEveryCellBelowThresholdSaysWhatToDo(@TempDir Path dir) {
        Random r = new Random(8);
        var e = assertThrows(IllegalArgumentException.class,
                () -> Gridder.run(layout(r), activations(r), DIM, labels(), 4, new Gridder.Options(3, 4), dir));
        String m = e.getMessage();
        assertTrue(m.contains("4") && m.contains("--threshold") && m.contains("--grid"), m);
        assertFalse(Files.exists(dir.resolve(Gridder.CELLS)), "no cells.json for a failed grid");
    }
}
