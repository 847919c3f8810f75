package org.atlas4j.run;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.atlas4j.collect.Collector;
import org.atlas4j.data.DatasetSpec;
import org.atlas4j.data.FashionMnist;
import org.atlas4j.grid.Gridder;
import org.atlas4j.io.Json;
import org.atlas4j.reduce.Reducer;
import org.atlas4j.render.Renderer;
import org.atlas4j.stitch.Stitcher;
import org.atlas4j.util.UserError;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;

/**
 * A whole atlas run as written in {@code config/<name>.yaml}. Every field has the published default, so a
 * config only states what differs; CLI flags override after loading.
 */
public final class RunConfig {
    public String name = "fashion-mnist";
    public String model = "models/fashion-mnist-cnn.zip";
    /** dl4j, keras, tfjs or onnx; null = from the file name. */
    public String modelFormat;
    /** [C, H, W] for a model whose card (or Keras config) does not fix its input size. */
    public int[] inputShape;
    public String layer;
    public long seed = 42;
    public String output = "atlas-output";
    public Data data = new Data();
    public Collect collect = new Collect();
    public Reduce reduce = new Reduce();
    public Grid grid = new Grid();
    public Render render = new Render();
    public Stitch stitch = new Stitch();

    public static final class Data {
        /**
         * "fashion-mnist" (the Debian package), "idx" (any MNIST-style files: images, labels) or "folder" (image files:
         * images = a folder of class sub-folders, or a flat folder with labels = a file,label CSV).
         */
        public String type = "fashion-mnist";
        public String dir = FashionMnist.DEFAULT_DIR.toString();
        public String images;
        public String labels;
        /** Use only the first N images (0 = all). */
        public int limit = 0;
        /** Folder images: crop, pad or stretch to the model's input size (null = the model card's, else crop). */
        public String resize;
        /**
         * Folder images: K seeded random crops per file instead of the whole image (0 = whole images), torchvision
         * RandomResizedCrop-style, each stretched to the model's size with the card's resizeFilter.
         */
        public int cropsPerImage = 0;
        /** Area fraction range of the random crops: [min, max] with 0 < min <= max <= 1 (torchvision's default). */
        public double[] cropScale = {0.08, 1.0};
        /**
         * Folder images declaring more megapixels (width × height / 1e6) are skipped with a reason (default Pillow's
         * MAX_IMAGE_PIXELS, 2^30 / 12).
         */
        public double maxImageMegapixels = org.atlas4j.data.ImageFiles.DEFAULT_MAX_PIXELS / 1e6;
        /** Folder images that are truncated or corrupt are used as far as they decode (and listed) instead of skipped. */
        public boolean keepDamaged = false;
    }

    public static final class Collect {
        public int batchSize = Collector.Options.DEFAULT_BATCH;
        public boolean excludeEdges = true;
        /** Also store each sample's attribution to every class (a · ∂logit/∂a) in collect/attribution.npy. */
        public boolean attribution = false;
    }

    public static final class Reduce {
        public String method = "umap";
        public int neighbors = 20;
        public double minDist = 0.01;
        public String metric = "cosine";
        public int epochs = 0;
        public double perplexity = 50;
        public int tsneMaxSamples = 10_000;
    }

    public static final class Grid {
        public int size = 20;
        public int threshold = 10;
        /** Further grid sizes rendered for the viewer's zoom levels (e.g. [10, 40]); the main size is always one. */
        public java.util.List<Integer> levels = new java.util.ArrayList<>();
    }

    public static final class Render {
        public int steps = 512;
        public double learningRate = Renderer.Options.DEFAULT_LEARNING_RATE;
        public int batchSize = 128;
        public int iconSize = 0;
        public double cossimPow = Renderer.Options.DEFAULT_COSSIM_POW;
        public boolean whiten = true;
        public boolean transforms = true;
        /** Random restarts per icon; the one with the highest final objective is kept. */
        public int attempts = 1;
    }

