package org.atlas4j.collect;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;

import org.atlas4j.TinyNets;
import org.atlas4j.io.Npy;
import org.atlas4j.model.NetGraph;
import org.atlas4j.model.SameDiffConverter;
import org.atlas4j.util.Progress;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/** Per-sample linear attribution a · ∂logit_c/∂a, against its exact value on a GAP + dense head. */
@org.atlas4j.UnitTest
class AttributionTest {
    @BeforeAll
    static void quiet() {
        Progress.setQuiet(true);
    }

    @Test
    void attributionEqualsTheExactValueOnAGapDenseHead(@TempDir Path dir) throws Exception {
        MultiLayerNetwork net = TinyNets.cnn(8, DataType.FLOAT);
        NetGraph g = SameDiffConverter.convert(net, new int[] {1, 9, 9});
        var data = new TinyNets.RandomImages(23, 1, 9, 9, 4, 0);
        var r = Collector.run(g, data, new Collector.Options("r2", 10, 3, true, true), dir);
        // the gradients ran on the native graph (23 images in passes of 10: the last pass is short)
        assertTrue(r.engine().contains("native"), r.engine());
        Npy.NpyArray acts = Npy.read(dir.resolve(Collector.ACTIVATIONS));
        Npy.NpyArray attr = Npy.read(dir.resolve(Collector.ATTRIBUTION));
        assertArrayEquals(new int[] {23, TinyNets.CLASSES}, attr.shape());
        // r2 (5 channels, 9×9) → global average pooling → dense: ∂logit_c/∂a(y,x) = W[:,c] / 81 at every position
        INDArray w = net.getLayer(6).getParam("W");
        int d = r.dim();
        double maxErr = 0;
        double maxAbs = 0;
        for (int i = 0; i < 23; i++) {
            for (int c = 0; c < TinyNets.CLASSES; c++) {
                double exact = 0;
                for (int ch = 0; ch < d; ch++) exact += acts.data()[i * d + ch] * w.getDouble(ch, c) / 81.0;
                maxErr = Math.max(maxErr, Math.abs(exact - attr.data()[i * TinyNets.CLASSES + c]));
                maxAbs = Math.max(maxAbs, Math.abs(exact));
            }
        }
        assertTrue(maxAbs > 1e-4, "degenerate test: all attributions are ~0");
        assertTrue(maxErr < 1e-5 * Math.max(1, maxAbs), "attribution differs from the exact value by " + maxErr);
    }

    @Test
    void attributionIsOptInAndLeavesActivationsUnchanged(@TempDir Path dir) throws Exception {
        MultiLayerNetwork net = TinyNets.cnn(8, DataType.FLOAT);
        NetGraph g = SameDiffConverter.convert(net, new int[] {1, 9, 9});
        var data = new TinyNets.RandomImages(12, 1, 9, 9, 4, 0);
        Collector.run(g, data, new Collector.Options("r2", 5, 3, true), dir.resolve("plain"));
        Collector.run(g, data, new Collector.Options("r2", 5, 3, true, true), dir.resolve("attr"));
        assertTrue(!java.nio.file.Files.exists(dir.resolve("plain").resolve(Collector.ATTRIBUTION)));
        assertArrayEquals(Npy.read(dir.resolve("plain").resolve(Collector.ACTIVATIONS)).data(),
                Npy.read(dir.resolve("attr").resolve(Collector.ACTIVATIONS)).data());
        assertEquals(12, Npy.read(dir.resolve("attr").resolve(Collector.ATTRIBUTION)).rows());
    }

    @Test
    void attributionNeedsClassScores(@TempDir Path dir) {
        // a network without an output layer has no logits
        var b = new org.deeplearning4j.nn.conf.NeuralNetConfiguration.Builder().list()
                .layer(new org.deeplearning4j.nn.conf.layers.ConvolutionLayer.Builder(3, 3).nOut(2)
                        .convolutionMode(org.deeplearning4j.nn.conf.ConvolutionMode.Same).name("c").build())
                .setInputType(org.deeplearning4j.nn.conf.inputs.InputType.convolutional(9, 9, 1)).build();
        MultiLayerNetwork net = new MultiLayerNetwork(b);
        net.init();
        NetGraph g = SameDiffConverter.convert(net, new int[] {1, 9, 9});
        var data = new TinyNets.RandomImages(4, 1, 9, 9, 4, 0);
        var e = assertThrows(org.atlas4j.util.UserError.class,
                () -> Collector.run(g, data, new Collector.Options("c", 4, 3, true, true), dir));
        assertTrue(e.getMessage().contains("class scores"), e.getMessage());
    }
}
