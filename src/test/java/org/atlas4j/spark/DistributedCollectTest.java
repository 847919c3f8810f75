package org.atlas4j.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.atlas4j.collect.Collector;
import org.atlas4j.data.FashionMnist;
import org.atlas4j.run.AtlasRun;
import org.atlas4j.run.RunConfig;
import org.atlas4j.util.Progress;
import org.atlas4j.util.UserError;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The distributed collect without Spark: slices run one by one in this process through the executors' code, then
 * merged by the driver's code, must equal a local collect byte for byte (the Spark integration test runs the same
 * code on a real cluster).
 */
@org.atlas4j.IntegrationTest
public class DistributedCollectTest {
    public static final Path DEMO_MODEL = Path.of("models/fashion-mnist-cnn.zip");
    static final int IMAGES = 1500;

    @TempDir
    static Path out;
    static Path local;

    @BeforeAll
    static void localCollect() throws Exception {
        Progress.setQuiet(true);
        Assumptions.assumeTrue(Files.exists(DEMO_MODEL), "demo model " + DEMO_MODEL + " is absent");
        Assumptions.assumeTrue(FashionMnist.isPresent(FashionMnist.DEFAULT_DIR),
                "Fashion-MNIST is not installed in " + FashionMnist.DEFAULT_DIR + " (apt-get install dataset-fashion-mnist)");
        AtlasRun run = new AtlasRun(config("local", 256));
        run.collect(true);
        local = run.stageDir("collect");
    }

    static RunConfig config(String name, int batch) {
        RunConfig c = new RunConfig();
        c.name = name;
        c.output = out.toString();
        c.model = DEMO_MODEL.toString();
        c.data.limit = IMAGES;
        c.collect.batchSize = batch;
        return c;
    }

    /** Collects with the in-process slice runner into a fresh run folder; returns its collect folder. */
    static Path sliced(String name, int sliceSize) throws Exception {
        RunConfig cfg = config(name, 256);
        AtlasRun run = new AtlasRun(cfg);
        var o = new Collector.Options(run.layer(), cfg.collect.batchSize, cfg.seed, cfg.collect.excludeEdges);
        Path dir = run.stageDir("collect");
        DistributedCollect.collect(DistributedCollect.IN_PROCESS, cfg, run.data(), o, dir, sliceSize);
        return dir;
    }

    /** Every file of a collect equal byte for byte; collect.json equal but for its timings. */
    public static void assertSameCollect(Path expected, Path actual) throws Exception {
        for (String f : List.of(Collector.ACTIVATIONS, Collector.SAMPLES, Collector.SECOND_MOMENT)) {
            assertArrayEquals(Files.readAllBytes(expected.resolve(f)), Files.readAllBytes(actual.resolve(f)), f + " differs");
        }
        Collector.Result a = Collector.Result.read(expected);
        Collector.Result b = Collector.Result.read(actual);
        assertEquals(a, new Collector.Result(b.layer(), b.count(), b.dim(), b.mapHeight(), b.mapWidth(), b.seed(),
                b.excludeEdges(), b.dataset(), b.accuracy(), a.seconds(), a.imagesPerSecond(), b.engine()));
    }

    @Test
    void slicesMergedEqualALocalCollectByteForByte() throws Exception {
        Path dir = sliced("sliced", 512); // three slices, the last one short
        assertSameCollect(local, dir);
        assertFalse(Files.exists(dir.resolve(DistributedCollect.SHARDS)), "shards are removed once merged");
    }

    @Test
    void oneSliceForEverythingEqualsToo() throws Exception {
        assertSameCollect(local, sliced("single", 10_000));
    }

    @Test
    void aRetriedSliceIsKeptOnceAndAnAbandonedAttemptIsIgnored() throws Exception {
        RunConfig cfg = config("retry", 256);
        AtlasRun run = new AtlasRun(cfg);
        var o = new Collector.Options(run.layer(), cfg.collect.batchSize, cfg.seed, cfg.collect.excludeEdges);
        Path dir = run.stageDir("collect");
        Path shards = dir.resolve("shards-test");
        List<Slice> slices = Slice.plan(IMAGES, 512, 256);
        var job = new SliceCollect.Job(org.atlas4j.io.Json.MAPPER.writeValueAsString(DistributedCollect.absolutePaths(cfg)),
                o.layer(), o.batchSize(), o.seed(), o.excludeEdges(), shards.toString());
        for (Slice s : slices) SliceCollect.collect(job, s);
        // a second attempt of slice 1 (a retried task) finds its shard and adds nothing
        assertEquals(512, SliceCollect.collect(job, slices.get(1)));
        // a killed attempt leaves a half-written folder beside the shards
        Files.createDirectories(shards.resolve(".attempt-part-00001-dead/shard"));
        Files.writeString(shards.resolve(".attempt-part-00001-dead/shard/.samples.csv.tmp"), "index,label\n7,1\n");
        ShardMerge.merge(slices, shards, IMAGES, o, run.data().describe(), 1.0, dir);
        assertSameCollect(local, dir);
    }

