/**
 * Class filtering, class atlases and class-vs-class comparison jobs: atlases of the samples that matter to one class,
 * or to two. They need the per-class attribution that collect writes with {@code --attribution}
 * ({@code collect/attribution.npy}: the activation times each class logit's gradient at the sampled position).
 * {@link org.atlas4j.classatlas.ClassFilter} keeps the samples whose top-attributed class is the target plus the top N
 * by positive attribution to it. {@link org.atlas4j.classatlas.Comparison} places the samples of classes A and B with x
 * = the attribution difference B − A, scaled by its 99th percentile of absolute value and clipped to [−1, 1], and ranks
 * "dual-role" cells, whose samples attribute positively to both classes, by the smaller of the two means.
 *
 * <p>Reads: the parent run's {@code collect/} files ({@code activations.npy}, {@code attribution.npy},
 * {@code second-moment.npy}, {@code samples.csv}). Writes a sub-run folder inside the run, {@code class-<name>/} or
 * {@code compare-<a>-vs-<b>/}, laid out like a run: its {@code collect/} holds the kept subset (with
 * {@code selection.json}, and the whole layer's second moment, so directions are whitened against all images), then its
 * own {@code reduce/}, {@code grid/}, {@code render/} and {@code atlas.png} / {@code .svg} / {@code .json}, each cell
 * captioned with its mean attribution to the class (a comparison: to A and to B). A comparison's y axis is the
 * principal axis of the subset's 2-D layout, and it adds {@code dual-role.json} and {@code dual-role.txt}.
 *
 * <p>Follows: Carter et al., "Activation Atlas", Distill 2019 (class activation atlases; class comparisons and
 * dual-role features).
 */
package org.atlas4j.classatlas;
