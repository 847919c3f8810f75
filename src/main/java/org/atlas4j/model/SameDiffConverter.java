package org.atlas4j.model;

import java.util.ArrayList;
import java.util.List;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.InputPreProcessor;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BaseOutputLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.Convolution2D;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.DepthwiseConvolution2D;
import org.deeplearning4j.nn.conf.layers.SeparableConvolution2D;
import org.deeplearning4j.nn.conf.layers.DropoutLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.LossLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.conf.preprocessor.CnnToFeedForwardPreProcessor;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.params.BatchNormalizationParamInitializer;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.activations.impl.ActivationELU;
import org.nd4j.linalg.activations.impl.ActivationHardSigmoid;
import org.nd4j.linalg.activations.impl.ActivationHardTanH;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.activations.impl.ActivationLReLU;
import org.nd4j.linalg.activations.impl.ActivationReLU;
import org.nd4j.linalg.activations.impl.ActivationReLU6;
import org.nd4j.linalg.activations.impl.ActivationSELU;
import org.nd4j.linalg.activations.impl.ActivationSigmoid;
import org.nd4j.linalg.activations.impl.ActivationSoftPlus;
import org.nd4j.linalg.activations.impl.ActivationSoftmax;
import org.nd4j.linalg.activations.impl.ActivationSwish;
import org.nd4j.linalg.activations.impl.ActivationTanH;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.layers.convolution.Pooling2D;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.Conv2DConfig;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.PaddingMode;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.Pooling2DConfig;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Translates a DL4J network into an inference-mode SameDiff graph (DL4J M2.1 has no {@code toSameDiff}).
 * Why: SameDiff on the oneDNN build is several times faster than DL4J's layers, and its gradients through
 * BatchNormalization are the inference-mode ones (DL4J's own BN backprop always uses the training formula).
 * Weights are copied into graph variables; dropout is identity; BN becomes a per-channel affine map.
 */
public final class SameDiffConverter {
    public static final String INPUT = "input";

    private SameDiffConverter() {
    }

    /** Thrown for a layer or setting the converter cannot translate; the message names it. */
    public static final class UnsupportedLayerException extends RuntimeException {
        public UnsupportedLayerException(String message) {
            super(message);
        }
    }

    /**
     * @param inputShape the per-sample input shape [channels, height, width] (NCHW)
     */
    public static NetGraph convert(MultiLayerNetwork net, int[] inputShape) {
        return convert(net, inputShape, DataType.FLOAT);
    }

    /** @param dataType FLOAT for work, DOUBLE for gradient checks against finite differences */
    public static NetGraph convert(MultiLayerNetwork net, int[] inputShape, DataType dataType) {
        NetGraph g = convertFrom(net, 0, inputShape, dataType);
        g.setTailFactory((node, shape) -> convertFrom(net, node.index() + 1, shape, dataType));
        return g;
    }

    /**
     * The network from layer {@code first} on, fed with that layer's input: e.g. the tail after an atlas layer, so
     * that class-score gradients with respect to its activations need no pass through the layers before it.
     *
     * @param inputShape per-sample shape of layer {@code first}'s input ([C,H,W] or [D])
     */
    public static NetGraph convertFrom(MultiLayerNetwork net, int first, int[] inputShape, DataType dataType) {
        SameDiff sd = SameDiff.create();
        SDVariable x = inputShape.length == 3 ? sd.placeHolder(INPUT, dataType, -1, inputShape[0], -1, -1)
                : sd.placeHolder(INPUT, dataType, -1, inputShape[0]);
        Ctx ctx = new Ctx();
        if (first > 0) {
            // SameDiff only builds gradient ops on paths back to a trainable variable: for a tail, whose first
            // weights may sit after a reduction, put the variable at the input so its gradient always exists
            x = x.mul(sd.var("tail_input_gain", Nd4j.scalar(dataType, 1.0)));
            ctx.needTrainable = false;
        } else if (!hasWeights(net.getLayerWiseConfigurations().getConf(0).getLayer())) {
            x = inputGain(sd, x, ctx);
        }
        List<NetGraph.Node> nodes = new ArrayList<>();
        String logits = null;
        int rank = inputShape.length + 1; // tracked here: SameDiff does not always know an op's shape before execution
        int n = net.getnLayers();
        for (int i = first; i < n; i++) {
            org.deeplearning4j.nn.conf.layers.Layer conf = net.getLayerWiseConfigurations().getConf(i).getLayer();
            String name = conf.getLayerName() != null ? conf.getLayerName() : "layer" + i;
            Step step = translate(sd, x, rank, net.getLayerWiseConfigurations().getInputPreProcess(i), conf, net.getLayer(i),
                    i, name, ctx, ctx.foldable);
            x = step.out();
            rank = step.rank();
            if (step.logits() != null) logits = step.logits();
            ctx.foldable = step.fold();
            nodes.add(new NetGraph.Node(i, name, conf.getClass().getSimpleName(), x.name()));
        }
        if (ctx.needTrainable) {
            throw new UnsupportedLayerException("the network has no convolution or dense layer: nothing to differentiate");
        }
        return new NetGraph(sd, INPUT, inputShape, nodes, logits, x.name());
    }

    /** One translated layer: its output, the output's rank, a conv a following BN may fold into, pre-softmax logits. */
    private record Step(SDVariable out, int rank, Folding fold, String logits) {
    }

    private static Step translate(SameDiff sd, SDVariable x, int rank, InputPreProcessor pre,
            org.deeplearning4j.nn.conf.layers.Layer conf, Layer layer, int i, String name, Ctx ctx, Folding foldable) {
        String where = "layer " + i + " '" + name + "' (" + conf.getClass().getSimpleName() + ")";
        String logits = null;
        if (pre != null) {
            x = preprocess(sd, x, rank, pre, where);
            rank = rankAfter(pre);
        }
        // frozen layers (transfer learning) compute exactly what they wrap
        if (conf instanceof org.deeplearning4j.nn.conf.layers.misc.FrozenLayer f) {
            conf = f.getLayer();
            if (layer instanceof org.deeplearning4j.nn.layers.FrozenLayer fl) layer = fl.getInsideLayer();
        } else if (conf instanceof org.deeplearning4j.nn.conf.layers.misc.FrozenLayerWithBackprop f) {
            conf = f.getUnderlying();
            if (layer instanceof org.deeplearning4j.nn.layers.FrozenLayerWithBackprop fl) layer = fl.getInsideLayer();
        }
        String v = "l" + i + "_" + sanitize(name);
        Folding fold = null;
        if (conf instanceof DepthwiseConvolution2D dw) {
            x = depthwise(sd, x, dw, layer, v, where, ctx);
        } else if (conf instanceof SeparableConvolution2D sep) {
            x = separable(sd, x, sep, layer, v, where, ctx);
        } else if (conf instanceof ConvolutionLayer c) {
            SDVariable in = x;
            x = convolution(sd, x, c, layer, v, where, ctx);
            if (pre == null && (c.getActivationFn() == null || c.getActivationFn() instanceof ActivationIdentity)) {
                fold = new Folding(in, c, layer, v + "_W");
            }
        } else if (conf instanceof BatchNormalization bn) {
            x = batchNorm(sd, x, rank, bn, layer, v, where, pre == null ? foldable : null, ctx);
        } else if (conf instanceof ActivationLayer a) {
            SDVariable z = x;
            x = activation(sd, v, x, a.getActivationFn(), where);
            // DL4J zoo nets (SqueezeNet, Darknet19) end in softmax ActivationLayer → LossLayer: the class score is
            // the softmax's input, not the probabilities the LossLayer receives
            if (a.getActivationFn() instanceof ActivationSoftmax) {
                logits = z.name();
                ctx.softmaxOutput = x.name();
            }
        } else if (conf instanceof SubsamplingLayer s) {
            x = pooling(sd, x, s, v, where);
        } else if (conf instanceof GlobalPoolingLayer g) {
            x = globalPooling(sd, x, rank, g, v, where);
            rank = g.isCollapseDimensions() ? 2 : 4;
        } else if (conf instanceof BaseOutputLayer o && !(conf instanceof LossLayer)) {
            // OutputLayer, and CenterLossOutputLayer (InceptionResNetV1): its centres only enter the training loss
            requireRank2(rank, where);
            SDVariable z = dense(sd, x, layer, v + "_logits", o.hasBias(), where, ctx);
            logits = z.name();
            x = activation(sd, v, z, o.getActivationFn(), where);
        } else if (conf instanceof DenseLayer d) {
            requireRank2(rank, where);
            SDVariable z = dense(sd, x, layer, v + "_z", d.hasBias(), where, ctx);
            // Keras imports end in a Dense softmax (no OutputLayer): its pre-activation is the class score
            if (d.getActivationFn() instanceof ActivationSoftmax) logits = z.name();
            x = activation(sd, v, z, d.getActivationFn(), where);
        } else if (conf instanceof LossLayer l) {
            boolean afterSoftmax = x.name().equals(ctx.softmaxOutput)
                    && (l.getActivationFn() == null || l.getActivationFn() instanceof ActivationIdentity);
            logits = afterSoftmax ? null : x.name(); // after a softmax layer the logits were set there
            x = activation(sd, v, x, l.getActivationFn(), where);
        } else if (conf instanceof org.deeplearning4j.nn.conf.layers.ZeroPaddingLayer zp) {
            int[] p = zp.getPadding(); // top, bottom, left, right
            x = sd.nn().pad(v, x, sd.constant(Nd4j.createFromArray(new int[][] {{0, 0}, {0, 0}, {p[0], p[1]}, {p[2], p[3]}})),
                    0.0);
        } else if (conf instanceof DropoutLayer) {
            x = sd.identity(v, x); // dropout is identity at inference
        } else {
            throw new UnsupportedLayerException("Unsupported layer type at " + where + ". Supported: "
                    + "ConvolutionLayer/Convolution2D, DepthwiseConvolution2D, SeparableConvolution2D, BatchNormalization, "
                    + "ActivationLayer, SubsamplingLayer (max/avg), GlobalPoolingLayer (avg/max/sum), DenseLayer, OutputLayer, "
                    + "CenterLossOutputLayer, LossLayer, DropoutLayer, ZeroPaddingLayer, frozen wrappers of these; in a "
                    + "ComputationGraph also MergeVertex, ElementWiseVertex, ScaleVertex, L2NormalizeVertex and "
                    + "PreprocessorVertex.");
        }
        return new Step(x, rank, fold, logits);
    }

    /**
     * A ComputationGraph with one input: vertices in topological order; layer vertices as above, MergeVertex as
     * concatenation along channels, ElementWiseVertex as add/subtract/product/average/max (skip connections).
     */
    public static NetGraph convert(ComputationGraph graph, int[] inputShape, DataType dataType) {
        var conf = graph.getConfiguration();
        if (conf.getNetworkInputs().size() != 1 || conf.getNetworkOutputs().size() != 1) {
            throw new UnsupportedLayerException("only graphs with one input and one output are supported (inputs "
                    + conf.getNetworkInputs() + ", outputs " + conf.getNetworkOutputs() + ")");
        }
        SameDiff sd = SameDiff.create();
        Ctx ctx = new Ctx();
        java.util.Map<String, Step> done = new java.util.HashMap<>();
        SDVariable input = sd.placeHolder(INPUT, dataType, -1, inputShape[0], -1, -1);
        String inputName = conf.getNetworkInputs().get(0);
        List<String> consumers = conf.getVertexInputs().entrySet().stream().filter(e -> e.getValue().contains(inputName))
                .map(java.util.Map.Entry::getKey).toList();
        boolean weightsFirst = consumers.size() == 1
                && conf.getVertices().get(consumers.get(0)) instanceof org.deeplearning4j.nn.conf.graph.LayerVertex lv0
                && hasWeights(lv0.getLayerConf().getLayer());
        done.put(inputName, new Step(weightsFirst ? input : inputGain(sd, input, ctx), 4, null, null));
        List<NetGraph.Node> nodes = new ArrayList<>();
        String logits = null;
        String[] order = graph.getConfiguration().getTopologicalOrderStr().toArray(new String[0]);
        int index = 0;
        for (String name : order) {
            if (done.containsKey(name)) continue; // the input
            var vertex = conf.getVertices().get(name);
            List<String> inputs = conf.getVertexInputs().get(name);
            List<Step> in = new ArrayList<>();
            for (String inName : inputs) in.add(done.get(inName));
            String where = "vertex " + index + " '" + name + "' (" + vertex.getClass().getSimpleName() + ")";
            String v = "v" + index + "_" + sanitize(name);
            Step step;
            if (vertex instanceof org.deeplearning4j.nn.conf.graph.LayerVertex lv) {
                requireOneInput(in, where);
                Step prev = in.get(0);
                var layerConf = lv.getLayerConf().getLayer();
                step = translate(sd, prev.out(), prev.rank(), lv.getPreProcessor(), layerConf, graph.getLayer(name), index,
                        name, ctx, prev.fold());
                nodes.add(new NetGraph.Node(index, name, layerConf.getClass().getSimpleName(), step.out().name()));
            } else if (vertex instanceof org.deeplearning4j.nn.conf.graph.PreprocessorVertex pv) {
                requireOneInput(in, where);
                step = new Step(sd.identity(v, preprocess(sd, in.get(0).out(), in.get(0).rank(), pv.getPreProcessor(), where)),
                        rankAfter(pv.getPreProcessor()), null, null);
                nodes.add(new NetGraph.Node(index, name, "PreprocessorVertex", step.out().name()));
            } else if (vertex instanceof org.deeplearning4j.nn.conf.graph.MergeVertex) {
                SDVariable[] xs = in.stream().map(Step::out).toArray(SDVariable[]::new);
                step = new Step(sd.concat(v, 1, xs), in.get(0).rank(), null, null);
                nodes.add(new NetGraph.Node(index, name, "MergeVertex", step.out().name()));
            } else if (vertex instanceof org.deeplearning4j.nn.conf.graph.ElementWiseVertex ew) {
                SDVariable acc = in.get(0).out();
                for (int k = 1; k < in.size(); k++) {
                    SDVariable b = in.get(k).out();
                    acc = switch (ew.getOp()) {
                        case Add, Average -> acc.add(b);
                        case Subtract -> acc.sub(b);
                        case Product -> acc.mul(b);
                        case Max -> sd.math().max(acc, b);
                    };
                }
                if (ew.getOp() == org.deeplearning4j.nn.conf.graph.ElementWiseVertex.Op.Average) acc = acc.div(in.size());
                step = new Step(sd.identity(v, acc), in.get(0).rank(), null, null);
                nodes.add(new NetGraph.Node(index, name, "ElementWiseVertex(" + ew.getOp() + ")", step.out().name()));
            } else if (vertex instanceof org.deeplearning4j.nn.conf.graph.ScaleVertex sv) {
                requireOneInput(in, where);
                step = new Step(in.get(0).out().mul(v, sv.getScaleFactor()), in.get(0).rank(), null, null);
                nodes.add(new NetGraph.Node(index, name, "ScaleVertex", step.out().name()));
            } else if (vertex instanceof org.deeplearning4j.nn.conf.graph.L2NormalizeVertex l2) {
                requireOneInput(in, where);
                step = new Step(l2Normalize(sd, in.get(0), l2, v), in.get(0).rank(), null, null);
                nodes.add(new NetGraph.Node(index, name, "L2NormalizeVertex", step.out().name()));
            } else {
                throw new UnsupportedLayerException("Unsupported graph vertex at " + where
                        + ". Supported: layer vertices, MergeVertex, ElementWiseVertex, ScaleVertex, L2NormalizeVertex, "
                        + "PreprocessorVertex.");
            }
            if (step.logits() != null) logits = step.logits();
            done.put(name, step);
            index++;
        }
        if (ctx.needTrainable) {
            throw new UnsupportedLayerException("the network has no convolution or dense layer: nothing to differentiate");
        }
        String out = done.get(conf.getNetworkOutputs().get(0)).out().name();
        return new NetGraph(sd, INPUT, inputShape, nodes, logits, out);
    }

    /** DL4J's L2NormalizeVertex: x / max(‖x‖₂, eps) over every axis but the batch (or the configured ones). */
    private static SDVariable l2Normalize(SameDiff sd, Step in, org.deeplearning4j.nn.conf.graph.L2NormalizeVertex l2,
            String v) {
        int[] dims = l2.getDimension();
        if (dims == null || dims.length == 0) {
            dims = new int[in.rank() - 1];
            for (int k = 0; k < dims.length; k++) dims[k] = k + 1;
        }
        SDVariable x = in.out();
        SDVariable norm = sd.norm2(x, true, dims);
        SDVariable floor = sd.constant(v + "_eps", Nd4j.scalar(x.dataType(), l2.getEps()));
        return x.div(v, sd.math().max(norm, floor));
    }

    /** The variable {@link #inputGain} multiplies the input with (1, never trained). */
    public static final String INPUT_GAIN = "input_gain";

    /**
     * SameDiff M2.1 builds gradient ops only downstream of a trainable variable, and we make only the first weights
     * trainable: when the input first meets a weightless op (Keras MobileNetV2's ZeroPadding2D) or several consumers
     * (a branch whose weights are constants), the input gradient would be missing or silently partial. A trainable
     * gain of 1 on the input puts every op downstream of a variable.
     */
    private static SDVariable inputGain(SameDiff sd, SDVariable input, Ctx ctx) {
        ctx.needTrainable = false;
        ctx.trainable = INPUT_GAIN;
        return input.mul(sd.var(INPUT_GAIN, Nd4j.scalar(input.dataType(), 1.0)));
    }

    private static boolean hasWeights(org.deeplearning4j.nn.conf.layers.Layer l) {
        if (l instanceof org.deeplearning4j.nn.conf.layers.misc.FrozenLayer f) l = f.getLayer();
        if (l instanceof org.deeplearning4j.nn.conf.layers.misc.FrozenLayerWithBackprop f) l = f.getUnderlying();
        return l instanceof ConvolutionLayer || l instanceof DenseLayer
                || l instanceof BaseOutputLayer && !(l instanceof LossLayer);
    }

    private static void requireOneInput(List<?> in, String where) {
        if (in.size() != 1) throw new UnsupportedLayerException(where + " has " + in.size() + " inputs; layers take one");
    }

    static String sanitize(String s) {
        return s.replaceAll("[^A-Za-z0-9_]", "_");
    }

    private static int rankAfter(InputPreProcessor pre) {
        return pre instanceof org.deeplearning4j.nn.conf.preprocessor.FeedForwardToCnnPreProcessor ? 4 : 2;
    }

    private static SDVariable preprocess(SameDiff sd, SDVariable x, int rank, InputPreProcessor pre, String where) {
        if (pre instanceof CnnToFeedForwardPreProcessor p) {
            // DL4J flattens in C order of its layout: [B, C*H*W] for NCHW, [B, H*W*C] (Keras order) for NHWC
            if (p.getFormat() == CNN2DFormat.NHWC) x = sd.permute(x, 0, 2, 3, 1);
            return sd.reshape(x, sd.concat(0, sd.sizeAt(x, 0).castTo(DataType.LONG).reshape(1),
                    sd.constant(Nd4j.createFromArray(-1L))));
        }
        if (pre instanceof org.deeplearning4j.nn.conf.preprocessor.FeedForwardToCnnPreProcessor p) {
            // DL4J's zoo VGG16 declares flat input; it passes 4-D input through unchanged, and our input is always 4-D
            // NCHW, so only a flat activation inside the graph needs the reshape
            return rank == 4 ? x
                    : sd.reshape(x, sd.concat(0, sd.sizeAt(x, 0).castTo(DataType.LONG).reshape(1),
                            sd.constant(Nd4j.createFromArray(p.getNumChannels(), p.getInputHeight(), p.getInputWidth()))));
        }
        throw new UnsupportedLayerException("Unsupported input preprocessor " + pre.getClass().getSimpleName()
                + " before " + where);
    }

    /** Conversion state: whether a trainable variable still has to be placed, and a conv BN may fold into. */
    private static final class Ctx {
        boolean needTrainable = true;
        String trainable;
        Folding foldable;
        /** The output of the last softmax ActivationLayer (a LossLayer after it keeps the logits found there). */
        String softmaxOutput;

        /** SameDiff refuses to differentiate a graph without a trainable variable: the first weights become one. */
        SDVariable weights(SameDiff sd, String name, INDArray w) {
            if (needTrainable) {
                needTrainable = false;
                trainable = name;
                return sd.var(name, w);
            }
            return sd.constant(name, w);
        }
    }

    /** A convolution with identity activation whose following BatchNormalization can be folded into it. */
    private record Folding(SDVariable input, ConvolutionLayer conf, Layer layer, String weightsName) {
    }

    private static Conv2DConfig convConfig(ConvolutionLayer c, String where) {
        int[] k = c.getKernelSize();
        int[] s = c.getStride();
        int[] p = c.getPadding();
        int[] d = c.getDilation();
        return Conv2DConfig.builder()
                .kH(k[0]).kW(k[1]).sH(s[0]).sW(s[1]).pH(p[0]).pW(p[1]).dH(d[0]).dW(d[1])
                .paddingMode(paddingMode(c.getConvolutionMode(), where))
                .dataFormat("NCHW")
                .build();
    }

    private static SDVariable convolution(SameDiff sd, SDVariable x, ConvolutionLayer c, Layer layer, String v, String where,
            Ctx ctx) {
        if (c.getClass() != ConvolutionLayer.class && c.getClass() != Convolution2D.class) {
            throw new UnsupportedLayerException("Unsupported convolution variant at " + where
                    + ": only standard 2-D convolution is translated");
        }
        requireNchw(c.getCnn2dDataFormat(), where);
        Conv2DConfig cfg = convConfig(c, where);
        // DL4J stores OIYX; SameDiff's conv2d (and conv2d_bp) expect YXIO
        DataType dt = x.dataType();
        INDArray w = layer.getParam("W").permute(2, 3, 1, 0).dup('c').castTo(dt);
        SDVariable wv = ctx.weights(sd, v + "_W", w);
        SDVariable bv = c.hasBias() ? sd.constant(v + "_b", layer.getParam("b").reshape(-1).dup().castTo(dt)) : null;
        SDVariable z = bv == null ? sd.cnn().conv2d(v + "_z", x, wv, cfg) : sd.cnn().conv2d(v + "_z", x, wv, bv, cfg);
        return activation(sd, v, z, c.getActivationFn(), where);
    }

    /** DL4J depthwise weights are [kH, kW, in, multiplier], the layout SameDiff's depthwise_conv2d takes. */
    private static SDVariable depthwise(SameDiff sd, SDVariable x, DepthwiseConvolution2D c, Layer layer, String v,
            String where, Ctx ctx) {
        requireNchw(c.getCnn2dDataFormat(), where);
        DataType dt = x.dataType();
        SDVariable w = ctx.weights(sd, v + "_W", layer.getParam("W").dup('c').castTo(dt));
        SDVariable z = c.hasBias()
                ? sd.cnn().depthWiseConv2d(v + "_z", x, w, sd.constant(v + "_b", layer.getParam("b").reshape(-1).dup().castTo(dt)),
                        convConfig(c, where))
                : sd.cnn().depthWiseConv2d(v + "_z", x, w, convConfig(c, where));
        return activation(sd, v, z, c.getActivationFn(), where);
    }

    /**
     * DL4J separable weights: depthwise [multiplier, in, kH, kW] and pointwise [out, in·multiplier, 1, 1];
     * SameDiff wants [kH, kW, in, multiplier] and [1, 1, in·multiplier, out].
     */
    private static SDVariable separable(SameDiff sd, SDVariable x, SeparableConvolution2D c, Layer layer, String v,
            String where, Ctx ctx) {
        requireNchw(c.getCnn2dDataFormat(), where);
        DataType dt = x.dataType();
        SDVariable dw = ctx.weights(sd, v + "_W", layer.getParam("W").permute(2, 3, 1, 0).dup('c').castTo(dt));
        SDVariable pw = sd.constant(v + "_pW", layer.getParam("pW").permute(2, 3, 1, 0).dup('c').castTo(dt));
        SDVariable b = c.hasBias() ? sd.constant(v + "_b", layer.getParam("b").reshape(-1).dup().castTo(dt)) : null;
        SDVariable z = b == null ? sd.cnn().separableConv2d(x, dw, pw, convConfig(c, where))
                : sd.cnn().separableConv2d(x, dw, pw, b, convConfig(c, where));
        return activation(sd, v, z, c.getActivationFn(), where);
    }

    /** Inference-mode batch normalization as y = x·scale + shift per channel: {scale, shift}, DL4J's own formula. */
    public static double[][] batchNormAffine(BatchNormalization bn, Layer layer) {
        double[] mean = layer.getParam(BatchNormalizationParamInitializer.GLOBAL_MEAN).reshape(-1).toDoubleVector();
        int ch = mean.length;
        double[] std = new double[ch];
        if (bn.isUseLogStd()) {
            double[] log10std = layer.getParam(BatchNormalizationParamInitializer.GLOBAL_LOG_STD).reshape(-1).toDoubleVector();
            // DL4J M2.1 inference: var = (10^log10std)^2, then divides by sqrt(var + eps) (checked against its output)
            for (int c = 0; c < ch; c++) std[c] = Math.sqrt(Math.pow(10, 2 * log10std[c]) + bn.getEps());
        } else {
            double[] var = layer.getParam(BatchNormalizationParamInitializer.GLOBAL_VAR).reshape(-1).toDoubleVector();
            for (int c = 0; c < ch; c++) std[c] = Math.sqrt(var[c] + bn.getEps());
        }
        double[] gamma = bn.isLockGammaBeta() ? filled(ch, bn.getGamma())
                : layer.getParam(BatchNormalizationParamInitializer.GAMMA).reshape(-1).toDoubleVector();
        double[] beta = bn.isLockGammaBeta() ? filled(ch, bn.getBeta())
                : layer.getParam(BatchNormalizationParamInitializer.BETA).reshape(-1).toDoubleVector();
        double[] scaleV = new double[ch];
        double[] shiftV = new double[ch];
        for (int c = 0; c < ch; c++) {
            scaleV[c] = gamma[c] / std[c];
            shiftV[c] = beta[c] - mean[c] * scaleV[c];
        }
        return new double[][] {scaleV, shiftV};
    }

    private static SDVariable batchNorm(SameDiff sd, SDVariable x, int rank, BatchNormalization bn, Layer layer, String v,
            String where, Folding fold, Ctx ctx) {
        double[][] affine = batchNormAffine(bn, layer);
        double[] scaleV = affine[0];
        double[] shiftV = affine[1];
        int ch = scaleV.length;
        // DL4J M2.1's BatchNormalization layer never applies its configured activation (it inherits the global
        // default, often sigmoid, which DL4J then ignores): mirror that.
        DataType dt = x.dataType();
        if (fold != null && rank == 4) {
            // conv then BN = one conv with per-output-channel scaled weights and shifted bias: exact, and fast
            // (ND4J's broadcast multiply is slow on this build)
            INDArray w = fold.layer().getParam("W").castTo(DataType.DOUBLE).dup('c'); // [O, I, kH, kW]
            double[] bias = fold.conf().hasBias() ? fold.layer().getParam("b").reshape(-1).toDoubleVector() : new double[ch];
            // one broadcast multiply over [O, I·kH·kW] (a view per output channel took ~10 s on Darknet19's 6,000)
            w.reshape(ch, -1).muliColumnVector(Nd4j.createFromArray(scaleV).reshape(ch, 1));
            for (int o = 0; o < ch; o++) bias[o] = bias[o] * scaleV[o] + shiftV[o];
            INDArray wf = w.permute(2, 3, 1, 0).dup('c').castTo(dt);
            // the folded path must keep the graph's trainable variable if the conv held it
            SDVariable wv = fold.weightsName().equals(ctx.trainable) ? sd.var(v + "_foldW", wf) : sd.constant(v + "_foldW", wf);
            SDVariable bv = sd.constant(v + "_foldb", Nd4j.createFromArray(bias).castTo(dt));
            return sd.cnn().conv2d(v, fold.input(), wv, bv, convConfig(fold.conf(), where));
        }
        if (rank == 4) requireNchw(bn.getCnn2DFormat(), where);
        // elsewhere: the per-channel affine map as broadcast multiply-add (SameDiff's batchnorm op cannot be
        // differentiated in M2.1: its backprop loses the axis argument)
        long[] bshape = rank == 4 ? new long[] {1, ch, 1, 1} : new long[] {1, ch};
        SDVariable sc = sd.constant(v + "_scale", Nd4j.createFromArray(scaleV).castTo(dt).reshape(bshape));
        SDVariable sh = sd.constant(v + "_shift", Nd4j.createFromArray(shiftV).castTo(dt).reshape(bshape));
        return x.mul(sc).add(v, sh);
    }

    private static SDVariable pooling(SameDiff sd, SDVariable x, SubsamplingLayer s, String v, String where) {
        requireNchw(s.getCnn2dDataFormat(), where);
        int[] k = s.getKernelSize();
        int[] st = s.getStride();
        int[] p = s.getPadding();
        int[] d = s.getDilation();
        Pooling2DConfig.Pooling2DConfigBuilder b = Pooling2DConfig.builder()
                .kH(k[0]).kW(k[1]).sH(st[0]).sW(st[1]).pH(p[0]).pW(p[1]).dH(d[0]).dW(d[1])
                .paddingMode(paddingMode(s.getConvolutionMode(), where))
                .isNHWC(false);
        PoolingType t = s.getPoolingType();
        if (t == PoolingType.MAX) {
            return sd.cnn().maxPooling2d(v, x, b.type(Pooling2D.Pooling2DType.MAX).build());
        } else if (t == PoolingType.AVG) {
            b.divisor(s.isAvgPoolIncludePadInDivisor() ? Pooling2D.Divisor.INCLUDE_PADDING : Pooling2D.Divisor.EXCLUDE_PADDING);
            return sd.cnn().avgPooling2d(v, x, b.type(Pooling2D.Pooling2DType.AVG).build());
        }
        throw new UnsupportedLayerException("Unsupported pooling type " + t + " at " + where + " (max and avg are supported)");
    }

    private static SDVariable globalPooling(SameDiff sd, SDVariable x, int rank, GlobalPoolingLayer g, String v, String where) {
        int[] dims = g.getPoolingDimensions() == null ? new int[] {2, 3} : g.getPoolingDimensions();
        if (rank == 4) {
            // our graph is NCHW: [2,3] are the spatial axes, and so are an NHWC layer's [1,2] (Keras imports)
            if (!java.util.Arrays.equals(dims, new int[] {2, 3}) && !java.util.Arrays.equals(dims, new int[] {1, 2})) {
                throw new UnsupportedLayerException("Unsupported global pooling over dimensions "
                        + java.util.Arrays.toString(dims) + " at " + where + " (spatial pooling only)");
            }
            dims = new int[] {2, 3};
        }
        boolean keep = !g.isCollapseDimensions();
        return switch (g.getPoolingType()) {
            case AVG -> sd.mean(v, x, keep, dims);
            case MAX -> sd.max(v, x, keep, dims);
            case SUM -> sd.sum(v, x, keep, dims);
            default -> throw new UnsupportedLayerException("Unsupported global pooling type " + g.getPoolingType()
                    + " at " + where + " (avg, max and sum are supported)");
        };
    }

    private static SDVariable dense(SameDiff sd, SDVariable x, Layer layer, String v, boolean bias, String where, Ctx ctx) {
        DataType dt = x.dataType();
        SDVariable w = ctx.weights(sd, v + "_W", layer.getParam("W").dup().castTo(dt));
        SDVariable z = x.mmul(w);
        if (bias) {
            SDVariable b = sd.constant(v + "_b", layer.getParam("b").reshape(1, -1).dup().castTo(dt));
            return z.add(v, b);
        }
        return sd.identity(v, z);
    }

    static SDVariable activation(SameDiff sd, String v, SDVariable z, IActivation a, String where) {
        if (a == null || a instanceof ActivationIdentity) {
            return sd.identity(v, z);
        } else if (a instanceof ActivationReLU r) {
            double max = r.getMax() == null ? 0 : r.getMax();
            double slope = r.getNegativeSlope() == null ? 0 : r.getNegativeSlope();
            if (r.getThreshold() != null && r.getThreshold() != 0) {
                throw new UnsupportedLayerException("Unsupported ReLU threshold " + r.getThreshold() + " at " + where);
            }
            if (max > 0 && slope != 0) {
                throw new UnsupportedLayerException("Unsupported ReLU with both max and negative slope at " + where);
            }
            if (slope != 0) return sd.nn().leakyRelu(v, z, slope);
            if (max > 0) {
                // Keras ReLU(max_value): min(relu(z), max) = relu(z) − relu(z − max), exact and differentiable
                return sd.nn().relu(z, 0.0).sub(v, sd.nn().relu(z.sub(max), 0.0));
            }
            return sd.nn().relu(v, z, 0.0);
        } else if (a instanceof ActivationReLU6) {
            return sd.nn().relu6(v, z, 0.0);
        } else if (a instanceof ActivationLReLU l) {
            return sd.nn().leakyRelu(v, z, l.getAlpha());
        } else if (a instanceof ActivationSigmoid) {
            return sd.nn().sigmoid(v, z);
        } else if (a instanceof ActivationTanH) {
            return sd.math().tanh(v, z);
        } else if (a instanceof ActivationSoftmax) {
            return sd.nn().softmax(v, z, 1);
        } else if (a instanceof ActivationELU e) {
            if (e.getAlpha() != 1.0) throw new UnsupportedLayerException("Unsupported ELU alpha " + e.getAlpha() + " at " + where);
            return sd.nn().elu(v, z);
        } else if (a instanceof ActivationSELU) {
            return sd.nn().selu(v, z);
        } else if (a instanceof ActivationSoftPlus) {
            return sd.nn().softplus(v, z);
        } else if (a instanceof ActivationSwish) {
            return sd.nn().swish(v, z);
        } else if (a instanceof ActivationHardSigmoid) {
            return sd.nn().hardSigmoid(v, z);
        } else if (a instanceof ActivationHardTanH) {
            return sd.nn().hardTanh(v, z);
        }
        throw new UnsupportedLayerException("Unsupported activation " + a + " at " + where);
    }

    private static PaddingMode paddingMode(ConvolutionMode mode, String where) {
        return switch (mode) {
            case Same -> PaddingMode.SAME;
            case Truncate, Strict -> PaddingMode.VALID;
            case Causal -> PaddingMode.CAUSAL;
        };
    }

    /**
     * Our graph is NCHW throughout. DL4J's NHWC layers (Keras and TF.js imports) compute the same function with the
     * same parameter layout on permuted data, so they translate unchanged; only flattening depends on the layout
     * (see {@link #preprocess}).
     */
    private static void requireNchw(CNN2DFormat f, String where) {
        if (f != null && f != CNN2DFormat.NCHW && f != CNN2DFormat.NHWC) {
            throw new UnsupportedLayerException("Unsupported data format " + f + " at " + where);
        }
    }

    private static double[] filled(int n, double v) {
        double[] a = new double[n];
        java.util.Arrays.fill(a, v);
        return a;
    }

    private static void requireRank2(int rank, String where) {
        if (rank != 2) {
            throw new UnsupportedLayerException("Dense layer at " + where + " receives a 4-D activation without a "
                    + "flattening preprocessor; DL4J would add CnnToFeedForwardPreProcessor when built with setInputType");
        }
    }
}
