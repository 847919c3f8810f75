/**
 * The {@code atlas} command line (picocli): a thin layer that parses options, locks the run folder it writes
 * ({@link org.atlas4j.run.RunLock}) and calls the stages and jobs. Commands: {@code run} and one per stage
 * ({@code collect}, {@code reduce}, {@code grid}, {@code render}, {@code stitch}), {@code demo}, {@code viewer},
 * {@code serve}, {@code fidelity}, {@code class-atlas}, {@code compare}, {@code compare-layers}, {@code patch-test},
 * {@code explain}, {@code layers} (a model's layers and which can make an atlas or a CAM), {@code convert} (Keras or
 * TF.js to a DL4J zip with its card), {@code train-demo} and {@code bench}. Pipeline commands take a run config
 * ({@code --config config/<name>.yaml}) and flags that override it.
 *
 * <p>Errors: a problem with the user's input ({@link org.atlas4j.util.UserError}, malformed data files, unsupported
 * layers, unknown layer names, missing files) is one line on stderr and exit code 2; memory exhaustion is a line saying
 * which limit to change and exit code 3; anything else is an internal error with its stack trace, exit code 1.
 *
 * <p>Writes: through the stages it calls; itself only {@code ./atlas convert}'s model zip and card, and
 * {@code ./atlas bench --vs-peers}'s reports ({@code atlas-output/bench-vs-peers*.json} and {@code .txt}), which
 * compare our stages with PyTorch and umap-learn on the same inputs (peers' side: {@code bench/peers.py},
 * {@code bench/onnx_peer.py}).
 */
package org.atlas4j.cli;
