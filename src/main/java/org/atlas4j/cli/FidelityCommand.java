package org.atlas4j.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;

import org.atlas4j.run.AtlasRun;

import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

@Command(name = "fidelity", mixinStandardHelpOptions = true,
        description = "Feed a run's rendered icons back through the model: top-1/top-5 direction match and the "
                + "icon-to-best-real-sample objective ratio → render/fidelity.json.")
final class FidelityCommand implements Callable<Integer> {
    @Parameters(index = "0", description = "Run folder, e.g. atlas-output/fashion-mnist")
    Path run;

    @Override
    public Integer call() throws Exception {
        AtlasRun r = AtlasRun.open(run);
        try (var lock = Main.lockRun(r.dir())) { // writes render/fidelity.json and the provenance
            r.fidelity();
        }
        return 0;
    }
}
