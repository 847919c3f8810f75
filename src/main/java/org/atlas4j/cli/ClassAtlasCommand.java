package org.atlas4j.cli;

import java.util.concurrent.Callable;

import org.atlas4j.run.AtlasRun;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "class-atlas", mixinStandardHelpOptions = true,
        description = "What the layer devotes to one class: samples whose top-attributed class it is, plus the strongest "
                + "others, as an atlas in <run>/class-<name>/ captioned with each cell's attribution to the class.")
final class ClassAtlasCommand implements Callable<Integer> {
    @Mixin
    RunOptions options = new RunOptions();

    @Option(names = "--class", required = true, description = "Class name or index, e.g. Trouser or 1")
    String cls;

    @Option(names = "--top", description = "Also keep the top N samples by attribution to the class (default: ${DEFAULT-VALUE})")
    int top = 3000;

    @Option(names = "--class-grid", description = "Grid size (default: ${DEFAULT-VALUE}, as in the paper)")
    int classGrid = 8;

    @Option(names = "--class-threshold", description = "Keep cells with more than this many samples (default: ${DEFAULT-VALUE})")
    int classThreshold = 4;

    @Override
    public Integer call() throws Exception {
        SharedOptions.atLeast("--top", top, 0);
        SharedOptions.atLeast("--class-grid", classGrid, 1);
        SharedOptions.atLeast("--class-threshold", classThreshold, 0);
        AtlasRun r = new AtlasRun(options.resolve());
        try (var lock = Main.lockRun(r.dir())) {
            r.classAtlas(cls, top, classGrid, classThreshold, options.force());
        }
        return 0;
    }
}
