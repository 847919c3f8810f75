/**
 * Stage 5, stitch: lays the rendered icons out on the grid as one picture and describes every cell. A tile's side
 * shrinks with its cell's sample count, min(1, sqrt(n / mean n)), as in the paper's viewer, so sparse cells read as
 * less certain; captions are each cell's most common true label unless a job passes its own (a class atlas passes the
 * mean attribution). It also reports how often neighbouring cells share a label, against a shuffled baseline.
 *
 * <p>Reads: {@code grid/cells.json}, {@code render/render.json} and the tiles in {@code render/tiles/}. Writes, in the
 * run folder: {@code atlas.png}, {@code atlas.svg} (the tiles embedded) and {@code atlas.json} (grid and picture size,
 * the neighbour agreement, and per cell its place, side, count, label, purity and tile).
 *
 * <p>Follows: Carter et al., "Activation Atlas", Distill 2019.
 */
package org.atlas4j.stitch;
