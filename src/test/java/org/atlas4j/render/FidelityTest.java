package org.atlas4j.render;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.atlas4j.model.NetGraph;
import org.atlas4j.model.SameDiffConverter;
import org.atlas4j.util.Progress;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/** A small end-to-end render on a fixed tiny model, scored by feeding the saved icons back through it. */
@org.atlas4j.UnitTest
class FidelityTest {
    private static final String LAYER = "r";
    private static final int C = 5;

    @BeforeAll
    static void quiet() {
        Progress.setQuiet(true);
    }

    @Test
    void renderedIconsPointAtTheirOwnCells(@TempDir Path dir) throws Exception {
        NetGraph g = SameDiffConverter.convert(edgeNet(), new int[] {1, 9, 9});
        // five distinct cell directions: each dominated by one channel of the layer
        int cells = C;
        float[] vectors = new float[cells * C];
        for (int k = 0; k < cells; k++) {
            for (int c = 0; c < C; c++) vectors[k * C + c] = c == k ? 1f : 0.1f;
        }
        float[] moment = new float[C * C];
        for (int c = 0; c < C; c++) moment[c * C + c] = 1f; // identity second moment: whitening is a no-op
        var o = new Renderer.Options(LAYER, 160, 0.05, 8, 0, 4, true, true, 3);
        Renderer.Result res = Renderer.run(g, vectors, cells, moment, o, dir);

        List<Path> tiles = new ArrayList<>();
        for (var r : res.results()) tiles.add(dir.resolve(r.tile()));
        int[][] members = new int[cells][];
        for (int k = 0; k < cells; k++) members[k] = new int[] {k};
        // the "real samples" are the cell vectors themselves
        Fidelity.Result f = Fidelity.measure(g, LAYER, tiles, vectors, cells, moment, o, vectors, members);

        assertEquals(cells, f.icons());
        assertTrue(f.top1() >= 0.8, "top-1 fidelity " + f.top1() + " below 0.8: " + f.scores());
        assertEquals(1.0, f.top5(), 1e-12, "with 5 cells every icon is in its own top 5");
        for (int k = 0; k < cells; k++) {
            // the score recomputes the render objective from the saved 8-bit tile: it must agree with the renderer
            double rendered = res.results().get(k).finalObjective();
            double rescored = f.scores().get(k).objective();
            assertEquals(rendered, rescored, 0.05 * Math.abs(rendered) + 1e-3, "cell " + k);
        }
    }

    /**
     * A fixed tiny model whose five channels are distinct, reachable detectors: horizontal, vertical and the two
     * diagonal edges, and a centre spot (3×3 filters, zero mean), then ReLU, global average pooling, softmax.
     */
    static MultiLayerNetwork edgeNet() {
        var b = new NeuralNetConfiguration.Builder().seed(1).weightInit(WeightInit.XAVIER).list();
        b.layer(new ConvolutionLayer.Builder(3, 3).nOut(C).convolutionMode(ConvolutionMode.Same)
                .activation(Activation.IDENTITY).name("c").build());
        b.layer(new ActivationLayer.Builder().activation(Activation.RELU).name("r").build());
        b.layer(new GlobalPoolingLayer.Builder(PoolingType.AVG).name("gap").build());
        b.layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(3).activation(Activation.SOFTMAX).build());
        b.setInputType(InputType.convolutional(9, 9, 1));
        MultiLayerNetwork net = new MultiLayerNetwork(b.build());
        net.init();
        float[][] filters = {
            {1, 1, 1, 0, 0, 0, -1, -1, -1},
            {1, 0, -1, 1, 0, -1, 1, 0, -1},
            {0, 1, 1, -1, 0, 1, -1, -1, 0},
            {1, 1, 0, 1, 0, -1, 0, -1, -1},
            {-1, -1, -1, -1, 8, -1, -1, -1, -1},
        };
        INDArray w = Nd4j.create(DataType.FLOAT, C, 1, 3, 3);
        for (int k = 0; k < C; k++) {
            for (int i = 0; i < 9; i++) w.putScalar(new long[] {k, 0, i / 3, i % 3}, filters[k][i] / 3.0);
        }
        net.getLayer(0).setParam("W", w);
        net.getLayer(0).setParam("b", Nd4j.zeros(DataType.FLOAT, 1, C));
        return net;
    }

    @Test
    void objectiveFormula() {
        float[] a = {3, 4};
        float[] w = {1, 0};
        float[] v = {0.6f, 0.8f};
        // dot(a,w)=3, cos(a,v)=(1.8+3.2)/(5+1e-4)
        double expected = 3 * Math.pow(5.0 / 5.0001, 4);
        assertEquals(expected, Fidelity.objective(a, 0, w, v, 0, 2, 4), 1e-6);
        float[] neg = {-3, -4};
        assertEquals(-3 * Math.pow(0.1, 4), Fidelity.objective(neg, 0, w, v, 0, 2, 4), 1e-12, "cosine floored at 0.1");
    }
}
