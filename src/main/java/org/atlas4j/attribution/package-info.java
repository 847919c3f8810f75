/**
 * Attribution maps, {@code ./atlas explain}: where in an image the evidence for a class lies, at one layer or at the
 * input. Methods ({@link org.atlas4j.attribution.Method}): CAM, Grad-CAM, Grad-CAM++, gradient saliency, and SmoothGrad
 * of saliency, Grad-CAM or Grad-CAM++. CAM needs a global-average-pooling + dense head
 * ({@link org.atlas4j.attribution.CamHead}). {@link org.atlas4j.attribution.Explainer} runs, per batch, one forward
 * pass, at most one backward pass to the layer and one to the input, plus SmoothGrad's noisy copies;
 * {@link org.atlas4j.attribution.AttributionMaps} holds the formulas on plain arrays so they are checked by hand and
 * against finite differences. {@link org.atlas4j.attribution.Sanity} runs the sanity checks: cascading randomization of
 * the weights from the logits down ({@link org.atlas4j.attribution.ModelRandomizer}), class sensitivity (top-1 against
 * top-2 maps), and each map's rank correlation with the image's Sobel edges.
 *
 * <p>Reads: a model, and an image file, a folder of images or demo Fashion-MNIST test images. Writes, under the output
 * folder (default {@code atlas-output/explain-<images>/}): per image a folder with {@code input.png} (the model's
 * view), one {@code <method>.png} overlay and one {@code <method>.npy} raw map (float32, input resolution) per method,
 * and {@code explain.json} (target class, top-5 predictions, per-map facts; an image whose record matches the settings
 * is not redone); then {@code index.json}, {@code report.txt}, {@code contact-sheet-NNN.png} pages and, with
 * {@code --sanity}, {@code sanity.json}, {@code sanity.txt}, {@code sanity.svg} and {@code sanity.png}.
 *
 * <p>Follows: Zhou et al., "Learning Deep Features for Discriminative Localization" (CAM), CVPR 2016; Selvaraju et al.,
 * "Grad-CAM", ICCV 2017; Chattopadhay et al., "Grad-CAM++", WACV 2018; Simonyan, Vedaldi, Zisserman, "Deep Inside
 * Convolutional Networks" (saliency), 2014; Smilkov et al., "SmoothGrad", 2017; Adebayo et al., "Sanity Checks for
 * Saliency Maps", NeurIPS 2018.
 */
package org.atlas4j.attribution;
