package org.atlas4j.model;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.zip.ZipFile;

import org.atlas4j.util.UserError;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.deeplearning4j.util.ModelSerializer;

/**
 * A model file loaded into DL4J and translated to SameDiff, with its card and content hash (for provenance).
 *
 * @param network DL4J's network; null for ONNX models, which exist only as our SameDiff graph
 * @param channelsLast whether DL4J's own network takes NHWC input (Keras and TF.js imports); our SameDiff graph always
 *        takes NCHW
 * @param onnx the parsed ONNX model (for CAM heads and sanity randomization); null for the other formats
 */
public record LoadedModel(Path file, String sha256, Model network, NetGraph graph, ModelCard card, Format format,
        boolean channelsLast, OnnxModel onnx) {

    public LoadedModel(Path file, String sha256, Model network, NetGraph graph, ModelCard card, Format format,
            boolean channelsLast) {
        this(file, sha256, network, graph, card, format, channelsLast, null);
    }

    /** Model file formats, found from the file (or given with --format). */
    public enum Format {
        DL4J, KERAS, TFJS, ONNX;

        public static Format parse(String s) {
            try {
                return valueOf(s.trim().toUpperCase(java.util.Locale.ROOT).replace(".", "").replace("-", ""));
            } catch (IllegalArgumentException e) {
                throw new UserError("--format must be dl4j, keras, tfjs or onnx, got '" + s + "'");
            }
        }

        /** .zip → DL4J; .h5/.hdf5/.keras → Keras; model.json or a folder holding one → TF.js; .onnx → ONNX. */
        public static Format detect(Path file) {
            String n = file.getFileName().toString().toLowerCase(java.util.Locale.ROOT);
            if (Files.isDirectory(file) || n.endsWith(".json")) return TFJS;
            if (n.endsWith(".h5") || n.endsWith(".hdf5") || n.endsWith(".keras")) return KERAS;
            if (n.endsWith(".zip")) return DL4J;
            if (n.endsWith(".onnx")) return ONNX;
            throw new UserError("cannot tell the format of model file " + file + " from its name; valid: a DL4J .zip, a "
                    + "Keras .h5, a TF.js model.json (or its folder), an ONNX .onnx; or pass --format dl4j|keras|tfjs|onnx");
        }
    }

    /** DL4J's own inference on NCHW input (the reference our SameDiff graph is checked against, and the benchmark baseline). */
    public INDArray dl4jOutput(INDArray input) {
        if (network == null) {
            throw new UserError("model " + file + " (" + format.name().toLowerCase(java.util.Locale.ROOT) + ") has no DL4J "
                    + "network; only its SameDiff graph runs");
        }
        INDArray in = channelsLast ? input.permute(0, 2, 3, 1).dup('c') : input;
        return network instanceof ComputationGraph cg ? cg.outputSingle(false, in)
                : ((MultiLayerNetwork) network).output(in, false);
    }

    /**
     * @param inputShape [C,H,W] when the model has no card beside it; null to require the card
     */
    public static LoadedModel load(Path file, int[] inputShape) {
        return load(file, inputShape, null);
    }

    /** @param format null to detect it from the file name */
    public static LoadedModel load(Path file, int[] inputShape, Format format) {
        if (!Files.exists(file)) {
            throw new UserError("model file not found: " + file.toAbsolutePath()
                    + " (the demo model is models/fashion-mnist-cnn.zip; ./atlas train-demo recreates it)");
        }
        Format f = format != null ? format : Format.detect(file);
        if (f == Format.DL4J) return loadDl4j(file, inputShape);
        if (f == Format.ONNX) return loadOnnx(file, inputShape);
        Path main = f == Format.TFJS && Files.isDirectory(file) ? file.resolve("model.json") : file;
        if (!Files.isReadable(main)) throw new UserError("model file is not readable: " + main);
        KerasImport.Imported imp = f == Format.KERAS ? KerasImport.importH5(main) : KerasImport.importTfjs(main);
        ModelCard card = ModelCard.readFor(main);
        ModelChecks.inputShape(inputShape, "--input-shape");
        int[] shape = inputShape != null ? inputShape : card != null && card.inputShape() != null ? card.inputShape()
                : imp.inputShape();
        String source = ModelChecks.shapeSource(inputShape, card, main);
        if (shape == null || shape.length != 3) {
            throw new UserError("the input size of " + file + " is not fixed in its Keras config: give it in a model card "
                    + ModelCard.candidates(main).get(0) + " (inputShape: [C, H, W]) or with --input-shape C,H,W");
        }
        if (imp.inputShape() != null && !java.util.Arrays.equals(imp.inputShape(), shape)) {
            throw new UserError("input size mismatch: the model " + file + " takes " + fmt(imp.inputShape())
                    + " (C×H×W) but the card or --input-shape says " + fmt(shape));
        }
        if (card == null) {
            card = new ModelCard(main.getFileName().toString(), shape, List.of(), null, "pixels / 255",
                    "imported " + f.name().toLowerCase(java.util.Locale.ROOT) + " model, no model card");
        }
        ModelChecks.channels(imp.network(), shape, main, source);
        ModelChecks.finiteWeights(imp.network(), main);
        checkScaling(card, shape, main);
        NetGraph graph = imp.network() instanceof ComputationGraph cg
                ? SameDiffConverter.convert(cg, shape, org.nd4j.linalg.api.buffer.DataType.FLOAT)
                : SameDiffConverter.convert((MultiLayerNetwork) imp.network(), shape);
        ModelChecks.probe(graph, main, source);
        return new LoadedModel(main, sha256(main), imp.network(), graph, card, f, channelsLast(imp.network()));
    }

    /** Whether DL4J's network expects NHWC images (imported from Keras/TF.js, possibly saved as a zip since). */
    public static boolean channelsLast(Model net) {
        org.deeplearning4j.nn.api.Layer[] layers = net instanceof ComputationGraph cg ? cg.getLayers()
                : ((MultiLayerNetwork) net).getLayers();
        for (var l : layers) {
            if (l.conf().getLayer() instanceof org.deeplearning4j.nn.conf.layers.ConvolutionLayer c) {
                return c.getCnn2dDataFormat() == org.deeplearning4j.nn.conf.CNN2DFormat.NHWC;
            }
        }
        return false;
    }

    private static String fmt(int[] s) {
        return s[0] + "×" + s[1] + "×" + s[2];
    }

    private static LoadedModel loadDl4j(Path file, int[] inputShape) {
        if (!Files.exists(file)) {
            throw new UserError("model file not found: " + file.toAbsolutePath()
                    + " (the demo model is models/fashion-mnist-cnn.zip; ./atlas train-demo recreates it)");
        }
        if (!Files.isReadable(file) || Files.isDirectory(file)) {
            throw new UserError("model file is not a readable file: " + file);
        }
        boolean isGraph;
        try (ZipFile zip = new ZipFile(file.toFile())) {
            if (zip.getEntry("configuration.json") == null) {
                throw new UserError("model file " + file + " is a zip but not a DL4J model (no configuration.json); "
                        + "save models with ModelSerializer.writeModel");
            }
            if (zip.getEntry("coefficients.bin") == null) {
                throw new UserError("DL4J model " + file + " holds no coefficients.bin (its weights): it was saved without "
                        + "them or assembled by hand; save it again with ModelSerializer.writeModel");
            }
            isGraph = new String(zip.getInputStream(zip.getEntry("configuration.json")).readAllBytes()).contains("\"vertices\"");
        } catch (java.util.zip.ZipException e) {
            throw new UserError("model file " + file + " is truncated or not a zip file (" + e.getMessage() + "); valid: a "
                    + "DL4J model zip as ModelSerializer.writeModel saves it. Copy the file again or save the model again");
        } catch (IOException e) {
            throw new UserError("cannot read model file " + file + ": " + e.getMessage());
        }
        Model net;
        try {
            net = isGraph ? ModelSerializer.restoreComputationGraph(file.toFile(), false)
                    : ModelSerializer.restoreMultiLayerNetwork(file.toFile(), false);
        } catch (IOException | RuntimeException e) {
            throw dl4jLoadError(file, e);
        }
        ModelCard card = ModelCard.readFor(file);
        ModelChecks.inputShape(inputShape, "--input-shape");
        int[] shape = inputShape != null ? inputShape : card != null ? card.inputShape() : null;
        String source = ModelChecks.shapeSource(inputShape, card, file);
        if (shape == null || shape.length != 3) {
            throw new UserError("the input shape of " + file + " is unknown: put a model card " + ModelCard.cardPath(file)
                    + " beside it or pass --input-shape C,H,W");
        }
        if (card == null) {
            card = new ModelCard(file.getFileName().toString(), shape, List.of(), null, "as given", "no model card");
        }
        ModelChecks.channels(net, shape, file, source);
        ModelChecks.finiteWeights(net, file);
        checkScaling(card, shape, file);
        NetGraph graph = net instanceof ComputationGraph cg
                ? SameDiffConverter.convert(cg, shape, org.nd4j.linalg.api.buffer.DataType.FLOAT)
                : SameDiffConverter.convert((MultiLayerNetwork) net, shape);
        ModelChecks.probe(graph, file, source);
        return new LoadedModel(file, sha256(file), net, graph, card, Format.DL4J, channelsLast(net));
    }

    /** Why DL4J could not restore a zip whose entries are present, said in terms of the file. */
    static UserError dl4jLoadError(Path file, Exception e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            String m = t.getMessage() == null ? "" : t.getMessage();
            if (t instanceof java.io.EOFException) {
                return new UserError("DL4J model " + file + " is truncated: its coefficients.bin (the weights) ends early. "
                        + "Copy the file again or save the model again with ModelSerializer.writeModel", e);
            }
            if (t instanceof java.util.zip.ZipException) {
                return new UserError("DL4J model " + file + " is corrupt (" + m + "); copy the file again or save the model "
                        + "again with ModelSerializer.writeModel", e);
            }
            java.util.regex.Matcher len = java.util.regex.Pattern.compile("expected length (\\d+), got length (\\d+)").matcher(m);
            if (len.find()) {
                return new UserError(String.format(java.util.Locale.ROOT, "DL4J model %s: coefficients.bin holds %,d weights "
                        + "but the layers in configuration.json need %,d: the two do not belong together (an edited "
                        + "configuration or files from different models); save the model again with ModelSerializer.writeModel",
                        file, Long.parseLong(len.group(2)), Long.parseLong(len.group(1))), e);
            }
            if (t instanceof com.fasterxml.jackson.core.JsonProcessingException
                    || t.getClass().getName().startsWith("org.nd4j.shade.jackson")) {
                return new UserError("DL4J model " + file + ": its configuration.json is not a valid DL4J configuration ("
                        + m.lines().findFirst().orElse("") + "); save the model again with ModelSerializer.writeModel", e);
            }
        }
        return new UserError("cannot load DL4J model " + file + ": " + e.getMessage(), e);
    }

    /** An ONNX export: translated directly into our SameDiff graph (no DL4J network exists). */
    private static LoadedModel loadOnnx(Path file, int[] inputShape) {
        if (Files.isDirectory(file)) throw new UserError("an ONNX model is one .onnx file, got the folder " + file);
        OnnxModel onnx = OnnxModel.read(file);
        ModelCard card = ModelCard.readFor(file);
        ModelChecks.inputShape(inputShape, "--input-shape");
        int[] shape = inputShape != null ? inputShape : card != null && card.inputShape() != null ? card.inputShape()
                : onnx.inputShape();
        String source = ModelChecks.shapeSource(inputShape, card, file);
        if (shape == null || shape.length != 3) {
            throw new UserError("the input size of " + file + " is not fixed in the ONNX graph: give it in a model card "
                    + ModelCard.cardPath(file) + " (inputShape: [C, H, W]) or with --input-shape C,H,W");
        }
        int[] declared = onnx.inputShape();
        if (declared != null && !java.util.Arrays.equals(declared, shape)) {
            throw new UserError("input size mismatch: the ONNX model " + file + " declares " + fmt(declared)
                    + " (C×H×W) but the card or --input-shape says " + fmt(shape));
        }
        if (card == null) {
            card = new ModelCard(file.getFileName().toString(), shape, List.of(), null, "pixels / 255",
                    "imported onnx model, no model card (torchvision models want pixelScaling: imagenet)");
        }
        checkScaling(card, shape, file);
        NetGraph graph = onnx.toNetGraph(shape, org.nd4j.linalg.api.buffer.DataType.FLOAT);
        ModelChecks.probe(graph, file, source);
        return new LoadedModel(file, sha256(file), null, graph, card, Format.ONNX, false, onnx);
    }

    /** An unknown or unusable pixelScaling in the card is refused at load, not when the first image is read. */
    private static void checkScaling(ModelCard card, int[] shape, Path model) {
        String sc = card.pixelScaling();
        if (sc == null || "as given".equals(sc)) return;
        try {
            org.atlas4j.data.PixelScaling.parse(sc, shape[0]);
        } catch (UserError e) {
            throw new UserError("model card " + ModelChecks.cardFile(model) + ": " + e.getMessage(), e);
        }
    }

    public static String sha256(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 16];
            for (int r; (r = in.read(buf)) > 0; ) md.update(buf, 0, r);
            return HexFormat.of().formatHex(md.digest());
        } catch (Exception e) {
            throw new UserError("cannot hash " + file + ": " + e.getMessage());
        }
    }

    /**
     * How image files become this model's input: the card's pixel scaling, resize policy and channel order, each
     * overridable (null = the card's; a card without them means pixels / 255, crop, RGB).
     */
    public org.atlas4j.data.ImageFiles.Preprocess preprocess(String scalingOverride, String resizeOverride,
            java.awt.Color background) {
        return preprocess(scalingOverride, resizeOverride, null, background);
    }

    /** The same with the card's resize filter overridable too (null = the card's, else java2d). */
    public org.atlas4j.data.ImageFiles.Preprocess preprocess(String scalingOverride, String resizeOverride,
            String filterOverride, java.awt.Color background) {
        int[] in = graph.inputShape();
        String sc = scalingOverride != null ? scalingOverride : card.pixelScaling();
        if (sc == null || "as given".equals(sc)) sc = "pixels / 255";
        String rs = resizeOverride != null ? resizeOverride : card.resize() != null ? card.resize() : "crop";
        org.atlas4j.data.ImageFiles.Resize resize;
        try {
            resize = org.atlas4j.data.ImageFiles.Resize.valueOf(rs.trim().toUpperCase(java.util.Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new UserError("resize must be crop, pad or stretch, got '" + rs + "'");
        }
        return new org.atlas4j.data.ImageFiles.Preprocess(in[0], in[1], in[2],
                org.atlas4j.data.PixelScaling.parse(sc, in[0]), resize, background, "bgr".equals(card.channelOrder()),
                filterOverride != null ? org.atlas4j.data.ImageFiles.ResizeFilter.parse(filterOverride, "--resize-filter")
                        : card.resizeFilter() != null
                                ? org.atlas4j.data.ImageFiles.ResizeFilter.parse(card.resizeFilter(), "model card: resizeFilter")
                                : org.atlas4j.data.ImageFiles.ResizeFilter.JAVA2D);
    }

    /** The layer to use: the requested one, else the card's default, else the last spatial layer. */
    public String resolveLayer(String requested) {
        if (requested != null && !requested.isBlank()) {
            graph.spatialLayer(requested);
            return requested;
        }
        if (card.defaultLayer() != null) return card.defaultLayer();
        List<NetGraph.LayerShape> spatial = graph.shapes().stream().filter(NetGraph.LayerShape::spatial).toList();
        if (spatial.isEmpty()) throw new UserError("model " + file + " has no layer with spatial dimensions");
        return spatial.get(spatial.size() - 1).node().name();
    }
}
