package org.atlas4j.render;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;

import javax.imageio.ImageIO;

import org.atlas4j.TinyNets;
import org.atlas4j.model.NetGraph;
import org.atlas4j.model.SameDiffConverter;
import org.atlas4j.util.Progress;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Stage 4: the direction objective's value and input gradient, whitening, and an end-to-end render. */
@org.atlas4j.UnitTest
class RenderGradientTest {
    static final String LAYER = "r2";
    static final int C = 5; // channels of r2

    @BeforeAll
    static void quiet() {
        Progress.setQuiet(true);
    }

    static INDArray input(long seed, int batch) {
        Random r = new Random(seed);
        double[] x = new double[batch * 81];
        for (int i = 0; i < x.length; i++) x[i] = r.nextDouble();
        return Nd4j.create(x, new long[] {batch, 1, 9, 9}, 'c');
    }

    @Test
    void objectiveValueMatchesItsFormulaAndGradientMatchesFiniteDifferences() {
        NetGraph g = SameDiffConverter.convert(TinyNets.cnn(21, DataType.DOUBLE), new int[] {1, 9, 9}, DataType.DOUBLE);
        DirectionObjective obj = new DirectionObjective(g, LAYER, 4);
        int b = 2;
        INDArray x = input(5, b);
        INDArray mask = DirectionObjective.centreMask(9, 9, DataType.DOUBLE);
        String var = g.layer(LAYER).variable();
        INDArray act = g.forward(x, var).get(var);

        // raw direction near the actual centre activation (so cos > 0.1 and its factor matters); whitened unrelated
        Random r = new Random(9);
        double[][] a = new double[b][C];
        double[] raw = new double[b * C];
        double[] wh = new double[b * C];
        for (int i = 0; i < b; i++) {
            for (int c = 0; c < C; c++) {
                a[i][c] = act.getDouble(i, c, 4, 4);
                raw[i * C + c] = a[i][c] + 0.3 * r.nextGaussian();
                wh[i * C + c] = r.nextGaussian();
            }
        }
        INDArray dirRaw = Nd4j.create(raw, new long[] {b, C}, 'c');
        INDArray dirWh = Nd4j.create(wh, new long[] {b, C}, 'c');

        // value = dot(a, v̂) · max(0.1, cos(a, v))^4 with |a| regularised by 1e-4
        INDArray values = obj.values(x, mask, dirWh, dirRaw);
        double cosSeen = 0;
        for (int i = 0; i < b; i++) {
            double dot = 0, dr = 0, na = 0;
            for (int c = 0; c < C; c++) {
                dot += a[i][c] * wh[i * C + c];
                dr += a[i][c] * raw[i * C + c];
                na += a[i][c] * a[i][c];
            }
            double cos = dr / (Math.sqrt(na) + 1e-4);
            cosSeen = Math.max(cosSeen, cos);
            double expected = dot * Math.pow(Math.max(0.1, cos), 4);
            assertEquals(expected, values.getDouble(i), 1e-9 * Math.max(1, Math.abs(expected)), "objective of sample " + i);
            assertTrue(na > 0, "dead centre activation: the test would be vacuous");
        }
        assertTrue(cosSeen > 0.1, "cos factor never active");

        INDArray grad = obj.inputGradient(x, mask, dirWh, dirRaw);
        assertEquals(x.length(), grad.length());
        double eps = 1e-6;
        double maxRel = 0;
        double maxAbsGrad = 0;
        Random pick = new Random(3);
        for (int t = 0; t < 30; t++) {
            long i = pick.nextInt((int) x.length());
            double orig = x.getDouble(i);
            x.putScalar(i, orig + eps);
            double fp = obj.values(x, mask, dirWh, dirRaw).sumNumber().doubleValue();
            x.putScalar(i, orig - eps);
            double fm = obj.values(x, mask, dirWh, dirRaw).sumNumber().doubleValue();
            x.putScalar(i, orig);
            double fd = (fp - fm) / (2 * eps);
            double an = grad.getDouble(i);
            maxAbsGrad = Math.max(maxAbsGrad, Math.abs(an));
            maxRel = Math.max(maxRel, Math.abs(fd - an) / Math.max(1e-3, Math.abs(fd) + Math.abs(an)));
        }
        assertTrue(maxAbsGrad > 1e-3, "gradient is ~0 everywhere sampled: the comparison would be vacuous");
        assertTrue(maxRel < 1e-4, "input gradient differs from finite differences, max relative error " + maxRel);
    }

