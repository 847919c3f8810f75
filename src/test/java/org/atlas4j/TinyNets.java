package org.atlas4j;

import java.util.List;
import java.util.Random;

import org.atlas4j.data.ImageDataset;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/** Shared fixtures for the stage tests: a tiny random CNN on 9×9×1 inputs and a small in-memory dataset. */
public final class TinyNets {
    /** Layer indices of {@link #cnn}: c1(0) bn1(1) r1(2) c2(3) r2(4) gap(5) out(6). */
    public static final int BN1 = 1;
    public static final int R1 = 2;
    public static final int R2 = 4;
    public static final int CLASSES = 3;

    private TinyNets() {
    }

    /**
     * conv(3×3, 4, same) → BN (random running statistics) → ReLU → conv(3×3, 5, same, identity) → ReLU → GAP → softmax(3).
     * Every spatial layer keeps the 9×9 map.
     */
    public static MultiLayerNetwork cnn(long seed, DataType dataType) {
        var b = new NeuralNetConfiguration.Builder().seed(seed).weightInit(WeightInit.XAVIER).dataType(dataType).list();
        b.layer(new ConvolutionLayer.Builder(3, 3).nOut(4).convolutionMode(ConvolutionMode.Same)
                .activation(Activation.IDENTITY).name("c1").build());
        b.layer(new BatchNormalization.Builder().name("bn1").build());
        b.layer(new ActivationLayer.Builder().activation(Activation.RELU).name("r1").build());
        b.layer(new ConvolutionLayer.Builder(3, 3).nOut(5).convolutionMode(ConvolutionMode.Same)
                .activation(Activation.IDENTITY).name("c2").build());
        b.layer(new ActivationLayer.Builder().activation(Activation.RELU).name("r2").build());
        b.layer(new GlobalPoolingLayer.Builder(PoolingType.AVG).name("gap").build());
        b.layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(CLASSES).activation(Activation.SOFTMAX)
                .name("out").build());
        b.setInputType(InputType.convolutional(9, 9, 1));
        MultiLayerNetwork net = new MultiLayerNetwork(b.build());
        net.init();
        randomizeBatchNorm(net, seed + 1);
        return net;
    }

    /** Non-trivial running statistics and affine parameters, so BN is not the identity. */
    public static void randomizeBatchNorm(MultiLayerNetwork net, long seed) {
        randomizeBatchNorm(net.getLayers(), seed);
    }

    /** The same for any model's layers (e.g. a ComputationGraph's {@code getLayers()}). */
    public static void randomizeBatchNorm(org.deeplearning4j.nn.api.Layer[] layers, long seed) {
        Random r = new Random(seed);
        for (var layer : layers) {
            if (layer.conf().getLayer() instanceof BatchNormalization) {
                for (var e : layer.paramTable().entrySet()) {
                    INDArray p = e.getValue();
                    for (long i = 0; i < p.length(); i++) {
                        double v = switch (e.getKey()) {
                            case "gamma" -> 0.5 + r.nextDouble();
                            case "beta", "mean" -> r.nextGaussian() * 0.5;
                            case "var" -> 0.3 + r.nextDouble();
                            case "log10stdev" -> -0.3 + 0.4 * r.nextDouble();
                            default -> p.getDouble(i);
                        };
                        p.putScalar(i, v);
                    }
                }
            }
        }
    }

    /** Random images in [0,1] held in memory; label i % CLASSES, or -1 for every {@code unlabelledEvery}-th image. */
    public static final class RandomImages implements ImageDataset {
        private final int n;
        private final int c;
        private final int h;
        private final int w;
        private final float[] pixels;
        private final int unlabelledEvery;

        public RandomImages(int n, int c, int h, int w, long seed, int unlabelledEvery) {
            this.n = n;
            this.c = c;
            this.h = h;
            this.w = w;
            this.unlabelledEvery = unlabelledEvery;
            this.pixels = new float[n * c * h * w];
            Random r = new Random(seed);
            for (int i = 0; i < pixels.length; i++) pixels[i] = r.nextFloat();
        }

        @Override public int size() { return n; }
        @Override public int channels() { return c; }
        @Override public int height() { return h; }
        @Override public int width() { return w; }

        @Override
        public void copyImage(int index, float[] dst, int offset) {
            int len = imageLength();
            System.arraycopy(pixels, index * len, dst, offset, len);
        }

        @Override
        public int label(int index) {
            return unlabelledEvery > 0 && index % unlabelledEvery == unlabelledEvery - 1 ? -1 : index % CLASSES;
        }

        @Override public List<String> classNames() { return List.of("a", "b", "c"); }
        @Override public String describe() { return "random " + n + " images"; }

        /** Images [from, to) as one NCHW float array. */
        public float[] batch(int from, int to) {
            int len = imageLength();
            float[] out = new float[(to - from) * len];
            System.arraycopy(pixels, from * len, out, 0, out.length);
            return out;
        }
    }
}
