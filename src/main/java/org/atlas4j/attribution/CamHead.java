package org.atlas4j.attribution;

import java.util.ArrayList;
import java.util.List;

import org.atlas4j.util.UserError;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.layers.BaseOutputLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.DropoutLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.LossLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.activations.impl.ActivationSoftmax;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The class weights CAM needs (Zhou et al. 2016): the layer must feed global average pooling and then one dense
 * layer whose output is the class scores. {@code weights[k * classes + c]} is w^c_k.
 */
public record CamHead(String layer, int channels, int classes, float[] weights) {

    public double[] classWeights(int c) {
        double[] w = new double[channels];
        for (int k = 0; k < channels; k++) w[k] = weights[k * classes + c];
        return w;
    }

    /** The head after {@code layer} of a loaded model of any format (DL4J network or ONNX graph). */
    public static CamHead find(org.atlas4j.model.LoadedModel model, String layer) {
        if (model.network() != null) return find(model.network(), layer);
        if (model.onnx() != null) return find(model.onnx(), layer, java.util.Map.of());
        throw refusal(layer, "the model has neither a DL4J network nor an ONNX graph");
    }

    /**
     * The head after {@code layer} of an ONNX model: GlobalAveragePool → (Flatten) → Gemm/MatMul giving the scores.
     *
     * @param overrides re-initialized weights by initializer name (sanity randomization), or empty
     */
    public static CamHead find(org.atlas4j.model.OnnxModel onnx, String layer, java.util.Map<String, INDArray> overrides) {
        try {
            var h = onnx.denseHead(layer, overrides);
            return new CamHead(layer, h.channels(), h.classes(), h.weights());
        } catch (org.atlas4j.model.SameDiffConverter.UnsupportedLayerException e) {
            throw refusal(layer, e.getMessage());
        }
    }

    /** The head after {@code layer}, or a refusal that names the requirement and what the model has instead. */
    public static CamHead find(Model network, String layer) {
        List<org.deeplearning4j.nn.conf.layers.Layer> after = new ArrayList<>();
        INDArray w;
        if (network instanceof MultiLayerNetwork mln) {
            int n = mln.getnLayers();
            int at = -1;
            for (int i = 0; i < n; i++) {
                if (layer.equals(mln.getLayer(i).conf().getLayer().getLayerName())) at = i;
            }
            if (at < 0) throw new UserError("CAM: no layer named '" + layer + "'");
            for (int i = at + 1; i < n; i++) after.add(mln.getLayer(i).conf().getLayer());
            w = denseWeights(layer, after, mln::getLayer, at);
        } else if (network instanceof ComputationGraph cg) {
            // follow the chain of single consumers from the layer to the network output
            var conf = cg.getConfiguration();
            String cur = layer;
            List<String> names = new ArrayList<>();
            while (true) {
                List<String> consumers = new ArrayList<>();
                for (var e : conf.getVertexInputs().entrySet()) {
                    if (e.getValue().contains(cur)) consumers.add(e.getKey());
                }
                if (consumers.isEmpty()) break;
                if (consumers.size() > 1 || conf.getVertexInputs().get(consumers.get(0)).size() > 1
                        || !(conf.getVertices().get(consumers.get(0)) instanceof LayerVertex)) {
                    throw refusal(layer, "'" + cur + "' feeds " + consumers + " (a branch or merge, not a plain head)");
                }
                cur = consumers.get(0);
                names.add(cur);
                after.add(((LayerVertex) conf.getVertices().get(cur)).getLayerConf().getLayer());
            }
            w = denseWeights(layer, after, i -> cg.getLayer(names.get(i)), -1);
        } else {
            throw refusal(layer, "the model is neither a MultiLayerNetwork nor a ComputationGraph");
        }
        int k = (int) w.size(0);
        int c = (int) w.size(1);
        float[] data = w.castTo(org.nd4j.linalg.api.buffer.DataType.FLOAT).dup('c').data().asFloat();
        return new CamHead(layer, k, c, data);
    }

    /** Checks GAP(avg) → dense → (output) and returns the dense W [K, classes]. */
    private static INDArray denseWeights(String layer, List<org.deeplearning4j.nn.conf.layers.Layer> after,
            java.util.function.IntFunction<org.deeplearning4j.nn.api.Layer> layerAt, int offset) {
        String what = describe(after);
        List<Integer> idx = new ArrayList<>();
        for (int i = 0; i < after.size(); i++) {
            if (!(after.get(i) instanceof DropoutLayer)) idx.add(i);
        }
        boolean ok = idx.size() >= 2 && after.get(idx.get(0)) instanceof GlobalPoolingLayer g && g.getPoolingType() == PoolingType.AVG;
        int dense = ok ? idx.get(1) : -1;
        if (ok) {
            var d = after.get(dense);
            if (d instanceof BaseOutputLayer) {
                ok = idx.size() == 2; // the output layer's pre-activation is the class score
            } else if (d instanceof DenseLayer dl) {
                boolean identity = dl.getActivationFn() == null || dl.getActivationFn() instanceof ActivationIdentity;
                // a Dense softmax at the end (Keras imports) or an identity Dense before a loss layer
                ok = (idx.size() == 2 && (identity || dl.getActivationFn() instanceof ActivationSoftmax))
                        || (idx.size() == 3 && after.get(idx.get(2)) instanceof LossLayer && identity);
            } else {
                ok = false;
            }
        }
        if (!ok) throw refusal(layer, "after it the model has " + what);
        int at = offset >= 0 ? offset + 1 + dense : dense;
        return layerAt.apply(at).getParam("W");
    }

    private static String describe(List<org.deeplearning4j.nn.conf.layers.Layer> after) {
        if (after.isEmpty()) return "nothing (it is the last layer)";
        List<String> parts = new ArrayList<>();
        for (var l : after) {
            String s = l.getClass().getSimpleName();
            if (l instanceof GlobalPoolingLayer g) s += "(" + g.getPoolingType() + ")";
            parts.add(s);
        }
        return String.join(" → ", parts);
    }

    private static UserError refusal(String layer, String detail) {
        return new UserError("CAM needs the explained layer to feed global average pooling and then one dense layer that "
                + "gives the class scores (Zhou et al. 2016); for layer '" + layer + "' " + detail
                + ". Use --method gradcam (or gradcam++), which works with any head and equals CAM on such heads.");
    }
}
