package org.atlas4j.cli;

import java.awt.Color;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

import org.atlas4j.attribution.ExplainJob;
import org.atlas4j.data.ImageFiles;
import org.atlas4j.util.UserError;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "explain", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Attribution maps for an image or a folder: where did the model look?",
                "Methods: cam (needs conv → global average pooling → dense), gradcam, gradcam++, saliency, smoothgrad "
                        + "(SmoothGrad of saliency), smooth-gradcam, smooth-gradcam++, all.",
                "Writes per image <out>/<image>/{input.png, <method>.png, <method>.npy, explain.json}, "
                        + "contact-sheet-NNN.png, index.json and report.txt; --sanity adds sanity.{txt,json,svg,png}."})
final class ExplainCommand implements Callable<Integer> {
    @Mixin
    SharedOptions.Model model = new SharedOptions.Model();

    @Option(names = "--images", description = "An image file or a folder (searched recursively); default: demo "
            + "Fashion-MNIST test images")
    Path images;

    @Option(names = "--count", description = "Demo test images when --images is not given, classes in turn (default: ${DEFAULT-VALUE})")
    int count = 10;

    @Option(names = "--method", split = ",", description = "Methods, comma-separated (default: all)")
    List<String> methods = List.of("all");

    @Option(names = "--class", description = "Class to explain: top1, top2, an index or a name (default: ${DEFAULT-VALUE})")
    String classSpec = "top1";

    @Option(names = "--layer", description = "Layer (default: the last with spatial size above 1×1)")
    String layer;

    @Option(names = "--out", description = "Output folder (default: atlas-output/explain-<images name>)")
    Path out;

    @Option(names = "--batch", description = "Images per forward/backward pass (default: ${DEFAULT-VALUE})")
    int batch = 64;

    @Option(names = "--smooth-samples", description = "SmoothGrad noisy copies per image (default: ${DEFAULT-VALUE})")
    int smoothSamples = 50;

    @Option(names = "--smooth-sigma", description = "SmoothGrad noise σ as a fraction of the image's value range (default: ${DEFAULT-VALUE})")
    double smoothSigma = 0.15;

    @Option(names = "--resize", description = "How images meet the model's input size: crop, pad or stretch (default: the model card's, else crop)")
    String resize;

    @Option(names = "--resize-filter", description = "Resampling to match the model's training pipeline: java2d, bilinear (TF/Keras), bilinear-aa or bicubic-aa (PIL/torchvision), area (default: the model card's, else java2d)")
    String resizeFilter;

    @Option(names = "--background", description = "Colour behind transparent pixels and padding: black, white or #rrggbb (default: ${DEFAULT-VALUE})")
    String background = "black";

    @Option(names = "--sanity", description = "Also run the sanity checks: cascading randomization, class sensitivity, Sobel baseline")
    boolean sanity;

    @Option(names = "--sanity-images", description = "Images used by --sanity (default: ${DEFAULT-VALUE})")
    int sanityImages = 32;

    @Option(names = "--sheet-rows", description = "Images per contact-sheet page (default: ${DEFAULT-VALUE})")
    int sheetRows = 25;

    @Option(names = "--seed", description = "Seed for SmoothGrad noise and the randomization test (default: ${DEFAULT-VALUE})")
    long seed = 42;

    @Mixin
    SharedOptions.DataDir dataDir = new SharedOptions.DataDir();

    @Option(names = "--pixel-scaling", description = "Overrides the card's: 'pixels / 255', 'pixels', 'pixels / 127.5 - 1' or 'imagenet'")
    String pixelScaling;

    @Mixin
    SharedOptions.ImageLimits imageLimits = new SharedOptions.ImageLimits();

    @Option(names = "--force", description = "Recompute images whose maps already exist")
    boolean force;

    @Override
    public Integer call() throws Exception {
        if (images == null) org.atlas4j.data.DataInstaller.ensureFashionMnist(dataDir.path());
        ImageFiles.Resize r = null;
        if (resize != null) {
            try {
                r = ImageFiles.Resize.valueOf(resize.trim().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new UserError("--resize must be crop, pad or stretch, got '" + resize + "'");
            }
        }
        Path o = out != null ? out : Path.of("atlas-output", "explain-" + (images == null ? "demo"
                : images.toAbsolutePath().normalize().getFileName().toString().replaceAll("[^A-Za-z0-9._-]", "_")));
        try (var lock = Main.lockRun(o)) { // its output folder has one writer, like a run folder
            explain(o, r);
        }
        return 0;
    }

    private void explain(Path o, ImageFiles.Resize r) throws Exception {
        ExplainJob.run(new ExplainJob.Options(model.path(), images, dataDir.path(), count, methods, classSpec, layer, o, batch,
                smoothSamples, smoothSigma, seed, r, colour(background), sanity, sanityImages, sheetRows, force,
                model.format.inputShape, pixelScaling, model.format.format(), resizeFilter, imageLimits.limits()));
    }

    static Color colour(String s) {
        String t = s.trim().toLowerCase(Locale.ROOT);
        if (t.equals("black")) return Color.BLACK;
        if (t.equals("white")) return Color.WHITE;
        if (t.matches("#[0-9a-f]{6}")) return new Color(Integer.parseInt(t.substring(1), 16));
        throw new UserError("--background must be black, white or #rrggbb, got '" + s + "'");
    }
}
