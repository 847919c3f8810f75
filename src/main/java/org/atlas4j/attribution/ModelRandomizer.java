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

    /** A run of consecutive parameterized layers (top-down): one step of a block-wise cascade. */
    public record Block(String name, int layers) {
    }

    /**
     * The parameterized layers grouped top-down into blocks of at most {@code maxBlocks}, so the cascade over a
     * 50–150-layer network has one step per block (ResNet-50's 106 weighted layers took 106 whole explain passes).
     * DL4J has no module scopes: a ComputationGraph's blocks end where every branch has merged (one live activation:
     * a residual block's output, a fire module's concatenation), named after that vertex; a chain's layers are its own
     * cut points. Runs of blocks are then merged evenly down to {@code maxBlocks}. A network with at most
     * {@code maxBlocks} weighted layers keeps one step per layer.
     */
    public static List<Block> parameterizedBlocksTopDown(Model model, int maxBlocks) {
        List<String> top = parameterizedLayersTopDown(model);
        if (top.size() <= maxBlocks) return top.stream().map(n -> new Block(n, 1)).toList();
        List<Block> bottomUp = new ArrayList<>();
        if (model instanceof ComputationGraph cg) {
            var conf = cg.getConfiguration();
            List<String> order = conf.getTopologicalOrderStr();
            java.util.Map<String, Integer> lastUse = new java.util.HashMap<>();
            for (int i = 0; i < order.size(); i++) {
                List<String> ins = conf.getVertexInputs().get(order.get(i));
                if (ins != null) for (String in : ins) lastUse.put(in, i);
            }
            for (String out : conf.getNetworkOutputs()) lastUse.put(out, order.size());
            int count = 0;
            for (int i = 0; i < order.size(); i++) {
                Layer l = cg.getLayer(order.get(i));
                if (l != null && l.numParams() > 0) count++;
                int live = 0;
                for (int j = 0; j <= i; j++) if (lastUse.getOrDefault(order.get(j), -1) > i) live++;
                if (live == 1 && count > 0) {
                    bottomUp.add(new Block(order.get(i), count));
                    count = 0;
                }
            }
            if (count > 0) bottomUp.add(new Block(order.get(order.size() - 1), count));
        } else {
            for (int i = top.size() - 1; i >= 0; i--) bottomUp.add(new Block(top.get(i), 1));
        }
        List<Block> blocks = new ArrayList<>(bottomUp.reversed());
        if (blocks.size() <= maxBlocks) return blocks;
        // merge runs of consecutive blocks, named after the topmost of each run
        int per = (blocks.size() + maxBlocks - 1) / maxBlocks;
        List<Block> merged = new ArrayList<>();
        for (int k = 0; k < blocks.size(); k += per) {
            List<Block> run = blocks.subList(k, Math.min(blocks.size(), k + per));
            merged.add(new Block(run.get(0).name(), run.stream().mapToInt(Block::layers).sum()));
        }
        return merged;
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
