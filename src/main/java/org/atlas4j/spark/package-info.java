/**
 * Collect over a cluster: the dataset cut into slices of whole batches ({@link org.atlas4j.spark.Slice}), each run by
 * the same {@link org.atlas4j.collect.Collector} code where the images are ({@link org.atlas4j.spark.SliceCollect}:
 * in this process, or on Apache Spark executors through {@code job.SparkSlices}, built only with {@code mvn -Pspark}),
 * and merged by the driver ({@link org.atlas4j.spark.ShardMerge}) into the run folder's usual files.
 * <p>
 * Reads: the run's config, model and images (at the same paths on every node). Writes: {@code collect/shards/}
 * (each slice's {@code activations.npy}, {@code samples.csv} and decode failures, published by an atomic rename, so
 * a retried slice is never counted twice), then {@code collect/activations.npy}, {@code samples.csv},
 * {@code second-moment.npy} and {@code collect.json} byte-identical to a collect in one process: a sample's position
 * is a function of the seed and its index in the whole dataset.
 */
package org.atlas4j.spark;
