package org.atlas4j.model;

import java.nio.file.Files;
import java.nio.file.Path;

import org.atlas4j.TinyNets;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DepthwiseConvolution2D;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.weights.WeightInit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Measurement, not a test (no assertions; off unless {@code -Datlas.bench=native|nchw|samediff}): a MobileNetV2-shaped
 * DL4J ComputationGraph (random weights, random BN statistics) at 224 px up to features.13 (the last 96-channel
 * inverted-residual block), forward img/s at batch 32 and forward+input-gradient steps at batch 16, and the JVM's peak
 * RSS. One engine per JVM so the peaks are the engine's own.
 * {@code mvn -o test -Dtest=NativeGraphBench -Datlas.bench=native}
 */
@EnabledIfSystemProperty(named = "atlas.bench", matches = "native|nchw|samediff")
@org.atlas4j.IntegrationTest
class NativeGraphBench {
    /** torchvision's MobileNetV2 features.0 … features.{last}: stem, then (t, c, n, s) inverted residual blocks. */
    static ComputationGraph mobileNetV2(int last) {
        var b = new NeuralNetConfiguration.Builder().seed(1).weightInit(WeightInit.XAVIER).dataType(DataType.FLOAT)
                .convolutionMode(ConvolutionMode.Truncate).graphBuilder().addInputs("in")
                .setInputTypes(InputType.convolutional(224, 224, 3));
        String x = convBn(b, "features.0", "in", 3, 32, 2, true);
        int[][] cfg = {{1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2}, {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
        int in = 32;
        int index = 1;
        for (int[] c : cfg) {
            for (int i = 0; i < c[2] && index <= last; i++, index++) {
                int stride = i == 0 ? c[3] : 1;
                String name = "features." + index;
                String h = x;
                int hidden = in * c[0];
                if (c[0] != 1) h = convBn(b, name + ".expand", h, 1, hidden, 1, true);
                b.addLayer(name + ".dw", new DepthwiseConvolution2D.Builder(3, 3).stride(stride, stride).padding(1, 1)
                        .depthMultiplier(1).nOut(hidden).hasBias(false).activation(Activation.IDENTITY).build(), h);
                b.addLayer(name + ".dw_bn", new BatchNormalization.Builder().build(), name + ".dw");
                b.addLayer(name + ".dw_act", new ActivationLayer.Builder().activation(Activation.RELU6).build(), name + ".dw_bn");
                String p = convBn(b, name + ".project", name + ".dw_act", 1, c[1], 1, false);
                if (stride == 1 && in == c[1]) {
                    b.addVertex(name, new ElementWiseVertex(ElementWiseVertex.Op.Add), p, x);
                } else {
                    b.addLayer(name, new ActivationLayer.Builder().activation(Activation.IDENTITY).build(), p);
                }
                x = name;
                in = c[1];
            }
        }
        b.setOutputs(x);
        ComputationGraph g = new ComputationGraph(b.build());
        g.init();
        TinyNets.randomizeBatchNorm(g.getLayers(), 2);
        return g;
    }

    /** torchvision's ResNet-18 up to layer3 (its output, 256×14×14 at 224 px): 7×7/2 stem, padded max pool, basic blocks. */
    static ComputationGraph resNet18ToLayer3() {
        var b = new NeuralNetConfiguration.Builder().seed(1).weightInit(WeightInit.XAVIER).dataType(DataType.FLOAT)
                .convolutionMode(ConvolutionMode.Truncate).graphBuilder().addInputs("in")
                .setInputTypes(InputType.convolutional(224, 224, 3));
        String x = convBn(b, "stem", "in", 7, 64, 2, false);
        b.addLayer("stem.relu", new ActivationLayer.Builder().activation(Activation.RELU).build(), x);
        b.addLayer("maxpool", new org.deeplearning4j.nn.conf.layers.SubsamplingLayer.Builder(
                org.deeplearning4j.nn.conf.layers.PoolingType.MAX).kernelSize(3, 3).stride(2, 2).padding(1, 1).build(), "stem.relu");
        x = "maxpool";
        int in = 64;
        int[][] cfg = {{64, 1}, {64, 1}, {128, 2}, {128, 1}, {256, 2}, {256, 1}};
        for (int i = 0; i < cfg.length; i++) {
            String name = "layer" + (i / 2 + 1) + "." + (i % 2);
            int out = cfg[i][0], stride = cfg[i][1];
            String h = convBn(b, name + ".c1", x, 3, out, stride, false);
            b.addLayer(name + ".r1", new ActivationLayer.Builder().activation(Activation.RELU).build(), h);
            h = convBn(b, name + ".c2", name + ".r1", 3, out, 1, false);
            String skip = x;
            if (stride != 1 || in != out) skip = convBn(b, name + ".down", x, 1, out, stride, false);
            b.addVertex(name + ".add", new ElementWiseVertex(ElementWiseVertex.Op.Add), h, skip);
            b.addLayer(name, new ActivationLayer.Builder().activation(Activation.RELU).build(), name + ".add");
            x = name;
            in = out;
        }
        b.setOutputs(x);
        ComputationGraph g = new ComputationGraph(b.build());
        g.init();
        TinyNets.randomizeBatchNorm(g.getLayers(), 2);
        return g;
    }

    private static String convBn(org.deeplearning4j.nn.conf.ComputationGraphConfiguration.GraphBuilder b, String name,
            String in, int k, int out, int stride, boolean relu6) {
        b.addLayer(name + ".conv", new ConvolutionLayer.Builder(k, k).stride(stride, stride).padding(k / 2, k / 2).nOut(out)
                .hasBias(false).activation(Activation.IDENTITY).build(), in);
        b.addLayer(name + ".bn", new BatchNormalization.Builder().build(), name + ".conv");
        if (!relu6) return name + ".bn";
        b.addLayer(name + ".act", new ActivationLayer.Builder().activation(Activation.RELU6).build(), name + ".bn");
        return name + ".act";
    }

    static long peakRssMb() throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmHWM:")) return Long.parseLong(line.replaceAll("\\D", "")) / 1024;
        }
        return -1;
    }

