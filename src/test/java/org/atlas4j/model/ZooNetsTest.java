package org.atlas4j.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.atlas4j.data.ImageFiles;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BaseOutputLayer;
import org.deeplearning4j.nn.conf.layers.LossLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.activations.impl.ActivationSoftmax;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * DL4J zoo architectures at their native ImageNet sizes with 1,000 classes, saved as a user's zip + card and loaded
 * the way every command loads them: our SameDiff graph's logits and probabilities equal DL4J's own inference
 * ({@code outputSingle}, and the pre-softmax scores from {@code feedForward}) to 1e-4 on real photos.
 */
class ZooNetsTest {
    /** The first four RGB photos of opencv-doc's sample data, else generated class pictures (CI without the package). */
    static final Path PHOTOS = Path.of("/usr/share/doc/opencv-doc/examples/data");

    @TempDir
    static Path tmp;

    @ParameterizedTest
    @EnumSource(ZooNets.Arch.class)
    void logitsAndProbabilitiesMatchDl4j(ZooNets.Arch arch) throws Exception {
        String only = System.getProperty("atlas4j.families", "");
        org.junit.jupiter.api.Assumptions.assumeTrue(only.isBlank() || List.of(only.split(",")).contains(arch.name()),
                arch + " not in -Datlas4j.families=" + only);
        int size = arch.nativeSize;
        long t0 = System.nanoTime();
        Path zip = ZooNets.write(arch, size, ZooNets.classNames(1000), tmp.resolve(arch.stem));
        double buildS = (System.nanoTime() - t0) / 1e9;
        t0 = System.nanoTime();
        LoadedModel m = LoadedModel.load(zip, null);
        double loadS = (System.nanoTime() - t0) / 1e9;
        NetGraph g = m.graph();
        assertTrue(g.shape(arch.defaultLayer).spatial(), arch.defaultLayer + " is spatial");
        assertTrue(g.shape(arch.otherLayer).spatial(), arch.otherLayer + " is spatial");

        INDArray x = photos(m, 4);
        t0 = System.nanoTime();
        Map<String, INDArray> ours = g.forward(x, g.logits(), g.output());
        double oursS = (System.nanoTime() - t0) / 1e9;
        t0 = System.nanoTime();
        INDArray dl4jProbs = m.dl4jOutput(x);
        double dl4jS = (System.nanoTime() - t0) / 1e9;
        INDArray dl4jLogits = ZooNets.logits((ComputationGraph) m.network(), x);
        INDArray logits = ours.get(g.logits());
        INDArray probs = ours.get(g.output());
        assertEquals(List.of(4L, 1000L), List.of(logits.size(0), logits.size(1)));
        double logitDiff = logits.sub(dl4jLogits).amaxNumber().doubleValue();
        double probDiff = probs.sub(dl4jProbs).amaxNumber().doubleValue();
        double maxLogit = dl4jLogits.amaxNumber().doubleValue();
        System.out.printf(Locale.ROOT, "zoo %s %d px: %,d params, build+save %.1f s, load+convert %.1f s, forward batch 4 "
                + "ours %.2f s / DL4J %.2f s, max |logit| %.2f, max |Δlogit| %.2e, max |Δp| %.2e, %d layers%n", arch, size,
                m.network().numParams(), buildS, loadS, oursS, dl4jS, maxLogit, logitDiff, probDiff, g.nodes().size());
        // a fixture whose logits are all ~0 would pass any comparison: the calibration must leave real scores
        assertTrue(maxLogit > 0.5, "logits degenerate: max |logit| " + maxLogit);
        assertTrue(logitDiff <= 1e-4, arch + ": max |logit − DL4J| " + logitDiff);
        assertTrue(probDiff <= 1e-4, arch + ": max |p − DL4J| " + probDiff);
    }

    /** Preprocessed photos [n, 3, S, S] as the model's card says (ImageNet scaling, centre crop). */
    static INDArray photos(LoadedModel m, int n) throws Exception {
        List<Path> files;
        if (Files.isDirectory(PHOTOS)) {
            try (var d = Files.list(PHOTOS)) {
                files = d.filter(p -> p.toString().endsWith(".jpg")).sorted().limit(n).toList();
            }
        } else {
            files = new java.util.ArrayList<>();
            java.util.Random r = new java.util.Random(9);
            Files.createDirectories(tmp.resolve("photos"));
            for (int k = 0; k < n; k++) {
                var img = new java.awt.image.BufferedImage(320, 240, java.awt.image.BufferedImage.TYPE_INT_RGB);
                for (int y = 0; y < 240; y++) {
                    for (int xx = 0; xx < 320; xx++) img.setRGB(xx, y, (xx * 255 / 320) << 16 | (y * 255 / 240) << 8 | r.nextInt(256));
                }
                Path f = tmp.resolve("photos/p" + k + ".png");
                javax.imageio.ImageIO.write(img, "png", f.toFile());
                files.add(f);
            }
        }
        assertEquals(n, files.size());
        ImageFiles.Preprocess p = m.preprocess(null, null, null);
        int per = p.channels() * p.height() * p.width();
        float[] buf = new float[n * per];
        for (int k = 0; k < n; k++) ImageFiles.load(files.get(k), p, buf, k * per);
        return Nd4j.create(buf, new long[] {n, p.channels(), p.height(), p.width()}, 'c');
    }
}
