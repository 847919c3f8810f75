package org.atlas4j.spark.job;

import java.util.List;

import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.Function;
import org.atlas4j.spark.DistributedCollect;
import org.atlas4j.spark.Slice;
import org.atlas4j.spark.SliceCollect;

/**
 * The slices of a collect as one Spark job: one partition per slice, each running {@link SliceCollect} on an
 * executor. Spark retries a failed or lost executor's partitions elsewhere; the shards make a retry idempotent.
 * Compiled only in the spark profile; reached through {@link DistributedCollect#spark(String)}.
 */
public final class SparkSlices implements DistributedCollect.SliceRunner {
    private final String master;

    public SparkSlices(String master) {
        this.master = master;
    }

    @Override
    public String describe() {
        return "Spark " + org.apache.spark.package$.MODULE$.SPARK_VERSION() + " at " + master;
    }

    /**
     * The job's configuration: the master URL given, then anything set as -Dspark.* (SparkConf reads those). On one
     * machine the executors can take the driver's classpath; on a cluster set spark.executor.extraClassPath to where
     * atlas4j and its jars are installed on every node, or submit the jar with spark-submit.
     */
    SparkConf conf() {
        SparkConf c = new SparkConf().setAppName("atlas4j collect");
        if (master != null) c.setMaster(master);
        boolean loopback = master != null && (master.startsWith("local") || master.contains("://127.0.0.1:")
                || master.contains("://localhost:"));
        if (loopback) {
            // executors on this machine reach the driver on the loopback address, whatever the host name resolves to
            c.setIfMissing("spark.driver.host", "127.0.0.1").setIfMissing("spark.driver.bindAddress", "127.0.0.1");
        }
        c.setIfMissing("spark.ui.enabled", "false");
        c.setIfMissing("spark.executor.extraClassPath", System.getProperty("java.class.path"));
        // ND4J's off-heap limits and our own settings travel with the executors
        StringBuilder opts = new StringBuilder(c.get("spark.executor.extraJavaOptions", ""));
        for (String k : System.getProperties().stringPropertyNames()) {
            if ((k.startsWith("org.bytedeco.javacpp.") || k.startsWith("atlas4j.")) && !k.startsWith("atlas4j.test.")) {
                opts.append(" -D").append(k).append('=').append(System.getProperty(k));
            }
        }
        c.set("spark.executor.extraJavaOptions", opts.toString().trim());
        return c;
    }

    @Override
    public List<Integer> run(List<Slice> slices, SliceCollect.Job job) {
        try (JavaSparkContext sc = new JavaSparkContext(conf())) {
            return sc.parallelize(slices, slices.size()).map(new Task(job)).collect();
        }
    }

    /** One partition's work, shipped to the executor: the job's description only, the model is loaded there. */
    static final class Task implements Function<Slice, Integer> {
        private final SliceCollect.Job job;

        Task(SliceCollect.Job job) {
            this.job = job;
        }

        @Override
        public Integer call(Slice slice) throws Exception {
            return SliceCollect.collect(job, slice);
        }
    }
}
