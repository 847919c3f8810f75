package org.atlas4j.cli;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

import org.atlas4j.run.AtlasRun;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "viewer", mixinStandardHelpOptions = true,
        description = "Write a run's interactive viewer (<run>/index.html, opens from the file system), rendering any "
                + "extra zoom levels first.")
final class ViewerCommand implements Callable<Integer> {
    @Parameters(index = "0", description = "Run folder, e.g. atlas-output/fashion-mnist")
    Path run;

    @Option(names = "--levels", split = ",", description = "Extra grid sizes to render as zoom levels, e.g. 10,40")
    List<Integer> levels;

    @Option(names = "--force", description = "Redo the levels' grid and render stages")
    boolean force;

    @Override
    public Integer call() throws Exception {
        AtlasRun r = AtlasRun.open(run);
        if (levels != null) r.config().grid.levels = new java.util.ArrayList<>(levels);
        r.levels(force);
        r.viewer(true);
        return 0;
    }
}
