package org.atlas4j.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.DepthwiseConvolution2D;
import org.deeplearning4j.nn.conf.layers.SeparableConvolution2D;
import org.deeplearning4j.nn.conf.layers.DropoutLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/** For each supported layer type: SameDiff outputs equal DL4J's, and input gradients equal finite differences. */
@org.atlas4j.UnitTest
class SameDiffConverterTest {

    /** Tiny networks, each exercising a set of layer types and settings. */
    static MultiLayerNetwork net(int variant) {
        var b = new NeuralNetConfiguration.Builder().seed(7 + variant).weightInit(WeightInit.XAVIER)
                .dataType(DataType.DOUBLE).list();
        switch (variant) {
            case 0 -> { // conv(same)+BN+ReLU, maxpool, conv(truncate, padding), avg pool, GAP, dense softmax
                b.layer(new ConvolutionLayer.Builder(3, 3).nOut(4).convolutionMode(ConvolutionMode.Same)
                        .activation(Activation.IDENTITY).name("c1").build());
                b.layer(new BatchNormalization.Builder().name("bn1").build());
                b.layer(new ActivationLayer.Builder().activation(Activation.RELU).name("r1").build());
                b.layer(new SubsamplingLayer.Builder(SubsamplingLayer.PoolingType.MAX).kernelSize(2, 2).stride(2, 2)
                        .convolutionMode(ConvolutionMode.Same).name("p1").build());
                b.layer(new ConvolutionLayer.Builder(3, 3).nOut(5).padding(1, 1).stride(1, 1)
                        .convolutionMode(ConvolutionMode.Truncate).activation(Activation.TANH).name("c2").build());
                b.layer(new SubsamplingLayer.Builder(SubsamplingLayer.PoolingType.AVG).kernelSize(2, 2).stride(1, 1)
                        .convolutionMode(ConvolutionMode.Truncate).name("p2").build());
                b.layer(new GlobalPoolingLayer.Builder(PoolingType.AVG).name("gap").build());
                b.layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(3).activation(Activation.SOFTMAX)
                        .name("out").build());
            }
            case 1 -> { // strided conv with leaky ReLU, BN (no log-std), global max, dense, dropout, output
                b.layer(new ConvolutionLayer.Builder(3, 3).nOut(3).stride(2, 2).convolutionMode(ConvolutionMode.Same)
                        .activation(Activation.LEAKYRELU).name("c1").build());
                b.layer(new BatchNormalization.Builder().useLogStd(false).activation(Activation.SIGMOID).name("bn1").build());
                b.layer(new GlobalPoolingLayer.Builder(PoolingType.MAX).name("gmp").build());
                b.layer(new DenseLayer.Builder().nOut(6).activation(Activation.ELU).name("d1").build());
                b.layer(new DropoutLayer.Builder(0.5).name("drop").build());
                b.layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(4).activation(Activation.SOFTMAX)
                        .name("out").build());
            }
            case 3 -> { // depthwise (multiplier 2) + BN (not after a standard conv: broadcast path), separable, GAP
                b.layer(new DepthwiseConvolution2D.Builder(3, 3).depthMultiplier(2).nOut(4)
                        .convolutionMode(ConvolutionMode.Same).activation(Activation.IDENTITY).name("dw").build());
                b.layer(new BatchNormalization.Builder().name("bn1").build());
                b.layer(new ActivationLayer.Builder().activation(Activation.RELU6).name("r6").build());
                b.layer(new SeparableConvolution2D.Builder(3, 3).depthMultiplier(2).nOut(5).stride(2, 2)
                        .convolutionMode(ConvolutionMode.Same).activation(Activation.RELU).name("sep").build());
                b.layer(new GlobalPoolingLayer.Builder(PoolingType.AVG).name("gap").build());
                b.layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(3).activation(Activation.SOFTMAX)
                        .name("out").build());
            }
            default -> { // conv, BN, max pool (truncate), flatten to dense via preprocessor, swish, sum pooling absent
                b.layer(new ConvolutionLayer.Builder(2, 2).nOut(3).convolutionMode(ConvolutionMode.Truncate)
                        .activation(Activation.SOFTPLUS).name("c1").build());
                b.layer(new SubsamplingLayer.Builder(SubsamplingLayer.PoolingType.MAX).kernelSize(3, 3).stride(2, 2)
                        .convolutionMode(ConvolutionMode.Truncate).name("p1").build());
                b.layer(new BatchNormalization.Builder().name("bn1").build());
                b.layer(new DenseLayer.Builder().nOut(5).activation(Activation.SWISH).name("d1").build());
                b.layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(3).activation(Activation.SOFTMAX)
                        .name("out").build());
            }
        }
        b.setInputType(InputType.convolutional(9, 9, 2));
        MultiLayerConfiguration conf = b.build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        randomizeBatchNorm(net, 11 + variant);
        return net;
    }

    static void randomizeBatchNorm(MultiLayerNetwork net, long seed) {
        org.atlas4j.TinyNets.randomizeBatchNorm(net, seed);
    }

    static INDArray input(long seed) {
        Nd4j.getRandom().setSeed(seed);
        return Nd4j.rand(DataType.DOUBLE, 3, 2, 9, 9).subi(0.5).muli(2);
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 2, 3})
    void everyLayerOutputMatchesDl4j(int variant) {
        MultiLayerNetwork net = net(variant);
        NetGraph g = SameDiffConverter.convert(net, new int[] {2, 9, 9}, DataType.DOUBLE);
        INDArray x = input(variant);
        String[] vars = g.nodes().stream().map(NetGraph.Node::variable).toArray(String[]::new);
        Map<String, INDArray> out = g.forward(x, vars);
        for (NetGraph.Node n : g.nodes()) {
            // one DL4J pass per layer: feedForward's list shares buffers that later in-place activations overwrite
            INDArray expected = net.feedForwardToLayer(n.index(), x, false).get(n.index() + 1).dup();
            INDArray actual = out.get(n.variable());
            assertTrue(java.util.Arrays.equals(expected.shape(), actual.shape()), n.name() + " shape");
            double diff = expected.castTo(DataType.DOUBLE).sub(actual.castTo(DataType.DOUBLE)).amaxNumber().doubleValue();
            assertTrue(diff < 1e-5, "layer " + n.name() + " (" + n.type() + ") differs from DL4J by " + diff);
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 2, 3})
    void floatGraphMatchesDl4jWithin1e5(int variant) {
        MultiLayerNetwork net = net(variant);
        NetGraph g = SameDiffConverter.convert(net, new int[] {2, 9, 9});
        INDArray x = input(variant);
        INDArray expected = net.output(x, false);
        INDArray actual = g.forward(x.castTo(DataType.FLOAT), g.output()).get(g.output());
        double diff = expected.sub(actual.castTo(DataType.DOUBLE)).amaxNumber().doubleValue();
        assertTrue(diff < 1e-5, "float32 graph differs from DL4J by " + diff);
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 2, 3})
    void inputGradientOfEveryLayerMatchesFiniteDifferences(int variant) {
        MultiLayerNetwork net = net(variant);
        NetGraph g = SameDiffConverter.convert(net, new int[] {2, 9, 9}, DataType.DOUBLE);
        for (NetGraph.Node n : g.nodes()) {
            checkGradient(g, n.variable(), input(100 + variant), "layer " + n.name() + " (" + n.type() + ")");
        }
        checkGradient(g, g.logits(), input(200 + variant), "logits");
    }

    /** Objective: a fixed random projection of the variable; compares ∂/∂input with central differences. */
    static void checkGradient(NetGraph g, String variable, INDArray x, String what) {
        SameDiff sd = g.sameDiff();
        INDArray value = g.forward(x, variable).get(variable);
        Nd4j.getRandom().setSeed(5);
        INDArray proj = Nd4j.rand(DataType.DOUBLE, value.shape()).subi(0.5);
        String pname = "proj_" + variable;
        SDVariable p = sd.hasVariable(pname) ? sd.getVariable(pname) : sd.placeHolder(pname, DataType.DOUBLE, value.shape());
        String lname = "loss_" + variable;
        if (!sd.hasVariable(lname)) {
            sd.sum(lname, sd.getVariable(variable).mul(p));
        }
        sd.setLossVariables(lname);
        Map<String, INDArray> ph = new HashMap<>();
        ph.put(g.input(), x);
        ph.put(pname, proj);
        INDArray grad = sd.calculateGradients(ph, g.input()).get(g.input());
        double eps = 1e-6;
        double maxRel = 0;
        Random r = new Random(3);
        for (int t = 0; t < 40; t++) {
            long i = r.nextInt((int) x.length());
            double orig = x.getDouble(i);
            x.putScalar(i, orig + eps);
            double fp = sd.output(ph, lname).get(lname).getDouble(0);
            x.putScalar(i, orig - eps);
            double fm = sd.output(ph, lname).get(lname).getDouble(0);
            x.putScalar(i, orig);
            double fd = (fp - fm) / (2 * eps);
            double an = grad.getDouble(i);
            double rel = Math.abs(fd - an) / Math.max(1e-3, Math.abs(fd) + Math.abs(an));
            maxRel = Math.max(maxRel, rel);
        }
        assertTrue(maxRel < 1e-4, what + ": input gradient differs from finite differences, max relative error " + maxRel);
    }

    @Test
    void unsupportedLayerIsNamed() {
        var conf = new NeuralNetConfiguration.Builder().list()
                .layer(new LSTM.Builder().nIn(3).nOut(4).name("my_lstm").build())
                .layer(new OutputLayer.Builder().nIn(4).nOut(2).activation(Activation.SOFTMAX).build())
                .build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        var e = assertThrows(SameDiffConverter.UnsupportedLayerException.class,
                () -> SameDiffConverter.convert(net, new int[] {3, 1, 1}));
        assertTrue(e.getMessage().contains("my_lstm") && e.getMessage().contains("LSTM"), e.getMessage());
    }

    @Test
    void frozenLayersTranslateAsWhatTheyWrap() {
        MultiLayerNetwork base = net(0);
        // transfer learning freezes the first layers: FrozenLayer wrappers in config and runtime
        MultiLayerNetwork frozen = new org.deeplearning4j.nn.transferlearning.TransferLearning.Builder(base)
                .setFeatureExtractor(2).build();
        assertTrue(frozen.getLayer(0) instanceof org.deeplearning4j.nn.layers.FrozenLayer);
        NetGraph g = SameDiffConverter.convert(frozen, new int[] {2, 9, 9}, DataType.DOUBLE);
        INDArray x = input(7);
        double diff = frozen.output(x, false).sub(g.forward(x, g.output()).get(g.output())).amaxNumber().doubleValue();
        assertTrue(diff < 1e-5, "frozen net differs from DL4J by " + diff);
        checkGradient(g, g.logits(), input(8), "logits through frozen layers");
    }

    @Test
    void unknownLayerListsValidNames() {
        NetGraph g = SameDiffConverter.convert(net(0), new int[] {2, 9, 9});
        var e = assertThrows(NetGraph.UnknownLayerException.class, () -> g.layer("nope"));
        assertTrue(e.getMessage().contains("bn1") && e.getMessage().contains("gap"), e.getMessage());
        assertEquals(3, g.shape("c1").shape().length);
        var e2 = assertThrows(IllegalArgumentException.class, () -> g.spatialLayer("gap"));
        assertTrue(e2.getMessage().contains("no spatial"), e2.getMessage());
    }

    /** A graph with a residual add, a concatenation (merge) and a conv+BN pair, as in ResNet/Inception blocks. */
    static org.deeplearning4j.nn.graph.ComputationGraph residualGraph() {
        var g = new NeuralNetConfiguration.Builder().seed(5).weightInit(WeightInit.XAVIER).dataType(DataType.DOUBLE)
                .graphBuilder().addInputs("in")
                .addLayer("c1", new ConvolutionLayer.Builder(3, 3).nOut(4).convolutionMode(ConvolutionMode.Same)
                        .activation(Activation.IDENTITY).build(), "in")
                .addLayer("bn1", new BatchNormalization.Builder().build(), "c1")
                .addLayer("r1", new ActivationLayer.Builder().activation(Activation.RELU).build(), "bn1")
                .addLayer("c2a", new ConvolutionLayer.Builder(3, 3).nOut(4).convolutionMode(ConvolutionMode.Same)
                        .activation(Activation.RELU).build(), "r1")
                .addLayer("c2b", new ConvolutionLayer.Builder(1, 1).nOut(4).convolutionMode(ConvolutionMode.Same)
                        .activation(Activation.IDENTITY).build(), "r1")
                .addVertex("add", new org.deeplearning4j.nn.conf.graph.ElementWiseVertex(
                        org.deeplearning4j.nn.conf.graph.ElementWiseVertex.Op.Add), "c2a", "c2b", "r1")
                .addVertex("cat", new org.deeplearning4j.nn.conf.graph.MergeVertex(), "add", "r1")
                .addLayer("pool", new SubsamplingLayer.Builder(SubsamplingLayer.PoolingType.MAX).kernelSize(2, 2)
                        .stride(2, 2).convolutionMode(ConvolutionMode.Same).build(), "cat")
                .addLayer("gap", new GlobalPoolingLayer.Builder(PoolingType.AVG).build(), "pool")
                .addLayer("out", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(3)
                        .activation(Activation.SOFTMAX).build(), "gap")
                .setOutputs("out")
                .setInputTypes(InputType.convolutional(9, 9, 2))
                .build();
        var net = new org.deeplearning4j.nn.graph.ComputationGraph(g);
        net.init();
        org.atlas4j.TinyNets.randomizeBatchNorm(net.getLayers(), 9);
        return net;
    }

    /**
     * Regression (internal error "No outputs were specified" on Keras MobileNetV2): the input first meets a weightless
     * zero padding, and a second branch reads the input through constant weights. Both must carry the input gradient.
     */
    @Test
    void inputGradientThroughLeadingPaddingAndInputBranchesMatchesFiniteDifferences() {
        var g = new NeuralNetConfiguration.Builder().seed(6).weightInit(WeightInit.XAVIER).dataType(DataType.DOUBLE)
                .graphBuilder().addInputs("in")
                .addLayer("pad", new org.deeplearning4j.nn.conf.layers.ZeroPaddingLayer.Builder(0, 1, 0, 1).build(), "in")
                .addLayer("c1", new ConvolutionLayer.Builder(3, 3).stride(2, 2).nOut(3).activation(Activation.RELU).build(),
                        "pad")
                .addLayer("c2", new ConvolutionLayer.Builder(3, 3).stride(2, 2).nOut(3)
                        .convolutionMode(ConvolutionMode.Same).activation(Activation.TANH).build(), "in")
                .addVertex("cat", new org.deeplearning4j.nn.conf.graph.MergeVertex(), "c1", "c2")
                .addLayer("gap", new GlobalPoolingLayer.Builder(PoolingType.AVG).build(), "cat")
                .addLayer("out", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(3)
                        .activation(Activation.SOFTMAX).build(), "gap")
                .setOutputs("out").setInputTypes(InputType.convolutional(10, 10, 2)).build();
        var net = new org.deeplearning4j.nn.graph.ComputationGraph(g);
        net.init();
        NetGraph graph = SameDiffConverter.convert(net, new int[] {2, 10, 10}, DataType.DOUBLE);
        INDArray x = Nd4j.rand(DataType.DOUBLE, 1, 2, 10, 10);
        assertTrue(net.outputSingle(false, x).sub(graph.forward(x, graph.output()).get(graph.output())).amaxNumber()
                .doubleValue() < 1e-9);
        checkGradient(graph, graph.logits(), x, "logits through leading padding and an input branch");
        // the class-score gradient path of explain (saliency) on the same graph
        INDArray w = Nd4j.zeros(DataType.DOUBLE, 1, 3).putScalar(0, 1, 1.0);
        INDArray grad = graph.classScoreGradient(x, w, graph.input());
        assertEquals(x.length(), grad.length());
        assertTrue(grad.norm2Number().doubleValue() > 0);
    }

    @Test
    void graphWithSkipConnectionsAndMergesMatchesDl4jAndFiniteDifferences() {
        var net = residualGraph();
        NetGraph g = SameDiffConverter.convert(net, new int[] {2, 9, 9}, DataType.DOUBLE);
        INDArray x = input(300);
        INDArray expected = net.outputSingle(false, x);
        INDArray actual = g.forward(x, g.output()).get(g.output());
        double diff = expected.sub(actual).amaxNumber().doubleValue();
        assertTrue(diff < 1e-5, "graph output differs from DL4J by " + diff);
        for (NetGraph.Node n : g.nodes()) {
            checkGradient(g, n.variable(), input(400), "vertex " + n.name() + " (" + n.type() + ")");
        }
        assertTrue(g.nodes().stream().anyMatch(n -> n.type().startsWith("ElementWiseVertex")));
        assertTrue(g.nodes().stream().anyMatch(n -> n.type().equals("MergeVertex")));
    }

    @Test
    void computationGraphZipLoadsThroughTheModelLoader(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        var net = residualGraph();
        java.nio.file.Path zip = dir.resolve("resnetish.zip");
        org.deeplearning4j.util.ModelSerializer.writeModel(net, zip.toFile(), false);
        new ModelCard("resnetish.zip", new int[] {2, 9, 9}, List.of("a", "b", "c"), "cat", "as given", "test")
                .write(ModelCard.cardPath(zip));
        LoadedModel m = LoadedModel.load(zip, null);
        INDArray x = input(500).castTo(DataType.FLOAT);
        INDArray ours = m.graph().forward(x, m.graph().output()).get(m.graph().output());
        double diff = m.dl4jOutput(x.castTo(DataType.DOUBLE)).sub(ours.castTo(DataType.DOUBLE)).amaxNumber().doubleValue();
        assertTrue(diff < 1e-5, "loaded graph differs from DL4J by " + diff);
        assertEquals("cat", m.resolveLayer(null));
        assertTrue(m.graph().spatialLayer("add").spatial());
    }
}
