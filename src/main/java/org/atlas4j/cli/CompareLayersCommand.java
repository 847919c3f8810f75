package org.atlas4j.cli;

import java.util.List;
import java.util.concurrent.Callable;

import org.atlas4j.run.AtlasRun;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "compare-layers", mixinStandardHelpOptions = true,
        description = "Atlases of several layers from one pass over the data, side by side with each layer's label "
                + "purity → <run>/layers.{png,svg,html,json}.")
final class CompareLayersCommand implements Callable<Integer> {
    @Mixin
    RunOptions options = new RunOptions();

    @Option(names = "--layers", required = true, split = ",", description = "Layers, e.g. relu1,relu2,relu3")
    List<String> layers;

    @Override
    public Integer call() throws Exception {
        AtlasRun r = new AtlasRun(options.resolve());
        try (var lock = Main.lockRun(r.dir())) {
            r.compareLayers(layers, options.force());
        }
        return 0;
    }
}
