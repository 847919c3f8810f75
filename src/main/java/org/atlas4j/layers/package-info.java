/**
 * Layer comparison: atlases of several layers of one network from a single pass over the images, each a run of its
 * own in {@code <run>/layers/<layer>/}, then one page with them side by side and each layer's label purity, neighbour
 * agreement and icon fidelity ({@code layers.png}, {@code layers.svg}, {@code layers.html}, {@code layers.json}). Reads
 * the run's config and images; writes through the run's stages. Follows the layer-by-layer atlases of Carter et al.,
 * "Activation Atlas" (Distill, 2019). A package of its own because it is a job on a run, not a class atlas: its unit
 * is the layer, where {@code classatlas} filters the samples of one layer by class.
 */
package org.atlas4j.layers;