    @Test
    void mobileNetV2ToFeatures13() throws Exception {
        String mode = System.getProperty("atlas.bench");
        boolean resnet = "resnet".equals(System.getProperty("atlas.bench.net"));
        String layer = resnet ? "layer3.1" : "features.13";
        NetGraph g = SameDiffConverter.convert(resnet ? resNet18ToLayer3() : mobileNetV2(13), new int[] {3, 224, 224}, DataType.FLOAT);
        String var = g.layer(layer).variable();
        mode = mode + (resnet ? " resnet18→layer3" : " mobilenetv2→features.13");
        int fb = 32, bb = 16, rounds = 3;
        INDArray xf = Nd4j.rand(DataType.FLOAT, fb, 3, 224, 224);
        INDArray xb = Nd4j.rand(DataType.FLOAT, bb, 3, 224, 224);
        INDArray r = Nd4j.randn(DataType.FLOAT, bb, resnet ? 256 : 96, 14, 14);
        System.out.println("bench " + mode + ": graph built, peak RSS " + peakRssMb() + " MB");
        if (mode.startsWith("samediff")) {
            long t = System.nanoTime();
            g.forward(xf, var);
            System.out.printf("bench samediff: first forward b=%d %.2f s%n", fb, (System.nanoTime() - t) / 1e9);
            t = System.nanoTime();
            for (int i = 0; i < rounds; i++) g.forward(xf, var);
            double fs = (System.nanoTime() - t) / 1e9 / rounds;
            System.out.printf("bench samediff: forward b=%d %.3f s/batch = %.1f img/s, peak RSS %d MB%n", fb, fs, fb / fs, peakRssMb());
            NativeGraphTest.sameDiffGradient(g, layer, xb, r); // builds the gradient graph
            t = System.nanoTime();
            for (int i = 0; i < rounds; i++) NativeGraphTest.sameDiffGradient(g, layer, xb, r);
            double bs = (System.nanoTime() - t) / 1e9 / rounds;
            System.out.printf("bench samediff: forward+input gradient b=%d %.3f s/step = %.1f icon-steps/s, peak RSS %d MB%n",
                    bb, bs, bb / bs, peakRssMb());
            return;
        }
        long t = System.nanoTime();
        NativeGraph.Compiled c = NativeGraph.compile(g, layer, 3, 224, 224, mode.startsWith("native"));
        if (c.engine() == null) throw new AssertionError(c.unsupported());
        NativeGraph e = c.engine();
        System.out.printf("bench %s: compiled %d ops in %.2f s, %.2f GMAC/img%n", mode, e.opCount(), (System.nanoTime() - t) / 1e9,
                e.forwardMacs() / 1e9);
        NativeGraph.Session inf = e.inferenceSession(fb);
        inf.forward(xf);
        t = System.nanoTime();
        for (int i = 0; i < rounds; i++) inf.forward(xf);
        double fs = (System.nanoTime() - t) / 1e9 / rounds;
        System.out.printf("bench %s: forward b=%d %.3f s/batch = %.1f img/s, buffers %d MB, peak RSS %d MB%n", mode, fb, fs, fb / fs,
                inf.bufferBytes() >> 20, peakRssMb());
        NativeGraph.Session s = e.session(bb);
        s.forward(xb);
        s.backward(r);
        t = System.nanoTime();
        for (int i = 0; i < rounds; i++) {
            s.forward(xb);
            s.backward(r);
        }
        double bs = (System.nanoTime() - t) / 1e9 / rounds;
        System.out.printf("bench %s: forward+input gradient b=%d %.3f s/step = %.1f icon-steps/s, buffers %d MB, peak RSS %d MB%n",
                mode, bb, bs, bb / bs, s.bufferBytes() >> 20, peakRssMb());
        // per-op profile of the training step, to see where the time goes
        if (Boolean.getBoolean("atlas.bench.profile")) System.out.println(s.profile());
    }

