/**
 * The patch test: the paper's "adversarial" use of an icon. An icon (a PNG, or a cell's tile from a run's render) is
 * pasted onto images of class A (for the default data, Fashion-MNIST's test split) at several sizes and in the four
 * corners, and the test counts how often the prediction flips to class B and how much B's probability moves, against
 * two controls pasted the same way: a random-noise patch and a patch cut from a real image of B. Icons and images are C
 * × H × W floats in the model's input range; the forward passes go through {@link org.atlas4j.model.GraphForward}.
 *
 * <p>Reads: the model, the run's dataset and the icon. Writes, into {@code <run>/patch-<from>-to-<to>/}:
 * {@code patch-test.json} (every condition's images, flips, flip rate and mean change of B's probability, plus the
 * baseline rate of B), {@code patch-test.txt} (the same as a table) and {@code patch-test.svg} (flip rate by patch
 * size, mean over corners, for icon, noise and real patches).
 *
 * <p>Follows: Carter et al., "Activation Atlas", Distill 2019 (the section on using atlas icons as patches that change
 * a classifier's prediction).
 */
package org.atlas4j.patch;
