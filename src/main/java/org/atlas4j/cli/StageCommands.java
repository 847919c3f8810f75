package org.atlas4j.cli;

import java.util.concurrent.Callable;

import org.atlas4j.run.AtlasRun;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/**
 * One subcommand per pipeline stage; each reads the previous stage's files in the run folder. Every one takes
 * {@link RunOptions}, --force included, and skips a stage whose outputs are up to date unless --force is given.
 */
final class StageCommands {
    private StageCommands() {
    }

    abstract static class Stage implements Callable<Integer> {
        @Mixin
        RunOptions options = new RunOptions();

        abstract void run(AtlasRun run, boolean force) throws Exception;

        @Override
        public Integer call() throws Exception {
            AtlasRun r = new AtlasRun(options.resolve());
            try (var lock = Main.lockRun(r.dir())) {
                run(r, options.force());
            }
            return 0;
        }
    }
}

@Command(name = "collect", mixinStandardHelpOptions = true,
        description = "Stage 1: one random spatial activation per image at the layer → collect/activations.npy, samples.csv")
final class CollectCommand extends StageCommands.Stage {
    @picocli.CommandLine.Mixin
    SharedOptions.Spark spark;

    @Override
    void run(AtlasRun r, boolean force) throws Exception {
        spark.apply(r);
        r.collect(force);
    }
}

@Command(name = "reduce", mixinStandardHelpOptions = true,
        description = "Stage 2: 2-D layout (UMAP or t-SNE), normalized to [0,1] → reduce/layout.npy")
final class ReduceCommand extends StageCommands.Stage {
    @Override
    void run(AtlasRun r, boolean force) throws Exception {
        r.reduce(force);
    }
}

@Command(name = "grid", mixinStandardHelpOptions = true,
        description = "Stage 3: bin the layout into an N×N grid → grid/cells.json, cell-vectors.npy")
final class GridCommand extends StageCommands.Stage {
    @Override
    void run(AtlasRun r, boolean force) throws Exception {
        r.grid(force);
    }
}

@Command(name = "render", mixinStandardHelpOptions = true,
        description = "Stage 4: feature visualization of every kept cell → render/tiles/*.png (resumes unfinished batches)")
final class RenderCommand extends StageCommands.Stage {
    @Override
    void run(AtlasRun r, boolean force) throws Exception {
        r.render(force);
    }
}

@Command(name = "stitch", mixinStandardHelpOptions = true,
        description = "Stage 5: lay the tiles out → atlas.png, atlas.svg, atlas.json")
final class StitchCommand extends StageCommands.Stage {
    @Override
    void run(AtlasRun r, boolean force) throws Exception {
        r.stitch(null); // keeps no stamp: always redone, so --force asks nothing more of it
    }
}

@Command(name = "run", mixinStandardHelpOptions = true,
        description = "All stages (collect → reduce → grid → render → stitch); up-to-date stages are skipped")
final class RunCommand extends StageCommands.Stage {
    @picocli.CommandLine.Mixin
    SharedOptions.Spark spark;

    @Override
    void run(AtlasRun r, boolean force) throws Exception {
        spark.apply(r);
        r.all(force);
    }
}
