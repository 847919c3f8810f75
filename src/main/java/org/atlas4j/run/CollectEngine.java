package org.atlas4j.run;

import java.nio.file.Path;

import org.atlas4j.collect.Collector;
import org.atlas4j.data.ImageDataset;

/**
 * Runs collect's pass over the images somewhere other than this process (Spark: {@code org.atlas4j.spark}), writing
 * the same files to {@code dir} as {@link Collector#run} would. An interface here so the run never imports its
 * distributed engines.
 */
@FunctionalInterface
public interface CollectEngine {
    Collector.Result collect(RunConfig cfg, ImageDataset data, Collector.Options options, Path dir) throws Exception;
}
