/**
 * The demo model: a small CNN for Fashion-MNIST ({@link org.atlas4j.train.DemoModel}: three conv + batch-norm + ReLU
 * blocks, global average pooling, a dense softmax layer; batch norm because real networks have it and the gradient
 * paths must handle it, GAP + dense so CAM applies) and its seeded trainer ({@link org.atlas4j.train.DemoTrainer}:
 * Adam, seeded initialisation and shuffling). Used by {@code ./atlas train-demo}.
 *
 * <p>Reads: the Fashion-MNIST IDX files (by default from Debian's {@code dataset-fashion-mnist} package). Writes: the
 * trained network as a DL4J model zip ({@code models/fashion-mnist-cnn.zip} by default, through
 * {@code ModelSerializer.writeModel}, renamed into place); the command writes its model card beside it.
 *
 * <p>Follows: Xiao, Rasul, Vollgraf, "Fashion-MNIST", 2017 (the data); Zhou et al. 2016 (the GAP + dense head CAM
 * needs); Ioffe and Szegedy, "Batch Normalization", 2015.
 */
package org.atlas4j.train;
