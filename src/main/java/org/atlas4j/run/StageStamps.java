package org.atlas4j.run;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.Function;

import org.atlas4j.io.AtomicFiles;
import org.atlas4j.io.Json;
import org.atlas4j.util.Progress;
import org.atlas4j.util.UserError;

/**
 * The stamps of a run's stages: {@code <stage>/stamp.json} holds the stage's options and its input's stamp, so a stage
 * whose stamp matches (and whose outputs exist) is up to date and skipped, and any change upstream invalidates
 * everything downstream of it.
 */
public final class StageStamps {
    public static final String FILE = "stamp.json";
    private final Function<String, Path> stageDir;
    private final Path runDir;

    StageStamps(Path runDir, Function<String, Path> stageDir) {
        this.runDir = runDir;
        this.stageDir = stageDir;
    }

    /** The stamp of {@code stage} run with {@code options} on the output of an upstream stage stamped {@code upstream}. */
    public static String stamp(String stage, Object options, String upstream) {
        return Json.canonical(Map.of("stage", stage, "options", options, "upstream", upstream == null ? "" : upstream));
    }

    /** True, and says so, when the stage's stamp equals {@code stamp} and every named output exists. */
    public boolean upToDate(String stage, String stamp, String... outputs) {
        Path s = stageDir.apply(stage).resolve(FILE);
        try {
            if (!Files.exists(s) || !Files.readString(s).equals(stamp)) return false;
        } catch (IOException e) {
            return false;
        }
        for (String o : outputs) if (!Files.exists(stageDir.apply(stage).resolve(o))) return false;
        Progress.info(stage + ": up to date, skipped (use --force to redo)");
        return true;
    }

    /** Marks the stage done: written last, after its outputs. */
    public void write(String stage, String stamp) {
        AtomicFiles.writeString(stageDir.apply(stage).resolve(FILE), stamp);
    }

    /** The stage's stamp (the input of the next stage's), or a UserError saying to run the stage first. */
    public String read(String stage) {
        try {
            return Files.readString(stageDir.apply(stage).resolve(FILE));
        } catch (IOException e) {
            throw new UserError("stage '" + stage + "' has not run in " + runDir + "; run it first (./atlas " + stage
                    + " --config ...) or use ./atlas run");
        }
    }

    /** The stage's stamp, or "none" when it has not run (the viewer lists what it shows). */
    public String readOrNone(String stage) throws IOException {
        Path st = stageDir.apply(stage).resolve(FILE);
        return Files.exists(st) ? Files.readString(st) : "none";
    }
}
