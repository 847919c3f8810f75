package org.atlas4j.model;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.params.BatchNormalizationParamInitializer;
import org.deeplearning4j.util.ModelSerializer;
import org.deeplearning4j.zoo.ZooModel;
import org.deeplearning4j.zoo.model.Darknet19;
import org.deeplearning4j.zoo.model.InceptionResNetV1;
import org.deeplearning4j.zoo.model.ResNet50;
import org.deeplearning4j.zoo.model.SqueezeNet;
import org.deeplearning4j.zoo.model.VGG16;
import org.deeplearning4j.zoo.model.Xception;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * DL4J zoo architectures (deeplearning4j-zoo M2.1) built with {@code init()} — no pretrained download — and a fixed
 * seed, saved with {@link ModelSerializer} beside a model card, as a user's own DL4J zip would be.
 *
 * <p>Random weights alone make poor fixtures: the zoo's BatchNormalization layers start at mean 0, variance 1, so
 * activations grow or shrink through 50+ layers. As {@code make_onnx_fixtures.py} does for torchvision, BN running
 * statistics are calibrated on four seeded pictures (smooth colour blobs and noise): DL4J's training-mode forward
 * gives every BN layer's input, whose batch mean and variance become the layer's global statistics, then jittered per
 * channel (variances floored at a tenth of the layer's mean), with gamma and beta randomised. Finally the last weighted layer is scaled so the largest |logit| on those
 * pictures is 10 (random deep nets reach hundreds, where float32 rounding alone exceeds the 1e-4 we compare at).
 */
public final class ZooNets {
    /** ImageNet-shaped zoo architectures: default (atlas) layer, another spatial layer, the native input size. */
    public enum Arch {
        RESNET50("resnet50", "res3d_branch", "res2c_branch", 224),
        SQUEEZENET("squeezenet", "fire5", "fire3", 227),
        DARKNET19("darknet19", "activation_13", "activation_8", 224),
        VGG16("vgg16", "12", "8", 224),
        XCEPTION("xception", "add6", "add2", 299),
        INCEPTION_RESNET_V1("inception_resnet_v1", "resnetB", "resnetA", 160);

        public final String stem;
        public final String defaultLayer;
        public final String otherLayer;
        public final int nativeSize;

        Arch(String stem, String defaultLayer, String otherLayer, int nativeSize) {
            this.stem = stem;
            this.defaultLayer = defaultLayer;
            this.otherLayer = otherLayer;
            this.nativeSize = nativeSize;
        }
    }

    public static final long SEED = 42;

    /**
     * Whether a zoo test runs {@code arch}: when named in {@code -Datlas4j.families}, or always with
     * {@code -Datlas4j.zoo=all}, else when it is in the default (fast) set.
     */
    public static boolean selected(Arch arch, boolean byDefault) {
        String only = System.getProperty("atlas4j.families", "");
        if (!only.isBlank()) return List.of(only.split(",")).contains(arch.name());
        return "all".equals(System.getProperty("atlas4j.zoo")) || byDefault;
    }

    private ZooNets() {
    }

    /** The zoo's own builder with a fixed seed; {@code init()} allocates and initialises the weights, no download. */
    public static ComputationGraph build(Arch arch, int size, int classes) {
        int[] shape = {3, size, size};
        ZooModel<?> zoo = switch (arch) {
            case RESNET50 -> ResNet50.builder().seed(SEED).numClasses(classes).inputShape(shape).build();
            case SQUEEZENET -> SqueezeNet.builder().seed(SEED).numClasses(classes).inputShape(shape).build();
            case DARKNET19 -> Darknet19.builder().seed(SEED).numClasses(classes).inputShape(shape).build();
            case VGG16 -> VGG16.builder().seed(SEED).numClasses(classes).inputShape(shape).build();
            case XCEPTION -> Xception.builder().seed(SEED).numClasses(classes).inputShape(shape).build();
            case INCEPTION_RESNET_V1 -> InceptionResNetV1.builder().seed(SEED).numClasses(classes).inputShape(shape).build();
        };
        return (ComputationGraph) zoo.init();
    }

    /** {@link #build}, then BN statistics calibrated and the output layer scaled (see the class comment). */
    public static ComputationGraph buildCalibrated(Arch arch, int size, int classes) {
        ComputationGraph cg = build(arch, size, classes);
        calibrate(cg, size);
        return cg;
    }

    /** Writes {@code <dir>/<stem>-<size>.zip} and its card {@code .json}; returns the zip. */
    public static Path write(Arch arch, int size, List<String> classNames, Path dir) throws Exception {
        Files.createDirectories(dir);
        Path zip = dir.resolve(arch.stem + "-" + size + ".zip");
        ComputationGraph cg = buildCalibrated(arch, size, classNames.size());
        ModelSerializer.writeModel(cg, zip.toFile(), false);
        new ModelCard(zip.getFileName().toString(), new int[] {3, size, size}, classNames, arch.defaultLayer, "imagenet",
                "atlas4j test builder ZooNets: deeplearning4j-zoo " + arch.name() + " init(), seed " + SEED
                        + ", BN statistics calibrated on seeded pictures").write(ModelCard.cardPath(zip));
        return zip;
    }

    /** Class names "class0".."classN-1" (the zoo nets are not trained: any names will do). */
    public static List<String> classNames(int n) {
        List<String> names = new ArrayList<>();
        for (int k = 0; k < n; k++) names.add("class" + k);
        return names;
    }

    static void calibrate(ComputationGraph cg, int size) {
        Random r = new Random(SEED + 1);
        INDArray images = calibrationImages(size);
        var conf = cg.getConfiguration();
        // one training-mode forward: each BN normalises by its batch statistics, which we then make its global ones,
        // so the inference forward on this batch reproduces the calibrated activations
        Map<String, INDArray> acts = cg.feedForward(images, true);
        for (String name : conf.getTopologicalOrderStr()) {
            if (!(conf.getVertices().get(name) instanceof LayerVertex lv)) continue;
            if (!(lv.getLayerConf().getLayer() instanceof BatchNormalization bn)) continue;
            INDArray in = acts.get(conf.getVertexInputs().get(name).get(0));
            int[] axes = in.rank() == 4 ? new int[] {0, 2, 3} : new int[] {0};
            INDArray mean = in.mean(axes);
            INDArray var = in.var(false, axes);
            var layer = cg.getLayer(name);
            long ch = mean.length();
            float[] m = mean.toFloatVector();
            float[] v = var.toFloatVector();
            // a floor at a tenth of the layer's mean variance: with a few pixels per channel (deep layers of a small
            // input) a batch variance can be ~0, and other inputs then leave that BN at 1e5 (float32 noise of 1e-2)
            double floor = 0.1 * java.util.Arrays.stream(toDoubles(v)).average().orElse(1) + 1e-6;
            for (int c = 0; c < ch; c++) {
                v[c] = (float) Math.max(v[c] * (0.8 + 0.45 * r.nextDouble()), floor);
                m[c] += (float) (0.05 * Math.sqrt(v[c]) * r.nextGaussian());
            }
            setParam(layer, BatchNormalizationParamInitializer.GLOBAL_MEAN, m);
            if (bn.isUseLogStd()) {
                float[] logStd = new float[(int) ch];
                for (int c = 0; c < ch; c++) logStd[c] = (float) (0.5 * Math.log10(v[c]));
                setParam(layer, BatchNormalizationParamInitializer.GLOBAL_LOG_STD, logStd);
            } else {
                setParam(layer, BatchNormalizationParamInitializer.GLOBAL_VAR, v);
            }
            if (!bn.isLockGammaBeta()) {
                float[] gamma = new float[(int) ch];
                float[] beta = new float[(int) ch];
                for (int c = 0; c < ch; c++) {
                    gamma[c] = (float) (0.5 + r.nextDouble());
                    beta[c] = (float) (0.1 * r.nextGaussian());
                }
                setParam(layer, BatchNormalizationParamInitializer.GAMMA, gamma);
                setParam(layer, BatchNormalizationParamInitializer.BETA, beta);
            }
        }
        // scale the last weighted layer (only ReLU, pooling and softmax follow it: logits scale with it) so the
        // largest |logit| on the calibration batch is 10
        String last = null;
        for (String name : conf.getTopologicalOrderStr()) {
            if (conf.getVertices().get(name) instanceof LayerVertex && cg.getLayer(name).paramTable().containsKey("W")) last = name;
        }
        double max = logits(cg, images).amaxNumber().doubleValue();
        if (last != null && max > 0) {
            cg.getLayer(last).getParam("W").muli(10 / max);
            if (cg.getLayer(last).paramTable().containsKey("b")) cg.getLayer(last).getParam("b").muli(10 / max);
        }
    }

    /**
     * Seeded calibration pictures, ImageNet-normalised in scale: two of smooth colour blobs (bilinear upsampling of
     * 8×8 noise, like photos' low frequencies) and two of white noise.
     */
    public static INDArray calibrationImages(int size) {
        Random r = new Random(SEED + 2);
        float[] x = new float[4 * 3 * size * size];
        int g = 8;
        for (int n = 0; n < 4; n++) {
            for (int c = 0; c < 3; c++) {
                double[][] coarse = new double[g + 1][g + 1];
                for (double[] row : coarse) for (int k = 0; k <= g; k++) row[k] = 1.5 * r.nextGaussian();
                for (int y = 0; y < size; y++) {
                    for (int xx = 0; xx < size; xx++) {
                        int o = ((n * 3 + c) * size + y) * size + xx;
                        if (n >= 2) {
                            x[o] = (float) r.nextGaussian();
                            continue;
                        }
                        double fy = y * (double) g / size, fx = xx * (double) g / size;
                        int iy = (int) fy, ix = (int) fx;
                        double ty = fy - iy, tx = fx - ix;
                        x[o] = (float) ((1 - ty) * ((1 - tx) * coarse[iy][ix] + tx * coarse[iy][ix + 1])
                                + ty * ((1 - tx) * coarse[iy + 1][ix] + tx * coarse[iy + 1][ix + 1]) + 0.2 * r.nextGaussian());
                    }
                }
            }
        }
        return Nd4j.create(x, new long[] {4, 3, size, size}, 'c');
    }

    /**
     * DL4J's own pre-softmax class scores: z = xW + b of the output layer, or the input of a softmax ActivationLayer
     * recomputed from the global pooling before it (DL4J's feedForward map holds the softmax in that entry: the
     * activation runs in place).
     */
    public static INDArray logits(ComputationGraph cg, INDArray x) {
        var conf = cg.getConfiguration();
        Map<String, INDArray> acts = cg.feedForward(x, false);
        String v = conf.getNetworkOutputs().get(0);
        while (true) {
            var layer = ((LayerVertex) conf.getVertices().get(v)).getLayerConf().getLayer();
            String in = conf.getVertexInputs().get(v).get(0);
            if (layer instanceof org.deeplearning4j.nn.conf.layers.BaseOutputLayer
                    && !(layer instanceof org.deeplearning4j.nn.conf.layers.LossLayer)) {
                INDArray a = acts.get(in);
                if (a.rank() > 2) a = a.reshape(a.size(0), -1);
                var l = cg.getLayer(v);
                return a.mmul(l.getParam("W")).addiRowVector(l.getParam("b"));
            }
            if (layer instanceof org.deeplearning4j.nn.conf.layers.ActivationLayer al
                    && al.getActivationFn() instanceof org.nd4j.linalg.activations.impl.ActivationSoftmax) {
                if (!(((LayerVertex) conf.getVertices().get(in)).getLayerConf().getLayer()
                        instanceof org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer gp)
                        || gp.getPoolingType() != org.deeplearning4j.nn.conf.layers.PoolingType.AVG) {
                    throw new IllegalStateException("softmax after " + in + ": expected average global pooling");
                }
                return acts.get(conf.getVertexInputs().get(in).get(0)).mean(2, 3);
            }
            v = in;
        }
    }

    private static double[] toDoubles(float[] f) {
        double[] d = new double[f.length];
        for (int k = 0; k < f.length; k++) d[k] = f[k];
        return d;
    }

    private static void setParam(org.deeplearning4j.nn.api.Layer layer, String key, float[] values) {
        INDArray p = layer.getParam(key);
        p.assign(Nd4j.createFromArray(values).castTo(p.dataType()).reshape(p.shape()));
    }
}
