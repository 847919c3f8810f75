package org.atlas4j.render;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import javax.imageio.ImageIO;

import org.atlas4j.collect.Collector;
import org.atlas4j.grid.Gridder;
import org.atlas4j.io.Json;
import org.atlas4j.io.Npy;
import org.atlas4j.model.NetGraph;
import org.atlas4j.util.UserError;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * How faithful the icons are: each rendered tile (as saved, 8-bit) is fed back through the model and its centre
 * activation compared with every cell's direction. Reports how often an icon's own cell is the most similar
 * direction (top-1) or among the five most similar (top-5), and the ratio of the icon's objective to the best
 * objective any real sample of its cell reaches (the same formula, on the sample's collected activation).
 */
public final class Fidelity {
    public static final String FILE = "fidelity.json";

    /** Per-icon numbers. */
    public record IconScore(int cell, int rank, double cosineOwn, double objective, double bestRealObjective, double ratio) {
    }

    public record Result(int icons, double top1, double top5, double meanRatio, double medianRatio,
            double fractionAboveBestReal, List<IconScore> scores) {
        public String summary() {
            return String.format(Locale.ROOT, "fidelity: top-1 %.3f, top-5 %.3f over %d icons; icon/best-real objective "
                    + "mean %.2f, median %.2f; %.0f%% of icons beat their cell's best real sample", top1, top5, icons,
                    meanRatio, medianRatio, 100 * fractionAboveBestReal);
        }
    }

    private Fidelity() {
    }

    /**
     * @param cellVectors K×D mean activations; members[k] the sample rows of cell k in {@code activations} (N×D)
     */
    public static Result measure(NetGraph graph, String layer, List<Path> tiles, float[] cellVectors, int k,
            float[] secondMoment, Renderer.Options o, float[] activations, int[][] members) throws IOException {
        return measure(graph, layer, tiles, cellVectors, k, secondMoment, o, activations, members,
                org.atlas4j.data.ModelInput.unit(graph.inputShape()[0]));
    }

    /** @param input how the tiles' displayed values become model inputs (as the renderer fed them) */
    public static Result measure(NetGraph graph, String layer, List<Path> tiles, float[] cellVectors, int k,
            float[] secondMoment, Renderer.Options o, float[] activations, int[][] members,
            org.atlas4j.data.ModelInput input) throws IOException {
        NetGraph.LayerShape shape = graph.spatialLayer(layer);
        int d = (int) shape.shape()[0];
        double[][] s = o.whiten() && secondMoment != null ? Renderer.whitening(secondMoment, d) : null;
        float[][] dirs = Renderer.directions(cellVectors, k, d, s);
        float[] raw = dirs[0];
        float[] wh = dirs[1];
        float[] centre = centreActivations(graph, shape.node().variable(), tiles, graph.inputShape()[0], input);
        List<IconScore> scores = new ArrayList<>();
        int top1 = 0;
        int top5 = 0;
        int beat = 0;
        for (int i = 0; i < k; i++) {
            double own = cosine(centre, i * d, raw, i * d, d);
            int rank = 1;
            for (int j = 0; j < k; j++) {
                if (j != i && cosine(centre, i * d, raw, j * d, d) > own) rank++;
            }
            if (rank == 1) top1++;
            if (rank <= 5) top5++;
            double obj = objective(centre, i * d, wh, raw, i * d, d, o.cossimPow());
            double best = Double.NEGATIVE_INFINITY;
            for (int m : members[i]) best = Math.max(best, objective(activations, m * d, wh, raw, i * d, d, o.cossimPow()));
            double ratio = best > 0 ? obj / best : Double.NaN;
            if (obj > best) beat++;
            scores.add(new IconScore(i, rank, own, obj, best, ratio));
        }
        double[] ratios = scores.stream().mapToDouble(IconScore::ratio).filter(Double::isFinite).sorted().toArray();
        double mean = ratios.length == 0 ? Double.NaN : java.util.Arrays.stream(ratios).average().orElse(Double.NaN);
        double median = ratios.length == 0 ? Double.NaN : ratios[ratios.length / 2];
        return new Result(k, top1 / (double) k, top5 / (double) k, mean, median, beat / (double) k, scores);
    }

    /**
     * Measures a finished render from the stage folders: collect's activations and second moment, the grid's cells and
     * cell vectors, the render's tiles and options; writes render/fidelity.json.
     */
    public static Result measure(NetGraph graph, Path collectDir, Path gridDir, Path renderDir,
            org.atlas4j.data.ModelInput input) throws IOException {
        Renderer.Result rr = Renderer.Result.read(renderDir);
        Npy.NpyArray vectors = Npy.read(gridDir.resolve(Gridder.CELL_VECTORS));
        Npy.NpyArray moment = Npy.read(collectDir.resolve(Collector.SECOND_MOMENT));
        Npy.NpyArray acts = Npy.read(collectDir.resolve(Collector.ACTIVATIONS));
        List<Path> tiles = rr.results().stream().map(c -> renderDir.resolve(c.tile())).toList();
        int[][] members = Gridder.Grid.read(gridDir).cells().stream().map(Gridder.Cell::members).toArray(int[][]::new);
        Result f = measure(graph, rr.options().layer(), tiles, vectors.data(), vectors.rows(), moment.data(), rr.options(),
                acts.data(), members, input);
        write(renderDir, f);
        return f;
    }

    public static void write(Path renderDir, Result r) {
        Json.write(renderDir.resolve(FILE), r);
    }

    /** The objective of activation a against cell direction (whitened w, raw v; both unit rows at off). */
    static double objective(float[] a, int aOff, float[] w, float[] v, int off, int d, double p) {
        double dot = 0;
        double dotRaw = 0;
        double norm = 0;
        for (int c = 0; c < d; c++) {
            double x = a[aOff + c];
            dot += x * w[off + c];
            dotRaw += x * v[off + c];
            norm += x * x;
        }
        double cos = Math.max(0.1, dotRaw / (Math.sqrt(norm) + 1e-4));
        return dot * Math.pow(cos, p);
    }

    static double cosine(float[] a, int aOff, float[] b, int bOff, int d) {
        double dot = 0;
        double na = 0;
        double nb = 0;
        for (int c = 0; c < d; c++) {
            dot += (double) a[aOff + c] * b[bOff + c];
            na += (double) a[aOff + c] * a[aOff + c];
            nb += (double) b[bOff + c] * b[bOff + c];
        }
        return na == 0 || nb == 0 ? 0 : dot / Math.sqrt(na * nb);
    }

    /** Centre activation vectors (K×D) of the tiles, read back from their PNG files. */
    static float[] centreActivations(NetGraph graph, String variable, List<Path> tiles, int channels,
            org.atlas4j.data.ModelInput input) throws IOException {
        List<float[]> out = new ArrayList<>();
        int batch = 32; // tiles read per pass: 32 × 299² RGB is 34 MB of pixels, twice (unit and model values)
        // the native graph engine when it covers the network (SameDiff otherwise), per tile size
        java.util.Map<Long, org.atlas4j.model.GraphForward> engines = new java.util.HashMap<>();
        try {
            for (int s = 0; s < tiles.size(); s += batch) {
                int b = Math.min(batch, tiles.size() - s);
                BufferedImage first = read(tiles.get(s));
                int h = first.getHeight();
                int w = first.getWidth();
                float[] x = new float[b * channels * h * w];
                for (int i = 0; i < b; i++) {
                    BufferedImage img = i == 0 ? first : read(tiles.get(s + i));
                    if (img.getHeight() != h || img.getWidth() != w) throw new UserError("tiles differ in size: " + tiles.get(s + i));
                    for (int y = 0; y < h; y++) {
                        for (int xx = 0; xx < w; xx++) {
                            int rgb = img.getRGB(xx, y);
                            int base = i * channels * h * w + y * w + xx;
                            if (channels == 1) {
                                x[base] = (rgb & 255) / 255f;
                            } else {
                                x[base] = ((rgb >> 16) & 255) / 255f;
                                x[base + h * w] = ((rgb >> 8) & 255) / 255f;
                                x[base + 2 * h * w] = (rgb & 255) / 255f;
                            }
                        }
                    }
                }
                float[] xm = new float[x.length];
                input.toModel(x, xm, b, h * w);
                INDArray act = engines.computeIfAbsent(((long) h << 32) | w,
                        k -> org.atlas4j.model.GraphForward.of(graph, variable, channels, h, w, "fidelity")).forward(xm, b);
                long[] sh = act.shape();
                int cy = (int) sh[2] / 2;
                int cx = (int) sh[3] / 2;
                INDArray c = act.get(org.nd4j.linalg.indexing.NDArrayIndex.all(), org.nd4j.linalg.indexing.NDArrayIndex.all(),
                        org.nd4j.linalg.indexing.NDArrayIndex.point(cy), org.nd4j.linalg.indexing.NDArrayIndex.point(cx));
                out.add(c.castTo(DataType.FLOAT).dup('c').data().asFloat());
            }
        } finally {
            engines.values().forEach(org.atlas4j.model.GraphForward::close); // also when a tile is refused
        }
        int total = out.stream().mapToInt(a -> a.length).sum();
        float[] all = new float[total];
        int p = 0;
        for (float[] a : out) {
            System.arraycopy(a, 0, all, p, a.length);
            p += a.length;
        }
        return all;
    }

    private static BufferedImage read(Path p) throws IOException {
        BufferedImage img = ImageIO.read(p.toFile());
        if (img == null) throw new UserError("unreadable tile " + p);
        return img;
    }
}
