/**
 * Stage 2, reduce: a 2-D layout of the collected activation vectors. The default {@code umap} (cosine metric) builds a
 * k-nearest-neighbour graph on the L2-normalized rows (exact, by blocked matrix products,
 * {@link org.atlas4j.reduce.CosineKnn}, while that is affordable) and runs our own seeded UMAP layout
 * ({@link org.atlas4j.reduce.UmapLayout}: fuzzy simplicial set, PCA start, SGD epochs with negative sampling),
 * reproducible given the seed. {@code umap-smile} is Smile 4's UMAP and {@code tsne} Smile's exact t-SNE for small N.
 * Every input row gets a position. The layout is then normalized per axis, clipped to its 1st–99th percentile and
 * scaled to [0, 1] ({@link org.atlas4j.reduce.LayoutNormalizer}), as the paper does.
 *
 * <p>Reads: the run's {@code collect/activations.npy}. Writes, into {@code reduce/}: {@code layout.npy} (samples × 2,
 * normalized), {@code layout-raw.npy} (before normalization) and {@code reduce.json} (method, parameters, timing).
 *
 * <p>Follows: McInnes, Healy, Melville, "UMAP: Uniform Manifold Approximation and Projection for Dimension Reduction",
 * 2018 (as umap-learn 0.5 computes it); van der Maaten and Hinton, "Visualizing Data using t-SNE", JMLR 2008 (through
 * Smile); Carter et al., "Activation Atlas", Distill 2019 (the normalization).
 */
package org.atlas4j.reduce;
