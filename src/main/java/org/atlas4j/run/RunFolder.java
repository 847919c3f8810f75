package org.atlas4j.run;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.atlas4j.io.DataFormatException;
import org.atlas4j.io.Json;
import org.atlas4j.provenance.Provenance;
import org.atlas4j.util.UserError;
import org.atlas4j.viewer.ViewerExport;

/** A run folder seen from outside the stages: reopened from its provenance, or described for the viewer. */
final class RunFolder {
    private RunFolder() {
    }

    /** The run in {@code runDir} with the config its provenance.json records (its folder wherever it now is). */
    static AtlasRun reopen(Path runDir) {
        Path p = runDir.resolve(Provenance.FILE);
        if (!Files.exists(p)) {
            throw new UserError(runDir + " is not an atlas run folder (no " + Provenance.FILE + "); pass e.g. atlas-output/fashion-mnist");
        }
        Provenance prov;
        try {
            prov = Provenance.read(runDir);
        } catch (DataFormatException e) {
            throw new UserError(e.getMessage() + "; rerun the run with ./atlas run", e);
        }
        if (prov == null || prov.config() == null || !prov.config().isObject()) {
            throw new UserError(p + " records no run config (no \"config\" object); rerun the run with ./atlas run");
        }
        RunConfig cfg;
        try {
            cfg = Json.MAPPER.convertValue(prov.config(), RunConfig.class);
        } catch (IllegalArgumentException e) { // Jackson's wrapper of a mapping error
            throw new UserError(p + " records an unreadable run config: " + Json.oneLine(
                    e.getCause() instanceof com.fasterxml.jackson.core.JsonProcessingException j ? Json.describe(j) : e.getMessage()));
        }
        if (cfg.data == null || cfg.collect == null || cfg.reduce == null || cfg.grid == null || cfg.render == null
                || cfg.stitch == null || cfg.grid.levels == null) {
            throw new UserError(p + " records a run config with a section set to null; rerun the run with ./atlas run");
        }
        Path abs = runDir.toAbsolutePath().normalize();
        cfg.output = abs.getParent().toString();
        cfg.name = abs.getFileName().toString();
        try {
            return new AtlasRun(cfg);
        } catch (UserError e) {
            throw new UserError(p + " records an invalid run config: " + e.getMessage(), e);
        }
    }

    /** What the viewer shows of a run: its collect, its images and model classes, and every zoom level's folders. */
    static ViewerExport.Input viewerInput(AtlasRun run) throws Exception {
        var model = run.model();
        List<ViewerExport.LevelFolders> levels = new ArrayList<>();
        for (int n : run.levelSizes()) {
            AtlasRun lr = run.level(n);
            levels.add(new ViewerExport.LevelFolders(n, lr.stageDir("grid"), lr.stageDir("render")));
        }
        return new ViewerExport.Input(run.dir(), run.stageDir("collect"), run.data(), model.card().classNames(),
                model.graph().logits() != null ? model.graph().classCount() : 0,
                model.preprocess(null, null, java.awt.Color.BLACK).scaling(), run.config().name, run.layer(), levels);
    }
}