    @Test
    void activationGradientKernels() {
        INDArray x = Nd4j.randn(DataType.FLOAT, 16, 112, 112, 96).muli(4);
        INDArray g = Nd4j.randn(DataType.FLOAT, 16, 112, 112, 96);
        INDArray out = Nd4j.create(DataType.FLOAT, 16, 112, 112, 96);
        INDArray tmp = Nd4j.create(DataType.FLOAT, 16, 112, 112, 96);
        java.util.Map<String, Runnable> k = new java.util.LinkedHashMap<>();
        k.put("relu6_bp", () -> Nd4j.exec(org.nd4j.linalg.api.ops.DynamicCustomOp.builder("relu6_bp").addInputs(x, g).addOutputs(out).addFloatingPointArguments(0.0).build()));
        k.put("relu_bp", () -> Nd4j.exec(org.nd4j.linalg.api.ops.DynamicCustomOp.builder("relu_bp").addInputs(x, g).addOutputs(out).addFloatingPointArguments(0.0).build()));
        k.put("hardtanh_bp", () -> Nd4j.exec(org.nd4j.linalg.api.ops.DynamicCustomOp.builder("hardtanh_bp").addInputs(x, g).addOutputs(out).build()));
        k.put("relu6 fwd", () -> Nd4j.exec(org.nd4j.linalg.api.ops.DynamicCustomOp.builder("relu6").addInputs(x).addOutputs(out).addFloatingPointArguments(0.0).build()));
        k.put("multiply", () -> Nd4j.exec(org.nd4j.linalg.api.ops.DynamicCustomOp.builder("multiply").addInputs(x, g).addOutputs(out).build()));
        k.put("relu_bp x2 (x, x-6)", () -> {
            Nd4j.exec(org.nd4j.linalg.api.ops.DynamicCustomOp.builder("relu_bp").addInputs(x, g).addOutputs(out).addFloatingPointArguments(0.0).build());
            Nd4j.exec(org.nd4j.linalg.api.ops.DynamicCustomOp.builder("relu_bp").addInputs(x, g).addOutputs(tmp).addFloatingPointArguments(6.0).build());
            Nd4j.exec(org.nd4j.linalg.api.ops.DynamicCustomOp.builder("subtract").addInputs(out, tmp).addOutputs(out).build());
        });
        k.put("relu(sign(x(6-x)))*g", () -> {
            Nd4j.getExecutioner().exec(new org.nd4j.linalg.api.ops.impl.scalar.ScalarReverseSubtraction(x, null, out, 6.0));
            Nd4j.exec(org.nd4j.linalg.api.ops.DynamicCustomOp.builder("multiply").addInputs(out, x).addOutputs(out).build());
            Nd4j.getExecutioner().exec(new org.nd4j.linalg.api.ops.impl.transforms.same.Sign(out, out));
            Nd4j.exec(org.nd4j.linalg.api.ops.DynamicCustomOp.builder("relu").addInputs(out).addOutputs(out).addFloatingPointArguments(0.0).build());
            Nd4j.exec(org.nd4j.linalg.api.ops.DynamicCustomOp.builder("multiply").addInputs(out, g).addOutputs(out).build());
        });
        k.put("step(x(6-x))*g", () -> {
            Nd4j.getExecutioner().exec(new org.nd4j.linalg.api.ops.impl.scalar.ScalarReverseSubtraction(x, null, out, 6.0));
            Nd4j.exec(org.nd4j.linalg.api.ops.DynamicCustomOp.builder("multiply").addInputs(out, x).addOutputs(out).build());
            Nd4j.getExecutioner().exec(new org.nd4j.linalg.api.ops.impl.scalar.Step(out, out, 0.0));
            Nd4j.exec(org.nd4j.linalg.api.ops.DynamicCustomOp.builder("multiply").addInputs(out, g).addOutputs(out).build());
        });
        k.put("step(x)*g", () -> {
            Nd4j.getExecutioner().exec(new org.nd4j.linalg.api.ops.impl.scalar.Step(x, out, 0.0));
            Nd4j.exec(org.nd4j.linalg.api.ops.DynamicCustomOp.builder("multiply").addInputs(out, g).addOutputs(out).build());
        });
        for (var e : k.entrySet()) {
            e.getValue().run();
            long t = System.nanoTime();
            for (int i = 0; i < 5; i++) e.getValue().run();
            System.out.printf("kernel %-22s %7.1f ms%n", e.getKey(), (System.nanoTime() - t) / 5e6);
            if (e.getKey().startsWith("step(x(")) {
                INDArray ref = Nd4j.create(DataType.FLOAT, x.shape());
                Nd4j.exec(org.nd4j.linalg.api.ops.DynamicCustomOp.builder("relu6_bp").addInputs(x, g).addOutputs(ref).addFloatingPointArguments(0.0).build());
                System.out.println("kernel step vs relu6_bp max diff " + ref.sub(out).amaxNumber());
            }
        }
    }
}
