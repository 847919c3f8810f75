package org.atlas4j.render;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;

import org.atlas4j.model.NetGraph;
import org.atlas4j.model.SameDiffConverter;
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
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/**
 * The whole render chain — Fourier coefficients → inverse FFT → colour mixing → sigmoid → random affine
 * resampling → network → objective — differentiated by hand in {@code Renderer.BatchState.gradient}, checked against
 * central finite differences on the coefficients (greyscale and RGB models; rotation and scale switched on).
 */
@org.atlas4j.UnitTest
class RenderChainGradientTest {

    static MultiLayerNetwork net(int channels) {
        var b = new NeuralNetConfiguration.Builder().seed(3 + channels).weightInit(WeightInit.XAVIER).list();
        b.layer(new ConvolutionLayer.Builder(3, 3).nOut(6).convolutionMode(ConvolutionMode.Same)
                .activation(Activation.TANH).name("c1").build());
        b.layer(new ConvolutionLayer.Builder(3, 3).nOut(4).convolutionMode(ConvolutionMode.Same)
                .activation(Activation.IDENTITY).name("c2").build());
        b.layer(new ActivationLayer.Builder().activation(Activation.SOFTPLUS).name("act").build());
        b.layer(new GlobalPoolingLayer.Builder(PoolingType.AVG).build());
        b.layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(2).activation(Activation.SOFTMAX).build());
        b.setInputType(InputType.convolutional(8, 8, channels));
        MultiLayerNetwork n = new MultiLayerNetwork(b.build());
        n.init();
        return n;
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 3})
    void coefficientGradientMatchesFiniteDifferences(int channels) {
        // float64 graph so that finite differences of the network part are exact to ~1e-9
        NetGraph g = SameDiffConverter.convert(net(channels), new int[] {channels, 8, 8}, DataType.DOUBLE);
        DirectionObjective obj = new DirectionObjective(g, "act", 4);
        int b = 2;
        Random rng = new Random(11);
        FourierImage f = new FourierImage(8, 8);
        Renderer.BatchState st = new Renderer.BatchState(f, b, channels, 8, 8, new Random[] {new Random(12), new Random(13)});
        for (int i = 0; i < st.coeffs.length; i++) st.coeffs[i] = (float) (rng.nextGaussian() * 0.5); // away from grey
        INDArray dirs = Nd4j.rand(DataType.FLOAT, b, 4).addi(0.1);
        INDArray dirsRaw = Nd4j.rand(DataType.FLOAT, b, 4).addi(0.1);
        INDArray mask = DirectionObjective.centreMask(8, 8, DataType.FLOAT);
        RandomAffine.Affine[] aff = new RandomAffine.Affine[b];
        RandomAffine.Options to = new RandomAffine.Options(1, 0.9, 1.1, 15, 1, 0.5f);
        for (int i = 0; i < b; i++) aff[i] = RandomAffine.sample(to, rng);

        Renderer.Objective objective = Renderer.sameDiffObjective(obj, b, new int[] {channels, 8, 8}, dirs.data().asFloat(),
                dirsRaw.data().asFloat(), mask);
        float[] grad = st.gradient(objective, aff, 0.5f);
        double gmax = 0;
        for (float v : grad) gmax = Math.max(gmax, Math.abs(v));
        // float32 pixels: errors are judged against 1% of the largest gradient component, not against tiny ones
        double floor = 0.01 * gmax;
        double eps = 1e-2;
        double worst = 0;
        int checked = 0;
        for (int t = 0; t < 12; t++) {
            int i = rng.nextInt(st.coeffs.length);
            float orig = st.coeffs[i];
            st.coeffs[i] = (float) (orig + eps);
            double plus = java.util.Arrays.stream(objective.values(st.transformedInput(aff, 0.5f))).sum();
            st.coeffs[i] = (float) (orig - eps);
            double minus = java.util.Arrays.stream(objective.values(st.transformedInput(aff, 0.5f))).sum();
            st.coeffs[i] = orig;
            double fd = (plus - minus) / (2 * eps);
            double scale = Math.max(Math.abs(fd) + Math.abs(grad[i]), floor);
            checked++;
            worst = Math.max(worst, Math.abs(fd - grad[i]) / scale);
        }
        assertTrue(checked >= 6, "too few coefficients with a measurable gradient: " + checked);
        assertTrue(worst < 2e-2, "render-chain gradient differs from finite differences, max relative error " + worst);
    }
}
