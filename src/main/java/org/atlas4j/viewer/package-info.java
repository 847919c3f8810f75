/**
 * The interactive viewer of a run, and the tools that show it. {@link org.atlas4j.viewer.ViewerExport} writes a page
 * that opens from the file system: every zoom level's grid of icons, a tooltip per cell with its sample count, labels,
 * attributions and up to eight real examples (the members closest in direction to the cell's mean, cut around the
 * sampled position), and links to the run's class atlases, comparisons and layer pages.
 * {@link org.atlas4j.viewer.RunServer} serves a run folder read-only on localhost ({@code ./atlas serve}), and
 * {@link org.atlas4j.viewer.HeadlessBrowser} drives headless Chromium over the DevTools protocol with the JDK's HTTP
 * and WebSocket clients, for {@code ./atlas viewer --screenshot} / {@code --measure} and the browser test.
 *
 * <p>Reads: the run's {@code collect/samples.csv}, {@code collect/activations.npy} and, when present,
 * {@code collect/attribution.npy}; per zoom level (the run itself, or {@code levels/<size>/}) {@code grid/cells.json},
 * {@code grid/cell-vectors.npy} and {@code render/render.json}; and the dataset's images for the examples. Writes, in
 * the run folder: {@code index.html} and {@code viewer/} ({@code viewer.js}, {@code viewer.css}, {@code data.js}: the
 * page's data as a script, and one {@code examples-<size>.png} sprite of example patches per level). The icons stay in
 * {@code render/tiles/} and are loaded only when they come into view.
 *
 * <p>Follows: Carter et al., "Activation Atlas", Distill 2019 (the zoomable atlas with per-cell detail).
 */
package org.atlas4j.viewer;
