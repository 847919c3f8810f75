/**
 * Stage sequencing, stamps, provenance, run lock, config: what turns the stage packages into one resumable run.
 * {@link org.atlas4j.run.AtlasRun} runs collect → reduce → grid → render (with fidelity) → stitch, the extra zoom
 * levels and the viewer on one run folder; each stage reads the previous stage's files and writes its own.
 * {@link org.atlas4j.run.RunConfig} is a whole run as written in {@code config/<name>.yaml} (YAML through Jackson;
 * every field has the published default, CLI flags override after loading). {@link org.atlas4j.run.RunLock} allows one
 * writer per run folder with an OS file lock on {@code <run>/.lock}, freed by the OS when its holder dies.
 *
 * <p>The run folder ({@code <output>/<name>/}): one sub-folder per stage ({@code collect/}, {@code reduce/},
 * {@code grid/}, {@code render/}), the atlas ({@code atlas.png}, {@code .svg}, {@code .json}), extra zoom levels in
 * {@code levels/<size>/} (their own grid, render and atlas over the shared collect and layout), the viewer
 * ({@code index.html}, {@code viewer/}), and the jobs' sub-folders ({@code class-*}, {@code compare-*},
 * {@code layers/}, {@code patch-*}). Each stage folder holds a {@code stamp.json} of its options and its input's stamp:
 * a stage whose stamp matches is skipped, so a killed run resumes and a single stage can be rerun ({@code --force}
 * redoes it); render keeps a {@code pending-stamp.json} so that only a render with the same options resumes its
 * finished batches. {@code collect/skipped-files.json} lists the image files left out and why. {@code provenance.json}
 * records the config, seed, model file and SHA-256, layer, library and runtime versions, and each stage's timing and
 * summary numbers; {@code AtlasRun.open} reopens a run from it.
 */
package org.atlas4j.run;
