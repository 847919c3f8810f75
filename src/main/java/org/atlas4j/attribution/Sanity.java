package org.atlas4j.attribution;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.atlas4j.model.NetGraph;
import org.atlas4j.model.SameDiffConverter;
import org.atlas4j.util.Progress;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * Do the maps mean anything? The checks of Adebayo et al. 2018 ("Sanity Checks for Saliency Maps"):
 * <ul>
 * <li>cascading model-parameter randomization: re-initialize the weights from the logits downwards, one layer more per
 * step, with each layer's own initializer; the maps' Spearman rank correlation with the trained model's must fall;
 * <li>class sensitivity: the maps for the top-1 and top-2 class of the same image must differ;
 * <li>edge-detector baseline: the rank correlation of each map with the image's Sobel magnitude (high = warning).
 * </ul>
 * Rank correlations treat a constant map as carrying no ordering: ρ = 0 against a non-constant map, 1 against another
 * constant map; images whose trained-model map is constant are left out of the randomization curve.
 */
public final class Sanity {
    private Sanity() {
    }

    /** One step of the cascade: the layers randomized so far (top first) and each method's mean ρ with the original. */
    public record Step(List<String> randomized, Map<String, Double> meanRho, Map<String, Double> sdRho) {
    }

    public record Report(int images, String layer, List<String> methods, List<Step> cascade,
            Map<String, Double> classSensitivityRho, Map<String, Double> classIdenticalFraction,
            Map<String, Double> sobelRho, long seed) {
    }

    /** Most cascade steps for an ONNX network: its weighted layers are grouped into module blocks up to this many. */
    static final int MAX_BLOCKS = 24;

    /** A randomized copy of the model for the cascade: its graph and its CAM head finder. */
    record Variant(NetGraph graph, java.util.function.Function<String, CamHead> cam) {
    }

    /** What the cascade needs from a model kind: its weighted layers top-down and copies with the top ones re-drawn. */
    interface Cascade {
        List<String> layersTopDown();

        CamHead cam(String layer);

        Variant randomizeTop(int count, long seed);
    }

    /** The checks on a loaded model of any format: DL4J layers or, for ONNX, the SameDiff graph's weights. */
    public static Report run(org.atlas4j.model.LoadedModel model, String layer, Explainer.Options options, float[] images,
            int n, long[] keys) {
        if (model.network() != null) return run(model.network(), model.graph(), layer, options, images, n, keys);
        org.atlas4j.model.OnnxModel onnx = model.onnx();
        int[] shape = model.graph().inputShape();
        // one cascade step per module block (at most MAX_BLOCKS): a step per conv of a 50–150-layer network costs a
        // whole explain pass each
        List<org.atlas4j.model.OnnxModel.Block> blocks = onnx.parameterizedBlocksTopDown(MAX_BLOCKS);
        Cascade c = new Cascade() {
            public List<String> layersTopDown() { return blocks.stream().map(org.atlas4j.model.OnnxModel.Block::name).toList(); }
            public CamHead cam(String l) { return CamHead.find(onnx, l, Map.of()); }
            public Variant randomizeTop(int count, long seed) {
                int layers = blocks.subList(0, count).stream().mapToInt(org.atlas4j.model.OnnxModel.Block::layers).sum();
                var r = onnx.randomizeTop(layers, seed, shape, DataType.FLOAT);
                return new Variant(r.graph(), l -> CamHead.find(onnx, l, r.overrides()));
            }
        };
        return run(c, model.graph(), layer, options, images, n, keys);
    }

    /**
     * @param images n images in the model's input scaling, NCHW
     * @param network the trained DL4J model; randomized copies are made from it
     */
    public static Report run(Model network, NetGraph graph, String layer, Explainer.Options options, float[] images, int n,
            long[] keys) {
        int[] shape = graph.inputShape();
        // one cascade step per block (at most MAX_BLOCKS), as for ONNX networks
        List<ModelRandomizer.Block> blocks = ModelRandomizer.parameterizedBlocksTopDown(network, MAX_BLOCKS);
        Cascade c = new Cascade() {
            public List<String> layersTopDown() { return blocks.stream().map(ModelRandomizer.Block::name).toList(); }
            public CamHead cam(String l) { return CamHead.find(network, l); }
            public Variant randomizeTop(int count, long seed) {
                int layers = blocks.subList(0, count).stream().mapToInt(ModelRandomizer.Block::layers).sum();
                Model random = ModelRandomizer.randomizeTop(network, layers, seed);
                return new Variant(convert(random, shape), l -> CamHead.find(random, l));
            }
        };
        return run(c, graph, layer, options, images, n, keys);
    }

