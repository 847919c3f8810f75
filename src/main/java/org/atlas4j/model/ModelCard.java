package org.atlas4j.model;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.atlas4j.io.Json;
import org.atlas4j.util.UserError;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;

/**
 * What a model file does not say about itself: its input shape, class names, pixel scaling, default layer.
 * Stored beside the model as {@code <model>.yaml} (or {@code .yml}, or {@code .json} for a model that is not itself
 * a JSON file). Unknown keys are refused with the list of valid ones.
 *
 * @param classNamesFile a text file with one class name per line (relative to the card), used when classNames is empty
 * @param resize how image files meet the input size: crop (default), pad or stretch
 * @param channelOrder rgb (default) or bgr (e.g. Caffe-style models)
 * @param resizeFilter how pixels are resampled: java2d (default), bilinear, bilinear-aa, bicubic-aa or area, to match
 *        the framework the model was trained with (see {@link org.atlas4j.data.ImageFiles.ResizeFilter})
 */
public record ModelCard(String modelFile, int[] inputShape, List<String> classNames, String defaultLayer,
        String pixelScaling, String provenance, String classNamesFile, String resize, String channelOrder,
        String resizeFilter) {

    public ModelCard(String modelFile, int[] inputShape, List<String> classNames, String defaultLayer, String pixelScaling,
            String provenance, String classNamesFile, String resize, String channelOrder) {
        this(modelFile, inputShape, classNames, defaultLayer, pixelScaling, provenance, classNamesFile, resize, channelOrder,
                null);
    }

    public ModelCard(String modelFile, int[] inputShape, List<String> classNames, String defaultLayer, String pixelScaling,
            String provenance) {
        this(modelFile, inputShape, classNames, defaultLayer, pixelScaling, provenance, null, null, null);
    }

    public ModelCard {
        classNames = classNames == null ? List.of() : List.copyOf(classNames);
        if (resize != null && !List.of("crop", "pad", "stretch").contains(resize)) {
            throw new UserError("model card: resize must be crop, pad or stretch, got '" + resize + "'");
        }
        if (channelOrder != null && !List.of("rgb", "bgr").contains(channelOrder)) {
            throw new UserError("model card: channelOrder must be rgb or bgr, got '" + channelOrder + "'");
        }
        if (resizeFilter != null) org.atlas4j.data.ImageFiles.ResizeFilter.parse(resizeFilter, "model card: resizeFilter");
    }

    /** The same card with another provenance line and model file (for converted copies). */
    public ModelCard forCopy(String file, int[] shape, String provenanceLine) {
        return new ModelCard(file, shape, classNames, defaultLayer, pixelScaling, provenanceLine, null, resize, channelOrder,
                resizeFilter);
    }

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory())
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, true);

    /** Where a new card for {@code model} is written: {@code <stem>.json}, or {@code <stem>.yaml} for a JSON model. */
    public static Path cardPath(Path model) {
        List<Path> c = candidates(model);
        return c.get(c.size() - 1).toString().endsWith(".json") ? c.get(c.size() - 1) : c.get(0);
    }

    static List<Path> candidates(Path model) {
        String name = model.getFileName().toString();
        int dot = name.lastIndexOf('.');
        String stem = dot > 0 ? name.substring(0, dot) : name;
        List<Path> out = new ArrayList<>();
        out.add(model.resolveSibling(stem + ".yaml"));
        out.add(model.resolveSibling(stem + ".yml"));
        Path json = model.resolveSibling(stem + ".json");
        if (!json.getFileName().toString().equals(name)) out.add(json);
        return out;
    }

    public void write(Path file) {
        Json.write(file, this);
    }

    /** The card beside {@code model}, or null; a card with unknown keys or bad values is a clear error. */
    public static ModelCard readFor(Path model) {
        for (Path p : candidates(model)) {
            if (!Files.exists(p)) continue;
            ModelCard card;
            try {
                card = (p.toString().endsWith(".json") ? Json.MAPPER.copy()
                        .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, true) : YAML).readValue(p.toFile(),
                                ModelCard.class);
            } catch (com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException e) {
                throw new UserError("model card " + p + ": unknown key '" + e.getPropertyName() + "'; valid keys: "
                        + e.getKnownPropertyIds());
            } catch (com.fasterxml.jackson.databind.exc.ValueInstantiationException e) {
                // the card's own checks throw UserError; anything else (a null class name) is described by Jackson
                throw new UserError("model card " + p + ": " + (e.getCause() instanceof UserError u ? u.getMessage()
                        : Json.describe(e)));
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw new UserError("model card " + p + " is not valid: " + Json.describe(e));
            } catch (java.io.IOException e) {
                throw new UserError("model card " + p + " is not valid: " + e.getMessage());
            }
            ModelChecks.inputShape(card.inputShape(), "model card " + p);
            return card.withClassNamesFile(p);
        }
        return null;
    }

    private ModelCard withClassNamesFile(Path cardFile) {
        if (!classNames.isEmpty() || classNamesFile == null) return this;
        Path f = cardFile.resolveSibling(classNamesFile);
        try {
            List<String> names = Files.readAllLines(f).stream().map(String::trim).filter(s -> !s.isEmpty()).toList();
            return new ModelCard(modelFile, inputShape, names, defaultLayer, pixelScaling, provenance, classNamesFile, resize,
                    channelOrder, resizeFilter);
        } catch (java.io.IOException e) {
            throw new UserError("model card " + cardFile + ": cannot read classNamesFile " + f + ": " + e.getMessage());
        }
    }
}
