package org.atlas4j.collect;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Map;

import org.atlas4j.TinyNets;
import org.atlas4j.io.Npy;
import org.atlas4j.model.NetGraph;
import org.atlas4j.render.NativeGraphRenderTest;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Collect on a network that is not a chain and cannot be cut after the layer (a ComputationGraph): one native graph
 * to the output gives the layer's map and the probabilities, equal to SameDiff's, and the collected activations are
 * the map's values at the recorded positions.
 */
@org.atlas4j.UnitTest
class NativeGraphCollectTest {
    @BeforeAll
    static void quiet() {
        org.atlas4j.util.Progress.setQuiet(true);
    }

    @Test
    void branchyGraphCollectsThroughTheNativeGraph(@TempDir Path dir) throws Exception {
        NetGraph graph = NativeGraphRenderTest.branchy();
        String layer = "merge";
        String var = graph.layer(layer).variable();
        int n = 11;
        TinyNets.RandomImages data = new TinyNets.RandomImages(n, 3, 12, 12, 7, 0);
        Collector.NativeForward fast = Collector.NativeForward.of(graph, layer, data);
        assertNotNull(fast, "the native graph should cover this network");
        float[] input = data.batch(0, 4);
        Map<String, INDArray> got = fast.forward(input, 4, var, graph.output());
        INDArray x = Nd4j.create(input, new long[] {4, 3, 12, 12}, 'c');
        Map<String, INDArray> want = graph.forward(x, var, graph.output());
        for (String v : new String[] {var, graph.output()}) {
            double err = want.get(v).sub(got.get(v).dup()).amaxNumber().doubleValue();
            assertTrue(err < 1e-5 * (1 + want.get(v).amaxNumber().doubleValue()), v + ": " + err);
        }
        Collector.Result r = Collector.run(graph, data, new Collector.Options(layer, 4, 3, false), dir);
        assertEquals(n, r.count());
        float[] a = Npy.read(dir.resolve(Collector.ACTIVATIONS)).data();
        INDArray all = graph.forward(Nd4j.create(data.batch(0, n), new long[] {n, 3, 12, 12}, 'c'), var).get(var);
        int d = (int) all.size(1);
        for (int i = 0; i < n; i++) {
            int[] pos = Collector.position(3, i, (int) all.size(2), (int) all.size(3), false);
            for (int c = 0; c < d; c++) assertEquals(all.getDouble(i, c, pos[0], pos[1]), a[i * d + c], 1e-5, "image " + i + " channel " + c);
        }
    }

    @Test
    void severalLayersCollectInOneNativePassAsEachAlone(@TempDir Path dir) throws Exception {
        NetGraph graph = NativeGraphRenderTest.branchy();
        java.util.List<String> layers = java.util.List.of("res", "merge");
        java.util.List<String> vars = layers.stream().map(l -> graph.layer(l).variable()).toList();
        TinyNets.RandomImages data = new TinyNets.RandomImages(9, 3, 12, 12, 7, 0);
        assertNotNull(Collector.NativeForward.ofVariables(graph, vars, data), "the native graph should keep both layers");
        java.util.List<Path> dirs = java.util.List.of(dir.resolve("both-res"), dir.resolve("both-merge"));
        Collector.runLayers(graph, data, new Collector.Options(layers.get(0), 4, 3, false), layers, dirs);
        for (int k = 0; k < layers.size(); k++) {
            Path alone = dir.resolve("alone-" + layers.get(k));
            Collector.run(graph, data, new Collector.Options(layers.get(k), 4, 3, false), alone);
            float[] want = Npy.read(alone.resolve(Collector.ACTIVATIONS)).data();
            float[] got = Npy.read(dirs.get(k).resolve(Collector.ACTIVATIONS)).data();
            assertEquals(want.length, got.length);
            for (int i = 0; i < want.length; i++) assertEquals(want[i], got[i], 1e-5, layers.get(k) + " value " + i);
        }
    }
}