    private static Report run(Cascade model, NetGraph graph, String layer, Explainer.Options options, float[] images, int n,
            long[] keys) {
        int[] shape = graph.inputShape();
        List<Method> methods = options.methods();
        boolean cam = methods.stream().anyMatch(m -> m.base() == Method.Base.CAM);
        Explainer original = new Explainer(graph, layer, cam ? model.cam(layer) : null, options);
        int[] top1 = new int[n];
        java.util.Arrays.fill(top1, Explainer.TOP1);
        List<Explainer.Result> base = explainAll(original, images, n, top1, keys, options.batchSize(), shape);
        int[] targets = base.stream().mapToInt(Explainer.Result::target).toArray();

        // class sensitivity: top-1 vs top-2 class of the same image
        int[] top2 = new int[n];
        java.util.Arrays.fill(top2, Explainer.TOP2);
        List<Explainer.Result> second = explainAll(original, images, n, top2, keys, options.batchSize(), shape);
        original.close();
        Map<String, Double> classRho = new LinkedHashMap<>();
        Map<String, Double> identical = new LinkedHashMap<>();
        Map<String, Double> sobel = new LinkedHashMap<>();
        int len = shape[0] * shape[1] * shape[2];
        for (Method m : methods) {
            double sum = 0;
            int same = 0;
            double sobelSum = 0;
            for (int i = 0; i < n; i++) {
                double rho = spearman(base.get(i).maps().get(m), second.get(i).maps().get(m));
                sum += rho;
                if (rho > 0.99) same++;
                float[] img = java.util.Arrays.copyOfRange(images, i * len, (i + 1) * len);
                sobelSum += spearman(base.get(i).maps().get(m), sobelMagnitude(grey(img, shape[0], shape[1] * shape[2]), shape[1], shape[2]));
            }
            classRho.put(m.id(), sum / n);
            identical.put(m.id(), same / (double) n);
            sobel.put(m.id(), sobelSum / n);
        }

        // cascading randomization, logits first
        List<String> order = model.layersTopDown();
        List<Step> cascade = new ArrayList<>();
        cascade.add(new Step(List.of(), constant(methods, 1.0), constant(methods, 0.0)));
        try (Progress bar = Progress.start("sanity: randomization cascade", order.size(), "layers")) {
            for (int s = 1; s <= order.size(); s++) {
                Variant random = model.randomizeTop(s, options.seed());
                Explainer re = new Explainer(random.graph(), layer, cam ? random.cam().apply(layer) : null, options);
                List<Explainer.Result> rr = explainAll(re, images, n, targets, keys, options.batchSize(), shape);
                re.close(); // one engine per step: free it before the next is built
                random.graph().close(); // and the randomized graph's weights and SameDiff's session cache
                // what is left (translation temporaries) is freed only when collected: collect it before the next step
                // makes more (GoogLeNet's cascade reached 3.2 GB RSS without this; ~0.1 s of ~20 s per step)
                System.gc();
                org.atlas4j.util.NativeMemory.trim(); // and hand what they held back, not keep it for the next step
                Map<String, Double> mean = new LinkedHashMap<>();
                Map<String, Double> sd = new LinkedHashMap<>();
                for (Method m : methods) {
                    double sum = 0;
                    double sq = 0;
                    int count = 0;
                    for (int i = 0; i < n; i++) {
                        float[] a = base.get(i).maps().get(m);
                        if (isConstant(a)) continue;
                        double rho = spearman(a, rr.get(i).maps().get(m));
                        sum += rho;
                        sq += rho * rho;
                        count++;
                    }
                    double mu = count == 0 ? Double.NaN : sum / count;
                    mean.put(m.id(), mu);
                    sd.put(m.id(), count == 0 ? Double.NaN : Math.sqrt(Math.max(0, sq / count - mu * mu)));
                }
                cascade.add(new Step(List.copyOf(order.subList(0, s)), mean, sd));
                bar.step(1);
            }
        }
        return new Report(n, layer, methods.stream().map(Method::id).toList(), cascade, classRho, identical, sobel,
                options.seed());
    }

