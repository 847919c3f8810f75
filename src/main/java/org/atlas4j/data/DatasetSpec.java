package org.atlas4j.data;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.function.Supplier;

import org.atlas4j.util.UserError;

/**
 * Which images a run reads and how, as plain values (the run config's data section plus the seed): opens the dataset
 * and names its sampling for the collect stamp.
 *
 * @param type fashion-mnist, idx or folder
 * @param limit use only the first N images (0 = all)
 */
public record DatasetSpec(String type, String dir, String images, String labels, int limit, String resize,
        int cropsPerImage, double[] cropScale, double maxImageMegapixels, boolean keepDamaged, long seed) {

    /** Random-crop and pixel-cap settings of a folder dataset (part of the collect stamp: crops change the samples). */
    public FolderDataset.Sampling sampling() {
        if (cropScale == null || cropScale.length != 2) {
            throw new UserError("data.cropScale must be [min, max] area fractions, e.g. [0.08, 1.0]");
        }
        return new FolderDataset.Sampling(new RandomCrops.Options(cropsPerImage, cropScale[0], cropScale[1]), seed,
                Math.round(maxImageMegapixels * 1e6), keepDamaged);
    }

    /** The sampling as stamped: empty for whole images at the default cap (and for datasets that are not folders). */
    public String samplingStamp() {
        if (!"folder".equals(type)) return "";
        var s = sampling();
        return (s.crops().cropping() ? s.crops().toString() : "") + (s.maxPixels() != ImageFiles.DEFAULT_MAX_PIXELS
                ? " maxPixels=" + s.maxPixels() : "") + (s.keepDamaged() ? " keepDamaged" : "");
    }

    /**
     * Opens the images (installing Fashion-MNIST if it is the default and absent), checks their size against the
     * model's input and applies the limit.
     *
     * @param modelClasses the model card's class names (labels of IDX files and folders are matched against them)
     * @param folderPreprocess how image files become the model's input (asked only for folders)
     * @param modelInput the model's input shape [C, H, W]
     */
    public ImageDataset open(List<String> modelClasses, Supplier<ImageFiles.Preprocess> folderPreprocess, int[] modelInput)
            throws Exception {
        if (cropsPerImage != 0 && !"folder".equals(type)) {
            throw new UserError("--crops-per-image (data.cropsPerImage) works on folders of image files; data type '"
                    + type + "' has fixed-size images: set it to 0 or use --images <folder>");
        }
        ImageDataset d;
        if ("fashion-mnist".equals(type)) {
            Path fm = Path.of(dir);
            DataInstaller.ensureFashionMnist(fm);
            d = FashionMnist.all(fm);
        } else if ("idx".equals(type)) {
            if (images == null) throw new UserError("data type idx needs data.images (and optionally data.labels)");
            d = IdxDataset.read(Path.of(images), labels == null ? null : Path.of(labels), modelClasses);
        } else if ("folder".equals(type)) {
            if (images == null) {
                throw new UserError("data type folder needs data.images (a folder of class sub-folders, or a flat folder "
                        + "with data.labels pointing at a file,label CSV)");
            }
            d = FolderDataset.open(Path.of(images), labels == null ? null : Path.of(labels), folderPreprocess.get(),
                    sampling(), modelClasses);
        } else {
            throw new UserError("unknown data type '" + type + "'; valid: fashion-mnist, idx, folder");
        }
        if (d.channels() != modelInput[0] || d.height() != modelInput[1] || d.width() != modelInput[2]) {
            throw new UserError(String.format(Locale.ROOT, "images are %d×%d×%d but the model expects %d×%d×%d (C×H×W)",
                    d.channels(), d.height(), d.width(), modelInput[0], modelInput[1], modelInput[2]));
        }
        return limit > 0 ? SubsetDataset.firstN(d, limit) : d;
    }
}
