package org.atlas4j.run;

import java.nio.file.Path;
import java.util.Objects;

import org.atlas4j.data.ImageDataset;
import org.atlas4j.data.ModelInput;
import org.atlas4j.model.LoadedModel;

/** What a run reads, loaded on first use: the model, the layer it resolves to, and the images. */
final class RunInputs {
    private final RunConfig cfg;
    private LoadedModel model;
    private ImageDataset data;
    private String layer;

    RunInputs(RunConfig cfg) {
        this.cfg = cfg;
    }

    /** Takes what {@code parent} has loaded: the model and images always, the layer when this run names the same one. */
    void shareFrom(RunInputs parent) {
        model = parent.model;
        data = parent.data;
        if (Objects.equals(cfg.layer, parent.cfg.layer)) layer = parent.layer;
    }

    LoadedModel model() {
        if (model == null) {
            model = LoadedModel.load(Path.of(cfg.model), cfg.inputShape,
                    cfg.modelFormat == null ? null : LoadedModel.Format.parse(cfg.modelFormat));
        }
        return model;
    }

    String layer() {
        if (layer == null) layer = model().resolveLayer(cfg.layer);
        model().graph().spatialLayer(layer);
        return layer;
    }

    ImageDataset data() throws Exception {
        if (data == null) {
            data = cfg.dataSpec().open(model().card().classNames(),
                    () -> model().preprocess(null, cfg.data.resize, java.awt.Color.BLACK), model().graph().inputShape());
        }
        return data;
    }

    ModelInput modelInput() {
        return ModelInput.of(model().preprocess(null, cfg.data.resize, java.awt.Color.BLACK));
    }
}
