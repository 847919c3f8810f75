/**
 * Datasets as model input: Fashion-MNIST and IDX files, folders of image files (optionally as seeded random crops),
 * subsets, and the decoding and resampling that turn image files into the tensors a model card describes.
 *
 * <p>Reads: IDX images and labels, plain or gzipped ({@link org.atlas4j.data.IdxDataset}); the embedded default is
 * Fashion-MNIST from Debian's {@code dataset-fashion-mnist} package in {@code /usr/share/datasets/fashion-mnist}
 * ({@link org.atlas4j.data.FashionMnist}; {@link org.atlas4j.data.DataInstaller} installs it with apt-get when it is
 * missing and we are root). Image folders ({@link org.atlas4j.data.FolderDataset}): one sub-folder per class, a flat
 * folder with a {@code file,label} CSV, or a flat folder without labels; PNG, GIF, BMP and WBMP through the JDK, JPEG,
 * WebP and TIFF through TwelveMonkeys' ImageIO plugins ({@link org.atlas4j.data.ImageFiles}). Files no reader accepts,
 * declaring more pixels than the cap, or cut short are skipped and counted, never fatal; a file that fails when its
 * pixels are decoded is marked unusable so collect leaves it out. Decoding runs on one or two background threads a
 * bounded window ahead of the reader ({@link org.atlas4j.data.DecodeAhead}). Writes no images or arrays; the files left
 * out, and why, are listed in the run's {@code collect/skipped-files.json}.
 *
 * <p>Model input: alpha over a background, resized by the card's policy (crop, pad, stretch) with the resampling of the
 * framework the model was trained with ({@link org.atlas4j.data.Resample}: Java2D, bilinear as torch's
 * {@code interpolate} and OpenCV's {@code INTER_LINEAR}, Pillow's antialiased bilinear and bicubic, area averaging),
 * converted to the model's channels and order, scaled by its {@link org.atlas4j.data.PixelScaling};
 * {@link org.atlas4j.data.ModelInput} maps displayed [0, 1] pixels to the model's input and back for rendered icons.
 *
 * <p>Follows: Xiao, Rasul, Vollgraf, "Fashion-MNIST", 2017; torchvision's {@code RandomResizedCrop} (Szegedy et al.,
 * "Going Deeper with Convolutions", 2015) for {@link org.atlas4j.data.RandomCrops}; Pillow's {@code Image.resize}.
 */
package org.atlas4j.data;