    @Test
    void centreMaskIsOneHotAtTheCentre() {
        // whatever the mask's layout, in row-major order its single 1 sits at the centre (h/2, w/2) of the h×w map
        INDArray m = DirectionObjective.centreMask(7, 6, DataType.FLOAT);
        assertEquals(7 * 6, m.length());
        assertEquals(1.0, m.sumNumber().doubleValue(), 0);
        assertEquals(1.0, m.dup('c').reshape(7 * 6).getDouble(3 * 6 + 3), 0);
    }

    @Test
    void whiteningIsTheInverseOfAWellConditionedSecondMoment() {
        int d = 6;
        Random r = new Random(11);
        double[][] b = new double[40][d];
        for (double[] row : b) for (int j = 0; j < d; j++) row[j] = r.nextGaussian();
        float[] m = new float[d * d];
        double[][] md = new double[d][d];
        for (int i = 0; i < d; i++) {
            for (int j = 0; j < d; j++) {
                double s = 0;
                for (double[] row : b) s += row[i] * row[j];
                md[i][j] = s / b.length + (i == j ? 0.5 : 0);
                m[i * d + j] = (float) md[i][j];
            }
        }
        double[][] s = Renderer.whitening(m, d);
        for (int i = 0; i < d; i++) {
            for (int j = 0; j < d; j++) {
                double p = 0;
                for (int k = 0; k < d; k++) p += s[i][k] * md[k][j];
                assertEquals(i == j ? 1 : 0, p, 5e-3, "(S·M)[" + i + "][" + j + "]");
                assertEquals(s[i][j], s[j][i], 1e-9, "S must be symmetric");
            }
        }
    }

    @Test
    void whiteningStaysFiniteWithADeadChannel() {
        int d = 3;
        float[] m = {2, 0.5f, 0, 0.5f, 1, 0, 0, 0, 0}; // channel 2 never fires
        double[][] s = Renderer.whitening(m, d);
        for (double[] row : s) for (double v : row) assertTrue(Double.isFinite(v));
        assertTrue(s[2][2] > s[0][0], "the dead channel gets the largest (finite) weight");
    }

    /** 768 channels, 60 % never firing, 150 samples (rank ≤ 150): Commons Math's eigen-solver did not converge here. */
    @Test
    void whiteningOfAWideReluLayerWithManyDeadChannels() {
        int d = 768;
        int n = 150;
        Random r = new Random(8);
        float[] m = new float[d * d];
        float[] a = new float[d];
        for (int i = 0; i < n; i++) {
            for (int c = 0; c < d; c++) a[c] = c % 5 < 3 ? 0 : (float) Math.max(0, r.nextGaussian() * (1 + c % 7) - 0.8);
            for (int p = 0; p < d; p++) {
                if (a[p] == 0) continue;
                for (int q = 0; q < d; q++) m[p * d + q] += a[p] * a[q] / n;
            }
        }
        double[][] s = Renderer.whitening(m, d);
        for (int i = 0; i < d; i++) {
            for (int j = 0; j < d; j++) {
                assertTrue(Double.isFinite(s[i][j]), "S[" + i + "][" + j + "]");
                assertEquals(s[i][j], s[j][i], 1e-6 * Math.abs(s[i][i]) + 1e-9, "symmetric");
            }
        }
        // a dead channel is an eigenvector with eigenvalue 0: S gives it the largest weight 1/ε and no cross terms
        assertEquals(0, s[0][3], 1e-9 * s[0][0]);
        assertTrue(s[0][0] >= s[3][3], "dead channel weight " + s[0][0] + " vs live " + s[3][3]);
    }

