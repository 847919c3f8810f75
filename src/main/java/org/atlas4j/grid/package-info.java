/**
 * Stage 3, grid: bins the normalized 2-D layout into a size × size grid and averages the raw activation vectors of each
 * cell; only cells holding more than {@code threshold} samples are kept, since the mean of a few samples is noise. Each
 * kept cell records its members, its label histogram, most common label and purity.
 *
 * <p>Reads: {@code reduce/layout.npy}, {@code collect/activations.npy} and the labels of {@code collect/samples.csv}
 * (passed in by the caller). Writes, into {@code grid/}: {@code cells.json} (one entry per kept cell: id, row, column,
 * count, labels, members) and {@code cell-vectors.npy} (float32, cells × channels: the mean activation each icon will
 * be rendered for; row i is cell id i).
 *
 * <p>Follows: Carter et al., "Activation Atlas", Distill 2019 (grid of averaged activations; the paper uses 20 × 20 for
 * whole-layer atlases).
 */
package org.atlas4j.grid;
