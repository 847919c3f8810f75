/**
 * The Apache Spark job behind {@code --spark} (compiled only by {@code mvn -Pspark}): one partition per slice, each
 * executor loading the model once and running {@link org.atlas4j.spark.SliceCollect}; Spark retries the slices of a
 * lost executor. Follows the standalone, YARN and Kubernetes deployment of Spark 4.2.
 */
package org.atlas4j.spark.job;
