package org.atlas4j.spark;

import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

import org.atlas4j.collect.Collector;
import org.atlas4j.data.FolderDataset;
import org.atlas4j.data.ImageDataset;
import org.atlas4j.data.SubsetDataset;
import org.atlas4j.io.Json;
import org.atlas4j.run.AtlasRun;
import org.atlas4j.run.RunConfig;

/**
 * The executor's side of a distributed collect, without Spark: one slice through the same {@link Collector} code as a
 * local collect, written as a shard folder that appears whole or not at all.
 */
public final class SliceCollect {
    /** Marker file of a slice none of whose images decoded (a shard with no rows). */
    static final String EMPTY = "empty";

    /** Model and dataset per run config, loaded once per executor JVM and reused by every slice it runs. */
    private static final Map<String, AtlasRun> RUNS = new ConcurrentHashMap<>();

    private SliceCollect() {
    }

    /** What the driver ships with every slice: the run config (absolute paths) and the collect options. */
    public record Job(String configJson, String layer, int batchSize, long seed, boolean excludeEdges, String shardsDir)
            implements java.io.Serializable {
        Collector.Options options() {
            return new Collector.Options(layer, batchSize, seed, excludeEdges, false);
        }
    }

    /**
     * Collects the slice into {@code <shardsDir>/part-NNNNN/} and returns its row count. A shard already there (an
     * earlier attempt of the same slice finished) is kept and not redone: a retried or speculative attempt never adds
     * rows twice, and both would be identical anyway (positions are a function of seed and image index).
     */
    public static int collect(Job job, Slice slice) throws Exception {
        Path shards = Path.of(job.shardsDir());
        Path target = shards.resolve(slice.name());
        if (Files.isDirectory(target)) return rows(target);
        AtlasRun run = RUNS.computeIfAbsent(job.configJson(), SliceCollect::open);
        // a run's model and native sessions are not shared between threads: one slice at a time per executor JVM
        synchronized (run) {
            ImageDataset all = run.data();
            if (slice.first() + slice.count() > all.size()) {
                throw new IllegalStateException("slice " + slice + " is past the dataset's " + all.size() + " images on "
                        + "this executor: it must see the same data as the driver");
            }
            int[] idx = new int[slice.count()];
            for (int i = 0; i < idx.length; i++) idx[i] = slice.first() + i;
            // the attempt writes under a private folder; its last path element is "shard" (the kill-point tests match it)
            Path attempt = shards.resolve(".attempt-" + slice.name() + "-" + UUID.randomUUID());
            Path out = attempt.resolve("shard");
            Files.createDirectories(out);
            int rows;
            try {
                rows = Collector.runSlice(run.model().graph(), new SubsetDataset(all, idx), job.options(), out, slice.first())
                        .count();
            } catch (Collector.NothingDecoded e) {
                Files.writeString(out.resolve(EMPTY), e.getMessage());
                rows = 0;
            }
            writeDecodeFindings(all, slice, out);
            publish(out, target);
            deleteTree(attempt);
            return rows;
        }
    }

    /** Image files of the slice that failed to decode or were kept damaged: the driver lists them with the run. */
    static final String DECODE = "decode.json";

    public record DecodeFindings(List<FolderDataset.Skipped> failed, List<FolderDataset.Skipped> damaged) {
    }

    private static void writeDecodeFindings(ImageDataset all, Slice slice, Path out) {
        FolderDataset fd = folder(all);
        if (fd == null) return;
        java.util.Set<String> files = new java.util.HashSet<>();
        for (int i = slice.first(); i < slice.first() + slice.count(); i++) files.add(all.source(i).file());
        // this JVM's lists hold every slice it ran: keep the files of this slice only
        Json.write(out.resolve(DECODE), new DecodeFindings(fd.failed().stream().filter(f -> files.contains(f.file())).toList(),
                fd.damaged().stream().filter(f -> files.contains(f.file())).toList()));
    }

    /** The image folder behind a dataset (also under --limit), or null. */
    static FolderDataset folder(ImageDataset d) {
        if (d instanceof SubsetDataset s) d = s.base();
        return d instanceof FolderDataset fd ? fd : null;
    }

    /** Adds every shard's decode findings to the driver's image folder, so its skipped-files listing is complete. */
    static void recordDecodeFindings(ImageDataset data, List<Slice> slices, Path shards) {
        FolderDataset fd = folder(data);
        if (fd == null) return;
        for (Slice s : slices) {
            Path f = shards.resolve(s.name()).resolve(DECODE);
            if (!Files.exists(f)) continue;
            DecodeFindings d = Json.read(f, DecodeFindings.class);
            fd.recordFound(d.failed(), d.damaged());
        }
    }

    private static AtlasRun open(String configJson) {
        try {
            return new AtlasRun(Json.MAPPER.readValue(configJson, RunConfig.class));
        } catch (IOException e) {
            throw new IllegalStateException("unreadable run config sent by the driver: " + e.getMessage(), e);
        }
    }

    /** Rows in a published shard (0 for an empty one). */
    static int rows(Path shard) {
        if (Files.exists(shard.resolve(EMPTY))) return 0;
        return Collector.Result.read(shard).count();
    }

    /** Renames the finished attempt onto the shard's name in one step; if another attempt got there first, keeps that. */
    static void publish(Path attempt, Path target) throws IOException {
        try {
            Files.move(attempt, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (FileAlreadyExistsException | DirectoryNotEmptyException e) {
            // the same slice finished elsewhere first: identical content, the first one stays
        } catch (AtomicMoveNotSupportedException e) {
            throw new IOException("the shard folder " + target.getParent() + " does not support atomic renames; put the "
                    + "run folder on a filesystem that does (a local disk, NFS, ...)", e);
        }
    }

    public static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) return;
        try (var walk = Files.walk(p)) {
            for (Path q : walk.sorted(java.util.Comparator.reverseOrder()).toList()) Files.deleteIfExists(q);
        }
    }
}