    private static Map<String, Double> constant(List<Method> methods, double v) {
        Map<String, Double> m = new LinkedHashMap<>();
        for (Method x : methods) m.put(x.id(), v);
        return m;
    }

    static NetGraph convert(Model model, int[] shape) {
        return model instanceof ComputationGraph cg ? SameDiffConverter.convert(cg, shape, DataType.FLOAT)
                : SameDiffConverter.convert((MultiLayerNetwork) model, shape, DataType.FLOAT);
    }

    private static List<Explainer.Result> explainAll(Explainer e, float[] images, int n, int[] targets, long[] keys, int batch,
            int[] shape) {
        int len = shape[0] * shape[1] * shape[2];
        List<Explainer.Result> out = new ArrayList<>();
        for (int s = 0; s < n; s += batch) {
            int b = Math.min(batch, n - s);
            out.addAll(e.explain(java.util.Arrays.copyOfRange(images, s * len, (s + b) * len), b,
                    java.util.Arrays.copyOfRange(targets, s, s + b), java.util.Arrays.copyOfRange(keys, s, s + b)));
        }
        return out;
    }

    static boolean isConstant(float[] a) {
        for (float v : a) {
            if (v != a[0]) return false;
        }
        return true;
    }

    /** Spearman's rank correlation with average ranks for ties (see the class note for constant maps). */
    public static double spearman(float[] a, float[] b) {
        if (a.length != b.length) throw new IllegalArgumentException("lengths differ: " + a.length + " vs " + b.length);
        boolean ca = isConstant(a);
        boolean cb = isConstant(b);
        if (ca || cb) return ca && cb ? 1 : 0;
        return pearson(ranks(a), ranks(b));
    }

    static double[] ranks(float[] v) {
        Integer[] idx = new Integer[v.length];
        for (int i = 0; i < idx.length; i++) idx[i] = i;
        java.util.Arrays.sort(idx, (x, y) -> Float.compare(v[x], v[y]));
        double[] r = new double[v.length];
        for (int i = 0; i < idx.length; ) {
            int j = i;
            while (j + 1 < idx.length && v[idx[j + 1]] == v[idx[i]]) j++;
            double avg = (i + j) / 2.0 + 1;
            for (int k = i; k <= j; k++) r[idx[k]] = avg;
            i = j + 1;
        }
        return r;
    }

    static double pearson(double[] x, double[] y) {
        double mx = 0;
        double my = 0;
        for (int i = 0; i < x.length; i++) {
            mx += x[i];
            my += y[i];
        }
        mx /= x.length;
        my /= y.length;
        double sxy = 0;
        double sxx = 0;
        double syy = 0;
        for (int i = 0; i < x.length; i++) {
            sxy += (x[i] - mx) * (y[i] - my);
            sxx += (x[i] - mx) * (x[i] - mx);
            syy += (y[i] - my) * (y[i] - my);
        }
        return sxy / Math.sqrt(sxx * syy);
    }

    /** Channel mean of one image [C][H·W]. */
    public static float[] grey(float[] image, int channels, int area) {
        float[] g = new float[area];
        for (int c = 0; c < channels; c++) {
            for (int p = 0; p < area; p++) g[p] += image[c * area + p] / channels;
        }
        return g;
    }

    /** Sobel gradient magnitude with replicated borders. */
    public static float[] sobelMagnitude(float[] img, int h, int w) {
        float[] out = new float[h * w];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                double gx = -at(img, h, w, y - 1, x - 1) - 2 * at(img, h, w, y, x - 1) - at(img, h, w, y + 1, x - 1)
                        + at(img, h, w, y - 1, x + 1) + 2 * at(img, h, w, y, x + 1) + at(img, h, w, y + 1, x + 1);
                double gy = -at(img, h, w, y - 1, x - 1) - 2 * at(img, h, w, y - 1, x) - at(img, h, w, y - 1, x + 1)
                        + at(img, h, w, y + 1, x - 1) + 2 * at(img, h, w, y + 1, x) + at(img, h, w, y + 1, x + 1);
                out[y * w + x] = (float) Math.sqrt(gx * gx + gy * gy);
            }
        }
        return out;
    }

    private static double at(float[] img, int h, int w, int y, int x) {
        y = Math.min(Math.max(y, 0), h - 1);
        x = Math.min(Math.max(x, 0), w - 1);
        return img[y * w + x];
    }
}
