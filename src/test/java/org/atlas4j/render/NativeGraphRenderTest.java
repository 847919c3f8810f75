package org.atlas4j.render;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;

import org.atlas4j.model.NetGraph;
import org.atlas4j.model.SameDiffConverter;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.graph.MergeVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DepthwiseConvolution2D;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.weights.WeightInit;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/**
 * A network that is not a chain (residual add, concatenation, strided depthwise convolution): render's engine choice
 * falls to the native op graph, whose objective values and input gradients equal the SameDiff objective's.
 */
@org.atlas4j.UnitTest
public class NativeGraphRenderTest {
    public static NetGraph branchy() {
        var b = new NeuralNetConfiguration.Builder().seed(4).weightInit(WeightInit.XAVIER).dataType(DataType.FLOAT)
                .convolutionMode(ConvolutionMode.Same).graphBuilder().addInputs("in").setInputTypes(InputType.convolutional(12, 12, 3));
        b.addLayer("c1", new ConvolutionLayer.Builder(3, 3).nOut(6).activation(Activation.RELU6).build(), "in");
        b.addLayer("dw", new DepthwiseConvolution2D.Builder(3, 3).depthMultiplier(1).nOut(6).activation(Activation.RELU).build(), "c1");
        b.addVertex("res", new ElementWiseVertex(ElementWiseVertex.Op.Add), "dw", "c1");
        b.addLayer("a", new ConvolutionLayer.Builder(3, 3).stride(2, 2).nOut(4).activation(Activation.RELU).build(), "res");
        b.addLayer("b", new DepthwiseConvolution2D.Builder(3, 3).stride(2, 2).depthMultiplier(1).nOut(6).activation(Activation.TANH).build(), "res");
        b.addVertex("merge", new MergeVertex(), "a", "b");
        b.addLayer("gap", new GlobalPoolingLayer.Builder(PoolingType.AVG).build(), "merge");
        b.addLayer("out", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(3).activation(Activation.SOFTMAX).build(), "gap");
        b.setOutputs("out");
        ComputationGraph g = new ComputationGraph(b.build());
        g.init();
        return SameDiffConverter.convert(g, new int[] {3, 12, 12}, DataType.FLOAT);
    }

    @Test
    void renderUsesTheNativeGraphWhenTheNetworkIsNotAChainAndMatchesSameDiff() {
        NetGraph g = branchy();
        String layer = "merge";
        String v = g.layer(layer).variable();
        long[] map = g.forward(Nd4j.zeros(DataType.FLOAT, 1, 3, 12, 12), v).get(v).shape();
        var o = new Renderer.Options(layer, 1, 0.05, 3, 0, 4, true, true, 1);
        Renderer.Engine e = Renderer.Engine.choose(g, o, 3, 12, 12, map);
        assertNull(e.chain(), "a branchy network is not a chain");
        assertNotNull(e.dag(), "the native graph covers it");
        // the merge's centre reads 7×7 of the 12×12 input: the receptive-field crop, still equal to SameDiff below
        assertEquals("native op graph, receptive field 7×7", e.describe());
        int b = 3, d = (int) map[1];
        Random r = new Random(5);
        float[] x = new float[b * 3 * 12 * 12];
        for (int i = 0; i < x.length; i++) x[i] = r.nextFloat();
        float[] wh = new float[b * d];
        float[] raw = new float[b * d];
        for (int i = 0; i < wh.length; i++) {
            raw[i] = (float) Math.abs(r.nextGaussian()) + 0.05f;
            wh[i] = (float) r.nextGaussian();
        }
        INDArray mask = DirectionObjective.centreMask((int) map[2], (int) map[3], DataType.FLOAT);
        Renderer.Objective fast = e.objective(b, wh, raw, mask);
        Renderer.Objective ref = Renderer.sameDiffObjective(new DirectionObjective(g, layer, 4), b, new int[] {3, 12, 12}, wh, raw, mask);
        double[] fv = fast.values(x);
        double[] rv = ref.values(x);
        float[] fg = new float[x.length];
        float[] rg = new float[x.length];
        fast.gradient(x, fg);
        ref.gradient(x, rg);
        double vScale = 0, vErr = 0, gScale = 0, gErr = 0;
        for (int i = 0; i < b; i++) {
            vScale = Math.max(vScale, Math.abs(rv[i]));
            vErr = Math.max(vErr, Math.abs(rv[i] - fv[i]));
        }
        for (int i = 0; i < x.length; i++) {
            gScale = Math.max(gScale, Math.abs(rg[i]));
            gErr = Math.max(gErr, Math.abs(rg[i] - fg[i]));
        }
        assertTrue(vScale > 0 && gScale > 0, "degenerate reference");
        assertTrue(vErr < 1e-5 * vScale, "value error " + vErr + " of " + vScale);
        assertTrue(gErr < 1e-4 * gScale, "gradient error " + gErr + " of " + gScale);

        // icons in chunks of 2 (a memory budget smaller than the batch): the same values and gradients
        long perIcon = e.dag().session(1).bufferBytes();
        Renderer.Objective chunked = e.dagObjective(b, wh, raw, 2 * perIcon + 1);
        float[] cg = new float[x.length];
        double[] cv = chunked.values(x);
        chunked.gradient(x, cg);
        for (int i = 0; i < b; i++) assertEquals(fv[i], cv[i], 1e-6 * vScale, "chunked value " + i);
        for (int i = 0; i < x.length; i++) assertEquals(fg[i], cg[i], 1e-6 * gScale, "chunked gradient " + i);
    }
}