    public static final class Stitch {
        public int tilePixels = 56;
        public boolean scaleBySamples = true;
        public boolean captions = true;
    }

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory())
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, true);

    public static RunConfig load(Path file) {
        if (!Files.isReadable(file)) {
            throw new UserError("config file not found or unreadable: " + file + " (see config/fashion-mnist.yaml for an example)");
        }
        try {
            RunConfig c = YAML.readValue(file.toFile(), RunConfig.class);
            if (c == null) throw new UserError("config " + file + " is empty; see config/fashion-mnist.yaml for an example");
            for (var s : java.util.Map.of("data", c.data == null, "collect", c.collect == null, "reduce", c.reduce == null,
                    "grid", c.grid == null, "render", c.render == null, "stitch", c.stitch == null).entrySet()) {
                if (s.getValue()) {
                    throw new UserError("config " + file + ": section '" + s.getKey() + "' is empty; give its settings or "
                            + "leave the section out for the defaults");
                }
            }
            var required = new java.util.LinkedHashMap<String, Object>();
            required.put("name", c.name);
            required.put("output", c.output);
            required.put("model", c.model);
            required.put("data.type", c.data.type);
            required.put("data.dir", c.data.dir);
            required.put("reduce.method", c.reduce.method);
            required.put("reduce.metric", c.reduce.metric);
            for (var r : required.entrySet()) {
                if (r.getValue() == null) {
                    throw new UserError("config " + file + ": '" + r.getKey() + "' has no value; give one or leave the "
                            + "line out for the default");
                }
            }
            if (c.grid.levels == null) c.grid.levels = new java.util.ArrayList<>(); // "levels:" with no value: none
            return c;
        } catch (com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException e) {
            throw new UserError("config " + file + ": unknown setting '" + e.getPropertyName() + "'; valid settings here: "
                    + e.getKnownPropertyIds());
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new UserError("config " + file + " is not valid YAML for atlas4j: " + org.atlas4j.io.Json.describe(e));
        } catch (java.io.IOException e) {
            throw new UserError("cannot read config " + file + ": " + e.getMessage());
        }
    }

    public Path runDir() {
        return Path.of(output, name);
    }

    /** Every stage's options are checked before any work starts, so a typo fails in a second, not after collect. */
    public void validate() {
        if (data.limit < 0) throw new UserError("--limit must be >= 0 (got " + data.limit + ")");
        reduceOptions();
        collectOptions("-");
        gridOptions();
        renderOptions("-");
        stitchOptions();
    }

    /** The grid sizes of the zoom levels, ascending: the main size plus {@code grid.levels}. */
    public java.util.List<Integer> levelSizes() {
        java.util.TreeSet<Integer> sizes = new java.util.TreeSet<>(grid.levels);
        sizes.add(grid.size);
        for (int n : sizes) {
            if (n < 1 || n > 200) throw new UserError("grid levels must be between 1 and 200, got " + n);
        }
        return java.util.List.copyOf(sizes);
    }

    // ---- each stage's options, built here and only here from the config ----

    public DatasetSpec dataSpec() {
        return new DatasetSpec(data.type, data.dir, data.images, data.labels, data.limit, data.resize, data.cropsPerImage,
                data.cropScale, data.maxImageMegapixels, data.keepDamaged, seed);
    }

    public Collector.Options collectOptions(String layer) {
        return new Collector.Options(layer, collect.batchSize, seed, collect.excludeEdges, collect.attribution);
    }

    /** The collect stage's stamp: its options, the model's hash and which images (with their sampling). */
    String collectStamp(String layer, String modelSha256) {
        return StageStamps.stamp("collect", List.of(collectOptions(layer), modelSha256, data.type, data.dir,
                String.valueOf(data.images), String.valueOf(data.labels), data.limit, dataSpec().samplingStamp()), null);
    }

    public Reducer.Options reduceOptions() {
        return new Reducer.Options(reduce.method, reduce.neighbors, reduce.minDist, reduce.metric, reduce.epochs,
                reduce.perplexity, reduce.tsneMaxSamples, seed);
    }

    public Gridder.Options gridOptions() {
        return new Gridder.Options(grid.size, grid.threshold);
    }

    public Renderer.Options renderOptions(String layer) {
        return new Renderer.Options(layer, render.steps, render.learningRate, render.batchSize, render.iconSize,
                render.cossimPow, render.whiten, render.transforms, seed, render.attempts);
    }

    public Stitcher.Options stitchOptions() {
        return new Stitcher.Options(stitch.tilePixels, stitch.scaleBySamples, stitch.captions);
    }

    // ---- the config of a run derived from this one (its copy, so this one is never changed) ----

    /** A deep copy (through JSON, as the config is written to provenance). */
    public RunConfig copy() {
        return Json.MAPPER.convertValue(Json.MAPPER.valueToTree(this), RunConfig.class);
    }

    /** The zoom level with grid size {@code n}: {@code <levelsDir>/<n>/}, one level of its own. */
    public RunConfig forLevel(int n, Path levelsDir) {
        RunConfig c = copy();
        c.output = levelsDir.toString();
        c.name = String.valueOf(n);
        c.grid.size = n;
        c.grid.levels = new java.util.ArrayList<>();
        return c;
    }

    /**
     * One layer of a layer comparison, in {@code <layersDir>/<name>/}: no attribution (the one-pass collect of several
     * layers stores none) and one level per layer, which keeps the comparison affordable.
     */
    public RunConfig forLayer(String layerName, String folderName, Path layersDir) {
        RunConfig c = copy();
        c.output = layersDir.toString();
        c.name = folderName;
        c.layer = layerName;
        c.collect.attribution = false;
        c.grid.levels = new java.util.ArrayList<>();
        return c;
    }

    /** A run over a subset of this run's samples (a class atlas or comparison) in {@code <parentDir>/<name>/}. */
    public RunConfig forSubset(String subsetName, Path parentDir, int gridSize, int gridThreshold) {
        RunConfig c = copy();
        c.output = parentDir.toString();
        c.name = subsetName;
        c.grid.size = gridSize;
        c.grid.threshold = gridThreshold;
        return c;
    }

    /** The same run with per-sample class attributions collected (class atlases and comparisons need them). */
    public RunConfig withAttribution() {
        RunConfig c = copy();
        c.collect.attribution = true;
        return c;
    }
}
