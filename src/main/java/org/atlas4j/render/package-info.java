/**
 * Stage 4, render: feature visualization of each grid cell's mean activation. An icon is optimised by gradient ascent
 * (Adam) on the input image: the image is the sigmoid of a colour-decorrelated inverse FFT of Fourier coefficients
 * ({@link org.atlas4j.render.FourierImage}), each step sees it through a random pad, jitter, scale and rotation
 * ({@link org.atlas4j.render.RandomAffine}), and the objective is dot(a, v̂) · max(0.1, cos(a, v))^p at the layer's
 * centre position, with v̂ the direction multiplied by the inverse of the layer's second moment unless whitening is off
 * ({@link org.atlas4j.render.DirectionObjective}). All icons of a batch are optimised together, on the model package's
 * native engines when they compile the network, else on SameDiff. {@link org.atlas4j.render.Fidelity} feeds the saved
 * tiles back through the model and checks they activate their own cell's direction.
 *
 * <p>Reads: {@code grid/cell-vectors.npy} and {@code collect/second-moment.npy}. Writes, into {@code render/}:
 * {@code tiles/cell-NNNN.png} (one icon per kept cell), {@code render.json} (options and each cell's objective before
 * and after), {@code batches/batch-NNNN.json} (finished batches, so an interrupted render resumes) and
 * {@code fidelity.json} (top-1 / top-5 agreement and the objective's ratio to the best real sample; a run measures it
 * after every render, {@code ./atlas fidelity} on demand).
 *
 * <p>Follows: Olah, Mordvintsev, Schubert, "Feature Visualization", Distill 2017, and its Lucid library (decorrelated
 * Fourier parameterization, ImageNet colour decorrelation, transformation robustness); Carter et al., "Activation
 * Atlas", Distill 2019 (whitened direction objective with the cosine-similarity power); Kingma and Ba, "Adam", 2015.
 */
package org.atlas4j.render;
