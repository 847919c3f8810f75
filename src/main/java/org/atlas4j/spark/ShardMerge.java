package org.atlas4j.spark;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

import org.atlas4j.collect.Collector;
import org.atlas4j.io.AtomicFiles;
import org.atlas4j.io.Json;
import org.atlas4j.io.Npy;
import org.atlas4j.util.Finite;
import org.atlas4j.util.Progress;

/**
 * The driver's side: the slices' shards, in slice order, become the collect folder a local collect writes, byte for
 * byte (collect.json's timings aside). Memory: one shard's activations at a time plus the d×d second moment.
 */
public final class ShardMerge {
    private ShardMerge() {
    }

    /**
     * Merges every slice's shard from {@code shards} into {@code dir}. {@code n} is the whole dataset's size (the
     * activation file's header is laid out for it, as the local writer's is, then lowered to the rows kept).
     */
    public static Collector.Result merge(List<Slice> slices, Path shards, int n, Collector.Options o, String dataset,
            double seconds, Path dir) throws IOException {
        Collector.Result first = null;
        long written = 0;
        for (Slice s : slices) {
            Path shard = shards.resolve(s.name());
            if (!Files.isDirectory(shard)) {
                throw new org.atlas4j.util.UserError("the shard of " + s.name() + " (images " + s.first() + "–"
                        + (s.first() + s.count() - 1) + ") is missing from " + shards + ": every executor must write to the "
                        + "folder the driver reads, at the same path (a shared filesystem on a cluster)");
            }
            int rows = SliceCollect.rows(shard);
            written += rows;
            if (rows > 0 && first == null) first = Collector.Result.read(shard);
        }
        if (first == null) throw new Collector.NothingDecoded("none of the " + n + " images could be decoded; nothing to collect");
        int d = first.dim();
        Files.createDirectories(dir);
        double[] moment = new double[d * d];
        long labelled = 0;
        long correct = 0;
        try (Npy.Writer acts = Npy.Writer.open(dir.resolve(Collector.ACTIVATIONS), n, d)) {
            for (Slice s : slices) {
                Path shard = shards.resolve(s.name());
                if (SliceCollect.rows(shard) == 0) continue;
                Npy.NpyArray a = Npy.read(shard.resolve(Collector.ACTIVATIONS));
                if (a.cols() != d) throw new IOException(shard + " has " + a.cols() + " activation columns, the first shard " + d);
                acts.writeRows(a.data(), a.rows());
                // the same row order as the local run's batches, so the double sums round identically
                Collector.accumulateSecondMoment(moment, a.data(), a.rows(), d);
            }
            if (written < n) acts.declareRows((int) written);
        }
        long[] counts = new long[2];
        AtomicFiles.write(dir.resolve(Collector.SAMPLES), out -> copySamples(slices, shards, out, counts));
        labelled = counts[0];
        correct = counts[1];
        if (written < n) {
            Progress.info(String.format(Locale.ROOT, "collect: %d of %d samples left out: their image failed to decode",
                    n - written, n));
        }
        Collector.mirror(moment, d);
        float[] m = new float[d * d];
        for (int i = 0; i < m.length; i++) m[i] = (float) (moment[i] / written);
        Finite.requireFinite(m, d, d, c -> "the second moment of channel " + c + " at layer " + o.layer(), "entry",
                dir.resolve(Collector.SECOND_MOMENT), "activations this large overflow float32 when squared; check the "
                + "model's pixelScaling (inputs far outside the training range)");
        Npy.writeFloat32(dir.resolve(Collector.SECOND_MOMENT), m, d, d);
        Collector.Result r = new Collector.Result(o.layer(), (int) written, d, first.mapHeight(), first.mapWidth(), o.seed(),
                o.excludeEdges(), dataset, labelled == 0 ? Double.NaN : correct / (double) labelled, seconds, n / seconds,
                first.engine());
        Json.write(dir.resolve(Collector.META), r);
        return r;
    }

    /**
     * samples.csv: the first shard's header, then every shard's rows copied byte for byte (a quoted file name may hold
     * a line break); counts labelled and correct rows as it goes, as Collector does.
     */
    private static void copySamples(List<Slice> slices, Path shards, OutputStream out, long[] counts) throws IOException {
        boolean header = false;
        for (Slice s : slices) {
            Path shard = shards.resolve(s.name());
            if (SliceCollect.rows(shard) == 0) continue;
            byte[] csv = Files.readAllBytes(shard.resolve(Collector.SAMPLES)); // one slice's rows
            int body = indexOf(csv, (byte) '\n', 0) + 1;
            if (!header) {
                out.write(csv, 0, body);
                header = true;
            }
            out.write(csv, body, csv.length - body);
            countLabels(csv, body, counts);
        }
    }

    /** Rows start after a line break outside quotes; each begins index,label,predicted (never quoted). */
    static void countLabels(byte[] csv, int from, long[] counts) {
        boolean quoted = false;
        boolean rowStart = true;
        for (int i = from; i < csv.length; i++) {
            if (rowStart) {
                rowStart = false;
                int a = indexOf(csv, (byte) ',', i), b = indexOf(csv, (byte) ',', a + 1), c = indexOf(csv, (byte) ',', b + 1);
                int label = Integer.parseInt(new String(csv, a + 1, b - a - 1, StandardCharsets.US_ASCII));
                if (label >= 0) {
                    counts[0]++;
                    if (label == Integer.parseInt(new String(csv, b + 1, c - b - 1, StandardCharsets.US_ASCII))) counts[1]++;
                }
                i = c;
                continue;
            }
            if (csv[i] == '"') quoted = !quoted;
            else if (csv[i] == '\n' && !quoted) rowStart = i + 1 < csv.length;
        }
    }

    private static int indexOf(byte[] a, byte b, int from) {
        for (int i = from; i < a.length; i++) if (a[i] == b) return i;
        throw new IllegalStateException("malformed samples.csv shard: no '" + (char) b + "' after byte " + from);
    }
}
