package org.atlas4j.model;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.atlas4j.io.Json;

/**
 * What a model file does not say about itself: its input shape, class names, pixel scaling, default layer.
 * Stored as {@code <model>.json} beside the model.
 */
public record ModelCard(String modelFile, int[] inputShape, List<String> classNames, String defaultLayer,
        String pixelScaling, String provenance) {

    public static Path cardPath(Path model) {
        String name = model.getFileName().toString();
        int dot = name.lastIndexOf('.');
        return model.resolveSibling((dot > 0 ? name.substring(0, dot) : name) + ".json");
    }

    public void write(Path file) {
        Json.write(file, this);
    }

    public static ModelCard readFor(Path model) {
        Path p = cardPath(model);
        return Files.exists(p) ? Json.read(p, ModelCard.class) : null;
    }
}
