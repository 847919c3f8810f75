package org.atlas4j.train;

import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/**
 * The demo CNN: three conv+BN+ReLU blocks, global average pooling, dense softmax.
 * BN because real models have it (the gradient path must handle it); GAP + dense so CAM applies.
 */
public final class DemoModel {
    public static final String DEFAULT_LAYER = "relu3";

    private DemoModel() {
    }

    public static MultiLayerConfiguration configuration(long seed, int[] widths, double learningRate) {
        var list = new NeuralNetConfiguration.Builder()
                .seed(seed)
                .updater(new Adam(learningRate))
                .weightInit(WeightInit.RELU)
                .l2(1e-4)
                .convolutionMode(ConvolutionMode.Same)
                .list();
        int in = 1;
        for (int b = 0; b < widths.length; b++) {
            int n = b + 1;
            list.layer(new ConvolutionLayer.Builder(3, 3).nIn(in).nOut(widths[b]).activation(Activation.IDENTITY)
                    .name("conv" + n).build());
            list.layer(new BatchNormalization.Builder().name("bn" + n).build());
            list.layer(new ActivationLayer.Builder().activation(Activation.RELU).name("relu" + n).build());
            if (b < widths.length - 1) {
                list.layer(new SubsamplingLayer.Builder(SubsamplingLayer.PoolingType.MAX).kernelSize(2, 2).stride(2, 2)
                        .name("pool" + n).build());
            }
            in = widths[b];
        }
        list.layer(new GlobalPoolingLayer.Builder(PoolingType.AVG).name("gap").build());
        list.layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(10).activation(Activation.SOFTMAX)
                .name("output").build());
        list.setInputType(InputType.convolutional(28, 28, 1));
        return list.build();
    }

    public static MultiLayerNetwork create(long seed, int[] widths, double learningRate) {
        MultiLayerNetwork net = new MultiLayerNetwork(configuration(seed, widths, learningRate));
        net.init();
        return net;
    }
}
