package org.atlas4j.train;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Random;

import org.atlas4j.data.ImageDataset;
import org.atlas4j.util.Progress;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;

/** Trains the demo CNN with a fixed seed (shuffling, init and dropout-free layers all seeded). */
public final class DemoTrainer {
    public record Options(long seed, int epochs, int batchSize, double learningRate, int[] widths) {
        public static Options defaults() {
            return new Options(42L, 8, 128, 2e-3, new int[] {24, 48, 96});
        }
    }

    public record Result(MultiLayerNetwork net, double testAccuracy, double seconds) {
    }

    private DemoTrainer() {
    }

    public static Result train(ImageDataset train, ImageDataset test, Options o) {
        Nd4j.getRandom().setSeed(o.seed());
        MultiLayerNetwork net = DemoModel.create(o.seed(), o.widths(), o.learningRate());
        Random rng = new Random(o.seed());
        int n = train.size();
        int[] order = new int[n];
        for (int i = 0; i < n; i++) order[i] = i;
        long t0 = System.nanoTime();
        double acc = 0;
        for (int epoch = 0; epoch < o.epochs(); epoch++) {
            double lr = learningRate(o, epoch);
            net.getLayerWiseConfigurations().getConfs().forEach(c -> {
                if (c.getLayer() instanceof org.deeplearning4j.nn.conf.layers.BaseLayer bl) bl.setIUpdater(new Adam(lr));
            });
            net.setLearningRate(lr);
            shuffle(order, rng);
            try (Progress p = Progress.start(String.format(Locale.ROOT, "train epoch %d/%d", epoch + 1, o.epochs()), n, "img")) {
                for (int s = 0; s < n; s += o.batchSize()) {
                    int b = Math.min(o.batchSize(), n - s);
                    net.fit(batch(train, order, s, b, rng));
                    p.step(b);
                    p.extra(String.format(Locale.ROOT, "loss %.3f", net.score()));
                }
            }
            acc = accuracy(net, test);
            Progress.info(String.format(Locale.ROOT, "epoch %d: test accuracy %.4f", epoch + 1, acc));
        }
        return new Result(net, acc, (System.nanoTime() - t0) / 1e9);
    }

    /** Step schedule: full rate for the first half, /4 for the next quarter, /20 for the last quarter. */
    static double learningRate(Options o, int epoch) {
        if (epoch < o.epochs() / 2) return o.learningRate();
        if (epoch < (3 * o.epochs()) / 4) return o.learningRate() / 4;
        return o.learningRate() / 20;
    }

    static DataSet batch(ImageDataset data, int[] order, int start, int size) {
        return batch(data, order, start, size, null);
    }

    /** A batch; with {@code flips} non-null, each image is mirrored left-right with probability 1/2 (augmentation). */
    static DataSet batch(ImageDataset data, int[] order, int start, int size, Random flips) {
        int len = data.imageLength();
        float[] x = new float[size * len];
        float[] y = new float[size * 10];
        for (int i = 0; i < size; i++) {
            int idx = order[start + i];
            data.copyImage(idx, x, i * len);
            if (flips != null && flips.nextBoolean()) mirror(x, i * len, data.channels(), data.height(), data.width());
            y[i * 10 + data.label(idx)] = 1f;
        }
        INDArray features = Nd4j.create(x, new long[] {size, data.channels(), data.height(), data.width()}, 'c');
        INDArray labels = Nd4j.create(y, new long[] {size, 10}, 'c');
        return new DataSet(features, labels);
    }

    public static double accuracy(MultiLayerNetwork net, ImageDataset test) {
        int n = test.size();
        int[] order = new int[n];
        for (int i = 0; i < n; i++) order[i] = i;
        int correct = 0;
        for (int s = 0; s < n; s += 500) {
            int b = Math.min(500, n - s);
            DataSet ds = batch(test, order, s, b);
            INDArray pred = net.output(ds.getFeatures(), false).argMax(1);
            for (int i = 0; i < b; i++) {
                if (pred.getInt(i) == test.label(s + i)) correct++;
            }
        }
        return correct / (double) n;
    }

    private static void mirror(float[] x, int off, int channels, int h, int w) {
        for (int c = 0; c < channels; c++) {
            for (int r = 0; r < h; r++) {
                int row = off + (c * h + r) * w;
                for (int i = 0, j = w - 1; i < j; i++, j--) {
                    float t = x[row + i];
                    x[row + i] = x[row + j];
                    x[row + j] = t;
                }
            }
        }
    }

    private static void shuffle(int[] a, Random rng) {
        for (int i = a.length - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            int t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
    }

    public static void save(MultiLayerNetwork net, Path file) throws java.io.IOException {
        Files.createDirectories(file.toAbsolutePath().getParent());
        Path tmp = file.resolveSibling("." + file.getFileName() + ".tmp");
        ModelSerializer.writeModel(net, tmp.toFile(), false);
        Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }
}
