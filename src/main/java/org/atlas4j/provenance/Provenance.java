package org.atlas4j.provenance;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import org.atlas4j.io.Json;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * What {@code provenance.json} records about a run folder: the run's name and whole config (as written, so any later
 * reader can rebuild it), the seed, the model file with its SHA-256 and layer, the library versions, and one
 * {@link StageRecord} per stage. Field names are those of earlier versions' files, which therefore still read.
 *
 * @param config the run config as JSON (this package sits below {@code run}, which owns the config type)
 */
public record Provenance(String run, JsonNode config, Long seed, ModelRecord model, Map<String, String> versions,
        Map<String, StageRecord> stages) {
    public static final String FILE = "provenance.json";

    /** The model behind a run. */
    public record ModelRecord(String file, String sha256, String layer) {
    }

    public Provenance {
        stages = stages == null ? new LinkedHashMap<>() : new LinkedHashMap<>(stages);
    }

    /** The file in {@code runDir}, or null when there is none yet. Malformed files raise a DataFormatException naming it. */
    public static Provenance read(Path runDir) {
        Path p = runDir.resolve(FILE);
        return Files.exists(p) ? Json.read(p, Provenance.class) : null;
    }

    /**
     * Adds (or replaces) one stage's record in {@code runDir}'s file and refreshes the run-wide fields; earlier stages'
     * records are kept. Callers serialise calls per run folder.
     */
    public static void recordStage(Path runDir, String run, JsonNode config, long seed, ModelRecord model, String stage,
            StageRecord record) {
        Provenance old = read(runDir);
        Map<String, StageRecord> stages = new LinkedHashMap<>(old == null ? Map.of() : old.stages());
        stages.put(stage, record);
        Json.write(runDir.resolve(FILE), new Provenance(run, config, seed, model, Versions.all(), stages));
    }
}
