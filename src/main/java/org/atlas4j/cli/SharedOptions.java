package org.atlas4j.cli;

import java.nio.file.Path;
import java.util.List;

import org.atlas4j.data.FashionMnist;
import org.atlas4j.data.ImageFiles;
import org.atlas4j.model.LoadedModel;
import org.atlas4j.util.UserError;

import org.atlas4j.run.AtlasRun;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Options that several commands take, each declared once as a picocli mixin so that it has one name, one description,
 * one default and one validation everywhere. Fields stay null when the option is not given: the pipeline commands then
 * keep their config file's value (see {@link RunOptions#resolve()}); the other commands fall back to the same default
 * the description states.
 */
final class SharedOptions {
    /** The demo model, as {@code RunConfig} defaults to it (SharedOptionsTest keeps the two equal). */
    static final String DEMO_MODEL = "models/fashion-mnist-cnn.zip";
    /** {@link FashionMnist#DEFAULT_DIR} as a constant the annotations can quote (SharedOptionsTest keeps them equal). */
    static final String FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist";

    private SharedOptions() {
    }

    /** A count option's lower bound, refused in one form everywhere: "--top must be >= 0, got -1". */
    static void atLeast(String option, int value, int min) {
        if (value < min) throw new UserError(option + " must be >= " + min + ", got " + value);
    }

    /** A model's format and input size, for when its file name and card do not say (also {@code convert}'s). */
    static final class ModelFormat {
        @Option(names = "--format", paramLabel = "<format>", description = "Model format: dl4j, keras, tfjs or onnx (default: from the file name)")
        String name;

        @Option(names = "--input-shape", paramLabel = "<inputShape>", split = ",", description = "C,H,W input size, for a model whose <model>.json card "
                + "(or config) does not fix it")
        int[] inputShape;

        /** The parsed --format, or null to detect it from the file name; a bad value is a one-line UserError. */
        LoadedModel.Format format() {
            return name == null ? null : LoadedModel.Format.parse(name);
        }
    }

    /** The model file a command loads, with its format and input size. */
    static final class Model {
        @Option(names = "--model", paramLabel = "<model>", description = "Model: DL4J .zip, Keras .h5, TF.js model.json or its folder, or ONNX .onnx, "
                + "with its <model>.json card beside it (default: " + DEMO_MODEL + ")")
        String file;

        @Mixin
        ModelFormat format = new ModelFormat();

        Path path() {
            return Path.of(file == null ? DEMO_MODEL : file);
        }

        LoadedModel load() {
            return LoadedModel.load(path(), format.inputShape, format.format());
        }
    }

    /** The layer an atlas is made of. */
    static final class Layer {
        @Option(names = "--layer", paramLabel = "<layer>", description = "Layer to visualize (see ./atlas layers): one with "
                + "spatial size (default: the model card's)")
        String name;
    }

    /** Where the Fashion-MNIST IDX files are. */
    static final class DataDir {
        @Option(names = "--data-dir", paramLabel = "<dataDir>", description = "Fashion-MNIST folder (default " + FASHION_MNIST_DIR + ")")
        String dir;

        Path path() {
            return dir == null ? FashionMnist.DEFAULT_DIR : Path.of(dir);
        }
    }

    /** What image files are refused or kept when they are too large or damaged. */
    static final class ImageLimits {
        @Option(names = "--max-image-megapixels", paramLabel = "<maxImageMegapixels>", description = "Skip image files declaring more pixels than this (default "
                + "89.48, Pillow's limit)")
        Double maxMegapixels;

        @Option(names = "--keep-damaged", description = "Use truncated or corrupt image files as far as they decode (listed and "
                + "counted) instead of skipping them")
        boolean keepDamaged;

        /** The limits to read images with; an invalid size is refused by {@link ImageFiles.Limits}. */
        ImageFiles.Limits limits() {
            double mp = maxMegapixels != null ? maxMegapixels : ImageFiles.DEFAULT_MAX_PIXELS / 1e6;
            return new ImageFiles.Limits(Math.round(mp * 1e6), keepDamaged);
        }
    }

    /** The viewer's extra zoom levels. */
    static final class Levels {
        @Option(names = "--levels", paramLabel = "<levels>", split = ",", description = "Extra grid sizes rendered as the viewer's zoom levels: 10,40 adds a 10×10 "
                + "and a 40×40 level")
        List<Integer> sizes;
    }

    /** Whether a stage whose outputs are up to date is redone: the same for every stage and every command. */
    static final class Force {
        @Option(names = "--force", description = "Redo stages even when their outputs are up to date")
        boolean force;
    }

    /** Where collect's pass over the images runs: here, or on an Apache Spark master (same outputs either way). */
    static final class Spark {
        @Option(names = "--spark", paramLabel = "<master URL>", description = "Collect on Apache Spark: local[N] or "
                + "spark://host:port (needs the -Pspark build); the other stages run here; same outputs as without")
        String master;

        /** Points the run's collect at the Spark master, when one was given. */
        void apply(AtlasRun r) {
            if (master != null) r.collectWith(org.atlas4j.spark.DistributedCollect.engine(master));
        }
    }
}