    @Test
    void renderingRaisesTheObjectiveAndWritesOneTilePerCell(@TempDir Path dir) throws Exception {
        NetGraph g = SameDiffConverter.convert(TinyNets.cnn(33, DataType.FLOAT), new int[] {1, 9, 9});
        int cells = 5;
        Random r = new Random(4);
        // directions and second moment from the layer's actual activations on random images
        INDArray x = input(6, 64).castTo(DataType.FLOAT);
        String var = g.layer(LAYER).variable();
        INDArray act = g.forward(x, var).get(var);
        float[] vectors = new float[cells * C];
        for (int k = 0; k < cells; k++) {
            for (int c = 0; c < C; c++) vectors[k * C + c] = act.getFloat(k, c, 1 + r.nextInt(7), 1 + r.nextInt(7)) + 0.05f;
        }
        float[] moment = new float[C * C];
        int n = 0;
        for (int i = 0; i < 64; i++) {
            for (int y = 1; y < 8; y++) {
                for (int xx = 1; xx < 8; xx++) {
                    n++;
                    for (int p = 0; p < C; p++) {
                        for (int q = 0; q < C; q++) moment[p * C + q] += act.getFloat(i, p, y, xx) * act.getFloat(i, q, y, xx);
                    }
                }
            }
        }
        for (int i = 0; i < moment.length; i++) moment[i] /= n;

        // one partial batch (5 icons, batch size 8); each step costs a full SameDiff gradient call, so keep it short
        var o = new Renderer.Options(LAYER, 150, 0.05, 8, 0, 4, true, true, 1);
        Renderer.Result res = Renderer.run(g, vectors, cells, moment, o, dir);
        assertEquals(cells, res.cells());
        assertEquals(9, res.iconSize());
        assertEquals(cells, res.results().size());
        assertTrue(res.meanFinalObjective() > res.meanInitialObjective(),
                "objective did not rise: " + res.meanInitialObjective() + " → " + res.meanFinalObjective());
        assertTrue(res.improvedCells() >= cells - 1, res.improvedCells() + " of " + cells + " cells improved");

        try (var files = Files.list(dir.resolve(Renderer.TILES))) {
            List<Path> pngs = files.filter(p -> p.toString().endsWith(".png")).toList();
            assertEquals(cells, pngs.size(), "one tile per cell");
        }
        for (int k = 0; k < cells; k++) {
            Renderer.CellResult cr = res.results().get(k);
            assertEquals(k, cr.cell());
            BufferedImage img = ImageIO.read(dir.resolve(cr.tile()).toFile());
            assertNotNull(img, "unreadable tile " + cr.tile());
            assertEquals(9, img.getWidth());
            assertEquals(9, img.getHeight());
            int min = 255, max = 0;
            for (int yy = 0; yy < 9; yy++) {
                for (int xx = 0; xx < 9; xx++) {
                    int v = img.getRaster().getSample(xx, yy, 0);
                    min = Math.min(min, v);
                    max = Math.max(max, v);
                }
            }
            assertTrue(max - min > 10, "tile " + k + " is still flat grey after optimisation");
        }
        Renderer.Result back = Renderer.Result.read(dir);
        assertEquals(res.meanFinalObjective(), back.meanFinalObjective(), 1e-12);

        // a second run resumes every finished batch: same results, no new optimisation
        Renderer.Result again = Renderer.run(g, vectors, cells, moment, o, dir);
        for (int k = 0; k < cells; k++) {
            assertEquals(res.results().get(k).finalObjective(), again.results().get(k).finalObjective(), 0);
        }
    }
    @Test
    void iconsDoNotDependOnTheBatchTheyAreRenderedIn(@TempDir Path dir) throws Exception {
        // the batch is lowered to fit the memory budget, so the budget must not change what an icon becomes
        NetGraph g = SameDiffConverter.convert(TinyNets.cnn(33, DataType.FLOAT), new int[] {1, 9, 9});
        int cells = 5;
        Random r = new Random(8);
        float[] vectors = new float[cells * C];
        for (int i = 0; i < vectors.length; i++) vectors[i] = r.nextFloat() + 0.05f;
        Renderer.Result whole = Renderer.run(g, vectors, cells, null,
                new Renderer.Options(LAYER, 20, 0.05, 8, 0, 4, false, true, 1), dir.resolve("one-batch"));
        Renderer.Result split = Renderer.run(g, vectors, cells, null,
                new Renderer.Options(LAYER, 20, 0.05, 2, 0, 4, false, true, 1), dir.resolve("three-batches"));
        for (int k = 0; k < cells; k++) {
            assertEquals(whole.results().get(k).finalObjective(), split.results().get(k).finalObjective(), 1e-5, "cell " + k);
            BufferedImage a = ImageIO.read(dir.resolve("one-batch").resolve(whole.results().get(k).tile()).toFile());
            BufferedImage b = ImageIO.read(dir.resolve("three-batches").resolve(split.results().get(k).tile()).toFile());
            for (int y = 0; y < 9; y++) {
                for (int x = 0; x < 9; x++) {
                    assertTrue(Math.abs(a.getRaster().getSample(x, y, 0) - b.getRaster().getSample(x, y, 0)) <= 1,
                            "cell " + k + " pixel " + x + "," + y);
                }
            }
        }
    }

    @Test
    void theBatchShrinksToTheStateBudgetAtImageNetSizes() {
        long budget = 256L << 20;
        assertEquals(128, Renderer.iconsPerBatch(128, 1, 28, 28, budget), "the demo's icons keep the configured batch");
        int at299 = Renderer.iconsPerBatch(128, 3, 299, 299, budget);
        assertTrue(at299 >= 1 && at299 * Renderer.stateBytesPerIcon(3, 299, 299) <= budget, "299 px: " + at299);
        assertEquals(1, Renderer.iconsPerBatch(128, 3, 2048, 2048, budget), "never below one icon");
    }
}
