package org.atlas4j.cli;

import java.util.List;
import java.util.concurrent.Callable;

import org.atlas4j.run.AtlasRun;
import org.atlas4j.util.UserError;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "compare", mixinStandardHelpOptions = true,
        description = "Two classes side by side: x = attribution difference (B − A, scaled, in [−1,1]), y = 1-D layout; "
                + "atlas and a ranked table of dual-role cells in <run>/compare-<a>-vs-<b>/.")
final class CompareCommand implements Callable<Integer> {
    @Mixin
    RunOptions options = new RunOptions();

    @Option(names = "--classes", required = true, split = ",", description = "Two classes, e.g. Sandal,Sneaker")
    List<String> classes;

    @Option(names = "--per-class", description = "Top samples by attribution kept per class (default: ${DEFAULT-VALUE})")
    int perClass = 2000;

    @Option(names = "--compare-grid", description = "Grid size (default: ${DEFAULT-VALUE})")
    int grid = 10;

    @Option(names = "--compare-threshold", description = "Keep cells with more than this many samples (default: ${DEFAULT-VALUE})")
    int threshold = 4;

    @Override
    public Integer call() throws Exception {
        if (classes.size() != 2) throw new UserError("--classes takes exactly two classes, e.g. --classes Sandal,Sneaker");
        SharedOptions.atLeast("--per-class", perClass, 1);
        SharedOptions.atLeast("--compare-grid", grid, 1);
        SharedOptions.atLeast("--compare-threshold", threshold, 0);
        AtlasRun r = new AtlasRun(options.resolve());
        try (var lock = Main.lockRun(r.dir())) {
            r.compare(classes.get(0), classes.get(1), perClass, grid, threshold, options.force());
        }
        return 0;
    }
}
