package org.atlas4j.collect;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import org.atlas4j.TinyNets;
import org.atlas4j.io.Npy;
import org.atlas4j.model.NetGraph;
import org.atlas4j.model.SameDiffConverter;
import org.atlas4j.util.Progress;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Stage 1: the sampled positions, and that the streamed activations/moment/metadata equal DL4J's own numbers. */
@org.atlas4j.UnitTest
class CollectorTest {

    @BeforeAll
    static void quiet() {
        Progress.setQuiet(true);
    }

    // ---- position ----

    @Test
    void positionIsAPureFunctionOfSeedAndIndex() {
        for (int i = 0; i < 200; i++) {
            int[] a = Collector.position(42, i, 7, 9, true);
            int[] b = Collector.position(42, i, 7, 9, true);
            assertArrayEquals(a, b, "image " + i);
        }
        // not the same sequence for every seed or index (it is random, not constant)
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < 50; i++) seen.add(pos(Collector.position(42, i, 7, 9, true)));
        assertTrue(seen.size() > 10, "positions barely vary over images: " + seen);
        int differ = 0;
        for (int i = 0; i < 50; i++) {
            if (!pos(Collector.position(42, i, 7, 9, true)).equals(pos(Collector.position(43, i, 7, 9, true)))) differ++;
        }
        assertTrue(differ > 25, "another seed gives nearly the same positions (" + differ + " of 50 differ)");
    }

    @ParameterizedTest
    @CsvSource({"7,7", "7,9", "3,3", "4,11", "28,28"})
    void excludingEdgesStaysInsideAndCoversEveryInteriorPosition(int h, int w) {
        Set<String> seen = new HashSet<>();
        int n = 40 * h * w;
        for (int i = 0; i < n; i++) {
            int[] p = Collector.position(7, i, h, w, true);
            assertTrue(p[0] >= 1 && p[0] <= h - 2 && p[1] >= 1 && p[1] <= w - 2,
                    "position " + pos(p) + " of image " + i + " touches the border of a " + h + "×" + w + " map");
            seen.add(pos(p));
        }
        assertEquals((h - 2) * (w - 2), seen.size(), "not every interior position is sampled");
    }

    @ParameterizedTest
    @CsvSource({"7,7", "1,5", "2,2", "5,1"})
    void withoutEdgeExclusionEveryPositionIsReachable(int h, int w) {
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < 40 * h * w; i++) {
            int[] p = Collector.position(3, i, h, w, false);
            assertTrue(p[0] >= 0 && p[0] < h && p[1] >= 0 && p[1] < w, pos(p) + " outside " + h + "×" + w);
            seen.add(pos(p));
        }
        assertEquals(h * w, seen.size());
    }

    @Test
    void smallMapsKeepTheirEdgesWhenThereIsNoInterior() {
        // h < 3: there is no interior row, so the rows are not restricted; the columns still are
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < 400; i++) {
            int[] p = Collector.position(11, i, 2, 6, true);
            assertTrue(p[0] >= 0 && p[0] < 2, pos(p));
            assertTrue(p[1] >= 1 && p[1] <= 4, pos(p));
            seen.add(pos(p));
        }
        assertEquals(2 * 4, seen.size());
        for (int i = 0; i < 50; i++) {
            assertArrayEquals(new int[] {0, 0}, Collector.position(11, i, 1, 1, true));
            int[] p = Collector.position(11, i, 1, 8, true);
            assertEquals(0, p[0]);
            assertTrue(p[1] >= 1 && p[1] <= 6, pos(p));
        }
    }

    private static String pos(int[] p) {
        return p[0] + "," + p[1];
    }

    // ---- run ----

    @ParameterizedTest
    @CsvSource({"r1, 2, true", "bn1, 1, false", "r2, 4, true"})
    void runMatchesDl4jActivationsAtTheRecordedPositions(String layer, int layerIndex, boolean excludeEdges,
            @TempDir Path dir) throws Exception {
        MultiLayerNetwork net = TinyNets.cnn(5, DataType.FLOAT);
        NetGraph graph = SameDiffConverter.convert(net, new int[] {1, 9, 9});
        int n = 37; // batch 16: two full batches and a partial one of 5
        TinyNets.RandomImages data = new TinyNets.RandomImages(n, 1, 9, 9, 99, 10);
        long seed = 1234;
        // this net is a plain chain: collect runs the native op chain + SameDiff head, checked here against DL4J
        assertNotNull(Collector.NativeForward.of(graph, layer, data), "native forward not used for " + layer);
        // after r2 the rest is GAP → dense → softmax, computed in Java; after r1/bn1 a SameDiff tail runs
        assertEquals(layer.equals("r2"), Collector.GapDenseHead.of(graph.tailAfter(layer)) != null, "GAP + dense head for " + layer);
        Collector.Result r = Collector.run(graph, data, new Collector.Options(layer, 16, seed, excludeEdges), dir);

        assertEquals(n, r.count());
        int d = layer.equals("r2") ? 5 : 4;
        assertEquals(d, r.dim());
        assertEquals(9, r.mapHeight());
        assertEquals(9, r.mapWidth());
        assertEquals(layer, r.layer());

        Npy.NpyArray acts = Npy.read(dir.resolve(Collector.ACTIVATIONS));
        assertArrayEquals(new int[] {n, d}, acts.shape());
        float[] a = acts.data();

        List<String> lines = Files.readAllLines(dir.resolve(Collector.SAMPLES));
        assertEquals("index,label,predicted,probability,y,x", lines.get(0));
        assertEquals(n + 1, lines.size(), "samples.csv must have one row per image");
        assertFalse(Files.exists(dir.resolve("." + Collector.SAMPLES + ".tmp")), "temporary csv left behind");

        INDArray x = Nd4j.create(data.batch(0, n), new long[] {n, 1, 9, 9}, 'c');
        INDArray expected = net.feedForwardToLayer(layerIndex, x, false).get(layerIndex + 1).dup();
        INDArray probs = net.output(x, false);
        int correct = 0;
        int labelled = 0;
        int nonZero = 0;
        for (int i = 0; i < n; i++) {
            String[] f = lines.get(i + 1).split(",");
            assertEquals(i, Integer.parseInt(f[0]));
            int label = Integer.parseInt(f[1]);
            assertEquals(data.label(i), label, "label of image " + i);
            int predicted = Integer.parseInt(f[2]);
            assertEquals(probs.getRow(i).argMax().getInt(0), predicted, "predicted class of image " + i);
            assertEquals(probs.getDouble(i, predicted), Double.parseDouble(f[3]), 1e-4, "probability of image " + i);
            int y = Integer.parseInt(f[4]);
            int xx = Integer.parseInt(f[5]);
            assertArrayEquals(Collector.position(seed, i, 9, 9, excludeEdges), new int[] {y, xx}, "position of image " + i);
            for (int c = 0; c < d; c++) {
                double e = expected.getDouble(i, c, y, xx);
                assertEquals(e, a[i * d + c], 1e-5, "activation of image " + i + " channel " + c + " at (" + y + "," + xx + ")");
                if (e != 0) nonZero++;
            }
            if (label >= 0) {
                labelled++;
                if (label == predicted) correct++;
            }
        }
        assertTrue(nonZero > n, "the activations are almost all zero: the comparison would be vacuous");
        assertEquals(correct / (double) labelled, r.accuracy(), 1e-12);

        // second moment AᵀA/N, computed directly
        Npy.NpyArray m = Npy.read(dir.resolve(Collector.SECOND_MOMENT));
        assertArrayEquals(new int[] {d, d}, m.shape());
        for (int i = 0; i < d; i++) {
            for (int j = 0; j < d; j++) {
                double s = 0;
                for (int k = 0; k < n; k++) s += (double) a[k * d + i] * a[k * d + j];
                s /= n;
                assertEquals(s, m.data()[i * d + j], 1e-5 * Math.max(1, Math.abs(s)), "second moment [" + i + "," + j + "]");
            }
        }

        Collector.Result back = Collector.Result.read(dir);
        assertEquals(r.count(), back.count());
        assertEquals(r.seed(), back.seed());
        assertEquals(excludeEdges, back.excludeEdges());
    }

    @Test
    void batchSizeDoesNotChangeTheResult(@TempDir Path dir) throws Exception {
        MultiLayerNetwork net = TinyNets.cnn(8, DataType.FLOAT);
        NetGraph graph = SameDiffConverter.convert(net, new int[] {1, 9, 9});
        TinyNets.RandomImages data = new TinyNets.RandomImages(23, 1, 9, 9, 5, 0);
        Collector.run(graph, data, new Collector.Options("r2", 23, 9, true), dir.resolve("one"));
        Collector.run(graph, data, new Collector.Options("r2", 4, 9, true), dir.resolve("many"));
        float[] one = Npy.read(dir.resolve("one").resolve(Collector.ACTIVATIONS)).data();
        float[] many = Npy.read(dir.resolve("many").resolve(Collector.ACTIVATIONS)).data();
        assertArrayEquals(one, many, 1e-5f);
        assertEquals(Files.readAllLines(dir.resolve("one").resolve(Collector.SAMPLES)).stream().map(CollectorTest::positionColumns).toList(),
                Files.readAllLines(dir.resolve("many").resolve(Collector.SAMPLES)).stream().map(CollectorTest::positionColumns).toList());
    }

    @Test
    void unlabelledDataHasNoAccuracyAndStillRoundTrips(@TempDir Path dir) throws Exception {
        NetGraph graph = SameDiffConverter.convert(TinyNets.cnn(9, DataType.FLOAT), new int[] {1, 9, 9});
        TinyNets.RandomImages data = new TinyNets.RandomImages(5, 1, 9, 9, 2, 1); // every image unlabelled
        Collector.Result r = Collector.run(graph, data, new Collector.Options("r1", 2, 1, true), dir);
        assertTrue(Double.isNaN(r.accuracy()));
        assertTrue(Double.isNaN(Collector.Result.read(dir).accuracy()), "NaN accuracy must survive collect.json");
        for (String line : Files.readAllLines(dir.resolve(Collector.SAMPLES)).subList(1, 6)) {
            assertEquals("-1", line.split(",")[1]);
        }
    }

    @Test
    void unknownOrNonSpatialLayersAreRejected(@TempDir Path dir) {
        NetGraph graph = SameDiffConverter.convert(TinyNets.cnn(9, DataType.FLOAT), new int[] {1, 9, 9});
        TinyNets.RandomImages data = new TinyNets.RandomImages(3, 1, 9, 9, 2, 0);
        var unknown = org.junit.jupiter.api.Assertions.assertThrows(NetGraph.UnknownLayerException.class,
                () -> Collector.run(graph, data, new Collector.Options("nope", 2, 1, true), dir));
        assertTrue(unknown.getMessage().contains("r1"), unknown.getMessage());
        var flat = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> Collector.run(graph, data, new Collector.Options("gap", 2, 1, true), dir));
        assertTrue(flat.getMessage().contains("no spatial"), flat.getMessage());
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> new Collector.Options("r1", 0, 1, true));
    }

    private static String positionColumns(String line) {
        String[] f = line.split(",");
        return f[0] + "," + f[1] + "," + f[2] + "," + f[4] + "," + f[5];
    }
}
