package org.atlas4j.cli;

import java.nio.file.Path;

import org.atlas4j.run.RunConfig;

import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Options of the pipeline commands (the stages, run, demo and the jobs on a run): a config file plus flags that
 * override it. Options other commands take too come from {@link SharedOptions}.
 */
final class RunOptions {
    @Option(names = "--config", description = "Run config (YAML), e.g. config/fashion-mnist.yaml")
    Path config;

    @Option(names = "--name", description = "Run name: outputs go to <output>/<name>/")
    String name;

    @Option(names = "--output", description = "Output root folder (default atlas-output)")
    String output;

    @Mixin
    SharedOptions.Model model = new SharedOptions.Model();

    @Mixin
    SharedOptions.Layer layer = new SharedOptions.Layer();

    @Option(names = "--seed", description = "Random seed for sampling, layout and rendering")
    Long seed;

    @Mixin
    SharedOptions.DataDir dataDir = new SharedOptions.DataDir();

    @Option(names = "--images", description = "Images instead of Fashion-MNIST: a folder of image files (one sub-folder "
            + "per class, or flat with --labels file,label CSV) or an IDX images file (MNIST format, .gz or plain)")
    String images;

    @Option(names = "--labels", description = "IDX labels file, or a file,label CSV for a flat image folder")
    String labels;

    @Option(names = "--limit", description = "Use only the first N images")
    Integer limit;

    @Option(names = "--crops-per-image", description = "Folder images: K seeded random crops per file (RandomResizedCrop-style, "
            + "aspect 3/4–4/3) instead of the whole image, e.g. 40 to make 2,400 samples of 60 photos (default 0: whole images)")
    Integer cropsPerImage;

    @Option(names = "--crop-scale", split = ",", description = "Area fraction range of the random crops: min,max (default 0.08,1)")
    double[] cropScale;

    @Mixin
    SharedOptions.ImageLimits imageLimits = new SharedOptions.ImageLimits();

    @Option(names = "--attribution", description = "Collect each sample's attribution to every class (a·∂logit/∂a)")
    boolean attribution;

    @Option(names = "--method", description = "Layout method: umap (ours, on the exact kNN graph), umap-smile (Smile 4's UMAP) or tsne")
    String method;

    @Option(names = "--neighbors", description = "UMAP n_neighbors (paper: 20)")
    Integer neighbors;

    @Option(names = "--min-dist", description = "UMAP min_dist (paper: 0.01)")
    Double minDist;

    @Option(names = "--epochs", description = "UMAP epochs / t-SNE iterations (0 = automatic)")
    Integer epochs;

    @Option(names = "--grid", description = "Grid size N for an N×N atlas (paper: 20)")
    Integer grid;

    @Mixin
    SharedOptions.Levels levels = new SharedOptions.Levels();

    @Option(names = "--threshold", description = "Keep cells with more than this many samples (paper: 10)")
    Integer threshold;

    @Option(names = "--steps", description = "Gradient-ascent steps per icon (paper: 512)")
    Integer steps;

    @Option(names = "--render-batch", description = "Icons optimised together (at most; lowered so their state fits a quarter of ATLAS_BATCH_MEMORY_MB)")
    Integer renderBatch;

    @Option(names = "--icon-size", description = "Icon side in pixels (0 = model input size)")
    Integer iconSize;

    @Option(names = "--attempts", description = "Random restarts per icon, best kept (paper: 1-4)")
    Integer attempts;

    @Option(names = "--no-whiten", description = "Do not whiten the cell directions")
    boolean noWhiten;

    @Option(names = "--no-transforms", description = "Optimise icons without the paper's robustness transforms (jitter, "
            + "scale, rotation): sharper, higher-fidelity icons on networks whose features are not transformation-robust "
            + "(e.g. random weights); noisier, adversarial-looking ones on trained networks")
    boolean noTransforms;

    @Option(names = "--tile-px", description = "Tile size in the stitched atlas")
    Integer tilePx;

    @Mixin
    SharedOptions.Force force = new SharedOptions.Force();

    /** --force: redo the stages even when their outputs are up to date. */
    boolean force() {
        return force.force;
    }

    RunConfig resolve() {
        RunConfig c = config != null ? RunConfig.load(config) : new RunConfig();
        if (name != null) c.name = name;
        if (output != null) c.output = output;
        if (model.file != null) c.model = model.file;
        if (model.format.name != null) c.modelFormat = model.format.name;
        if (model.format.inputShape != null) c.inputShape = model.format.inputShape;
        if (layer.name != null) c.layer = layer.name;
        if (seed != null) c.seed = seed;
        if (dataDir.dir != null) c.data.dir = dataDir.dir;
        if (images != null) {
            // a folder is image files (class sub-folders or a flat folder + labels CSV); a file is IDX
            String lower = images.toLowerCase(java.util.Locale.ROOT);
            if (java.nio.file.Files.isRegularFile(java.nio.file.Path.of(images))
                    && lower.matches(".*\\.(png|jpe?g|bmp|gif|tiff?|webp)$")) {
                throw new org.atlas4j.util.UserError("--images " + images + " is one image; an atlas needs a folder of images "
                        + "(one sub-folder per class, or flat with --labels) or an IDX file; for one image use ./atlas explain");
            }
            c.data.type = java.nio.file.Files.isDirectory(java.nio.file.Path.of(images)) ? "folder" : "idx";
            c.data.images = images;
            c.data.labels = labels;
        }
        if (limit != null) c.data.limit = limit;
        if (cropsPerImage != null) c.data.cropsPerImage = cropsPerImage;
        if (cropScale != null) {
            if (cropScale.length != 2) {
                throw new org.atlas4j.util.UserError("--crop-scale needs two numbers min,max (e.g. 0.08,1), got " + cropScale.length);
            }
            c.data.cropScale = cropScale;
        }
        if (imageLimits.maxMegapixels != null) c.data.maxImageMegapixels = imageLimits.maxMegapixels;
        if (imageLimits.keepDamaged) c.data.keepDamaged = true;
        if (attribution) c.collect.attribution = true;
        if (method != null) c.reduce.method = method;
        if (neighbors != null) c.reduce.neighbors = neighbors;
        if (minDist != null) c.reduce.minDist = minDist;
        if (epochs != null) c.reduce.epochs = epochs;
        if (grid != null) c.grid.size = grid;
        if (threshold != null) c.grid.threshold = threshold;
        if (levels.sizes != null) c.grid.levels = new java.util.ArrayList<>(levels.sizes);
        if (steps != null) c.render.steps = steps;
        if (renderBatch != null) c.render.batchSize = renderBatch;
        if (iconSize != null) c.render.iconSize = iconSize;
        if (noWhiten) c.render.whiten = false;
        if (noTransforms) c.render.transforms = false;
        if (attempts != null) c.render.attempts = attempts;
        if (tilePx != null) c.stitch.tilePixels = tilePx;
        return c;
    }
}
