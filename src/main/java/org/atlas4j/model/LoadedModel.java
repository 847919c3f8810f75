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

/** A DL4J model file loaded and translated to SameDiff, with its card and content hash (for provenance). */
public record LoadedModel(Path file, String sha256, Model network, NetGraph graph, ModelCard card) {

    /** DL4J's own inference (the reference our SameDiff graph is checked against, and the benchmark baseline). */
    public INDArray dl4jOutput(INDArray input) {
        return network instanceof ComputationGraph cg ? cg.outputSingle(false, input)
                : ((MultiLayerNetwork) network).output(input, false);
    }

    /**
     * @param inputShape [C,H,W] when the model has no card beside it; null to require the card
     */
    public static LoadedModel load(Path file, int[] inputShape) {
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
            isGraph = new String(zip.getInputStream(zip.getEntry("configuration.json")).readAllBytes()).contains("\"vertices\"");
        } catch (java.util.zip.ZipException e) {
            throw new UserError("model file " + file + " is not a DL4J model zip (" + e.getMessage() + ")");
        } catch (IOException e) {
            throw new UserError("cannot read model file " + file + ": " + e.getMessage());
        }
        Model net;
        try {
            net = isGraph ? ModelSerializer.restoreComputationGraph(file.toFile(), false)
                    : ModelSerializer.restoreMultiLayerNetwork(file.toFile(), false);
        } catch (IOException | RuntimeException e) {
            throw new UserError("cannot load DL4J model " + file + ": " + e.getMessage(), e);
        }
        ModelCard card = ModelCard.readFor(file);
        int[] shape = inputShape != null ? inputShape : card != null ? card.inputShape() : null;
        if (shape == null || shape.length != 3) {
            throw new UserError("the input shape of " + file + " is unknown: put a model card " + ModelCard.cardPath(file)
                    + " beside it or pass --input-shape C,H,W");
        }
        if (card == null) {
            card = new ModelCard(file.getFileName().toString(), shape, List.of(), null, "as given", "no model card");
        }
        NetGraph graph = net instanceof ComputationGraph cg
                ? SameDiffConverter.convert(cg, shape, org.nd4j.linalg.api.buffer.DataType.FLOAT)
                : SameDiffConverter.convert((MultiLayerNetwork) net, shape);
        return new LoadedModel(file, sha256(file), net, graph, card);
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
