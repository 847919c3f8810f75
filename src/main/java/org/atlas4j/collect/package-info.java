/**
 * Stage 1 of an activation atlas, collect: runs every image through the model once and keeps one activation vector per
 * image, taken at a seeded random spatial position of the chosen layer (the border row and column left out by default,
 * as in the paper), streamed to disk batch by batch so memory is bounded by one batch.
 *
 * <p>Reads: an {@link org.atlas4j.data.ImageDataset} and the model's graph ({@link org.atlas4j.model.NetGraph}).
 * Writes, into the run's {@code collect/} folder: {@code activations.npy} (float32, samples × channels),
 * {@code samples.csv} (index, label, prediction, probability and the sampled position; for image folders also the file
 * and its crop box), {@code second-moment.npy} (the uncentred Σ aaᵀ / N, channels × channels, which render uses to
 * whiten directions), {@code collect.json} (counts, map size, accuracy, speed) and, with {@code --attribution},
 * {@code attribution.npy} (samples × classes: the activation times the gradient of each class logit at the sampled
 * position, what class atlases and comparisons select by). Images that failed to decode are left out of every file.
 * Several layers can be collected in one pass ({@code Collector.runLayers}), one folder each.
 *
 * <p>Follows: Carter, Armstrong, Schubert, Johnson, Olah, "Activation Atlas", Distill 2019 (random spatial activation
 * per image; attribution for class atlases).
 */
package org.atlas4j.collect;