    @Test
    void aMissingShardIsAnErrorThatSaysWhy() throws Exception {
        RunConfig cfg = config("missing", 256);
        AtlasRun run = new AtlasRun(cfg);
        var o = new Collector.Options(run.layer(), cfg.collect.batchSize, cfg.seed, cfg.collect.excludeEdges);
        Path shards = out.resolve("no-shards");
        Files.createDirectories(shards);
        var e = assertThrows(UserError.class, () -> ShardMerge.merge(Slice.plan(IMAGES, 512, 256), shards, IMAGES, o, "d", 1,
                out.resolve("missing-out")));
        assertTrue(e.getMessage().contains("part-00000") && e.getMessage().contains("shared filesystem"), e.getMessage());
    }

    /**
     * Image files that fail to decode on the executors are left out of the rows as locally, and listed by the driver
     * too (its own dataset never decoded them): the skipped-files listing of a distributed collect is complete.
     */
    @Test
    void filesThatFailToDecodeOnExecutorsAreListedByTheDriver() throws Exception {
        Path images = out.resolve("folder-images");
        var make = Class.forName("org.atlas4j.cli.DecodeFailureTest").getDeclaredMethod("folder", Path.class, boolean.class);
        make.setAccessible(true);
        make.invoke(null, images, true); // nine photos, p3.png broken inside its pixel data
        RunConfig a = config("folder-local", 4);
        a.data.type = "folder";
        a.data.images = images.toString();
        AtlasRun localRun = new AtlasRun(a);
        localRun.collect(true);
        RunConfig b = config("folder-sliced", 4);
        b.data.type = "folder";
        b.data.images = images.toString();
        AtlasRun run = new AtlasRun(b);
        var o = new Collector.Options(run.layer(), b.collect.batchSize, b.seed, b.collect.excludeEdges);
        DistributedCollect.collect(DistributedCollect.IN_PROCESS, b, run.data(), o, run.stageDir("collect"), 4);
        assertSameCollect(localRun.stageDir("collect"), run.stageDir("collect"));
        var failed = ((org.atlas4j.data.FolderDataset) run.data()).failed();
        assertEquals(1, failed.size(), failed.toString());
        assertEquals("p3.png", failed.get(0).file());
        assertEquals(((org.atlas4j.data.FolderDataset) localRun.data()).failed(), failed);
    }

    @Test
    void sparkWithoutTheSparkBuildSaysHowToGetIt() {
        boolean sparkHere;
        try {
            Class.forName("org.apache.spark.SparkContext");
            sparkHere = true;
        } catch (ClassNotFoundException e) {
            sparkHere = false;
        }
        Assumptions.assumeFalse(sparkHere, "this is the -Pspark build");
        var e = assertThrows(UserError.class, () -> DistributedCollect.spark("local[2]"));
        assertTrue(e.getMessage().contains("mvn -Pspark"), e.getMessage());
    }

    @Test
    void slicesAreWholeBatchesCoveringEveryImageOnce() {
        List<Slice> s = Slice.plan(1500, 500, 256);
        assertEquals(List.of(new Slice(0, 0, 512), new Slice(1, 512, 512), new Slice(2, 1024, 476)), s);
        assertEquals(List.of(new Slice(0, 0, 7)), Slice.plan(7, 1024, 256));
        assertEquals("part-00002", s.get(2).name());
    }

    @Test
    void labelsAreCountedAcrossQuotedLineBreaks() {
        byte[] csv = "0,3,3,0.9,1,1,\"a\nb.png\",0,0,1,1\n1,2,5,0.5,1,1,c.png,0,0,1,1\n2,-1,4,0.5,1,1,d.png,0,0,1,1\n"
                .getBytes(java.nio.charset.StandardCharsets.UTF_8);
        long[] counts = new long[2];
        ShardMerge.countLabels(csv, 0, counts);
        assertArrayEquals(new long[] {2, 1}, counts);
    }
}
