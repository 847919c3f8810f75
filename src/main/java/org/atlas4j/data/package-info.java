/**
 * Datasets as model input: Fashion-MNIST and IDX files, folders of image files (optionally as seeded random crops),
 * subsets, and the decoding and resampling that turn image files into the tensors a model card describes.
 */
package org.atlas4j.data;
