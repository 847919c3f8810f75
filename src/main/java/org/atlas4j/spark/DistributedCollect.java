package org.atlas4j.spark;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

import org.atlas4j.collect.Collector;
import org.atlas4j.data.ImageDataset;
import org.atlas4j.io.Json;
import org.atlas4j.run.RunConfig;
import org.atlas4j.util.Progress;
import org.atlas4j.util.UserError;

/**
 * Collect over slices of the dataset run elsewhere (Spark executors), merged into the same collect folder as a local
 * run: the dataset is cut into contiguous slices of whole batches, each slice runs the local {@link Collector} code
 * on an executor that loads the model once, writes a shard atomically, and the driver concatenates the shards in
 * slice order. Executors must see the model, the images and the run folder at the same paths as the driver.
 */
public final class DistributedCollect {
    /** Images per slice (a Spark partition) unless {@code atlas4j.spark.slice} says otherwise: whole batches. */
    public static final int DEFAULT_SLICE = 1024;
    /** Shards are written under the collect folder and removed once merged. */
    static final String SHARDS = ".shards";

    /** Runs every slice of a job somewhere (Spark, or in this process) and returns the rows each wrote. */
    public interface SliceRunner {
        List<Integer> run(List<Slice> slices, SliceCollect.Job job) throws Exception;

        /** Where the slices ran, for the log (e.g. "spark://127.0.0.1:7077"). */
        String describe();
    }

    /** Every slice in this process, one after another: the reference the Spark path must equal. */
    public static final SliceRunner IN_PROCESS = new SliceRunner() {
        @Override
        public List<Integer> run(List<Slice> slices, SliceCollect.Job job) throws Exception {
            List<Integer> rows = new java.util.ArrayList<>();
            for (Slice s : slices) rows.add(SliceCollect.collect(job, s));
            return rows;
        }

        @Override
        public String describe() {
            return "in-process slices";
        }
    };

    private DistributedCollect() {
    }

    /** The Spark runner for a master URL ({@code local[N]}, {@code spark://host:port}, {@code yarn}, ...). */
    public static SliceRunner spark(String master) {
        try {
            Class.forName("org.apache.spark.SparkContext");
        } catch (ClassNotFoundException e) {
            throw new UserError("--spark needs Apache Spark on the classpath, which this build left out; build with the "
                    + "spark profile (mvn -Pspark -DskipTests package, ~120 MB of Spark " + "jars) and run again");
        }
        try {
            return (SliceRunner) Class.forName("org.atlas4j.spark.job.SparkSlices").getConstructor(String.class)
                    .newInstance(master);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("Spark is on the classpath but atlas4j's Spark job classes are not: rebuild with "
                    + "mvn -Pspark package", e);
        }
    }

    /** Collect on the Spark master {@code master} ({@code local[N]} or {@code spark://host:port}), in slices of the default size. */
    public static org.atlas4j.run.CollectEngine engine(String master) {
        return (cfg, data, o, dir) -> collect(spark(master), cfg, data, o, dir,
                Integer.getInteger("atlas4j.spark.slice", DEFAULT_SLICE));
    }

    public static Collector.Result collect(SliceRunner runner, RunConfig cfg, ImageDataset data, Collector.Options o,
            Path dir, int sliceSize) throws Exception {
        if (o.attribution()) {
            throw new UserError("--attribution is not supported with --spark yet; collect attributions without --spark");
        }
        if (data.size() == 0) throw new UserError("the dataset is empty: nothing to collect");
        long t0 = System.nanoTime();
        Path shards = dir.resolve(SHARDS).toAbsolutePath();
        SliceCollect.deleteTree(shards); // a previous, interrupted collect's shards may be of other options
        java.nio.file.Files.createDirectories(shards);
        List<Slice> slices = Slice.plan(data.size(), sliceSize, o.batchSize());
        var job = new SliceCollect.Job(Json.MAPPER.writeValueAsString(absolutePaths(cfg)), o.layer(), o.batchSize(), o.seed(),
                o.excludeEdges(), shards.toString());
        Progress.info(String.format(Locale.ROOT, "collect: %d images in %d slices of up to %d on %s", data.size(),
                slices.size(), slices.get(0).count(), runner.describe()));
        runner.run(slices, job);
        SliceCollect.recordDecodeFindings(data, slices, shards); // before the merge: listed even if nothing decoded
        double secs = (System.nanoTime() - t0) / 1e9;
        Collector.Result r = ShardMerge.merge(slices, shards, data.size(), o, data.describe(), secs, dir);
        SliceCollect.deleteTree(shards);
        return r;
    }

    /** The config with every path absolute: executors run in their own working folders. */
    static RunConfig absolutePaths(RunConfig cfg) {
        RunConfig c = Json.MAPPER.convertValue(Json.MAPPER.valueToTree(cfg), RunConfig.class);
        c.model = abs(c.model);
        c.output = abs(c.output);
        c.data.dir = abs(c.data.dir);
        c.data.images = abs(c.data.images);
        c.data.labels = abs(c.data.labels);
        return c;
    }

    private static String abs(String p) {
        return p == null ? null : Path.of(p).toAbsolutePath().normalize().toString();
    }
}
