package org.atlas4j.attribution;

import java.util.ArrayList;
import java.util.List;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Copies of a model with its top layers re-initialized, for the cascading randomization test: each layer gets its
 * own configured initializer (weights as at the start of training, biases and BN to their initial values), drawn from
 * ND4J's generator seeded per layer, so step s randomizes the same weights step s−1 did plus one more layer.
 */
public final class ModelRandomizer {
    private ModelRandomizer() {
    }

    /** Names of the layers that hold parameters, output side first. */
    public static List<String> parameterizedLayersTopDown(Model model) {
        List<String> names = new ArrayList<>();
        for (Layer l : layersTopDown(model)) names.add(l.conf().getLayer().getLayerName());
        return names;
    }

    private static List<Layer> layersTopDown(Model model) {
        List<Layer> out = new ArrayList<>();
        if (model instanceof MultiLayerNetwork mln) {
            for (int i = mln.getnLayers() - 1; i >= 0; i--) {
                if (mln.getLayer(i).numParams() > 0) out.add(mln.getLayer(i));
            }
        } else if (model instanceof ComputationGraph cg) {
            List<String> order = cg.getConfiguration().getTopologicalOrderStr();
            for (int i = order.size() - 1; i >= 0; i--) {
                Layer l = cg.getLayer(order.get(i));
                if (l != null && l.numParams() > 0) out.add(l);
            }
        } else {
            throw new IllegalArgumentException("unsupported model type " + model.getClass().getSimpleName());
        }
        return out;
    }

    /** A copy of {@code model} whose {@code count} topmost parameterized layers are re-initialized. */
    public static Model randomizeTop(Model model, int count, long seed) {
        Model copy = model instanceof MultiLayerNetwork mln ? mln.clone() : ((ComputationGraph) model).clone();
        List<Layer> layers = layersTopDown(copy);
        for (int s = 0; s < Math.min(count, layers.size()); s++) {
            Layer l = layers.get(s);
            Nd4j.getRandom().setSeed(seed * 1_000_003L + s);
            // the initializer writes into views of the layer's parameter vector, which is a view of the model's
            l.conf().getLayer().initializer().init(l.conf(), l.params(), true);
        }
        return copy;
    }
}
