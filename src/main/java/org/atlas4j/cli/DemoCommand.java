package org.atlas4j.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

import org.atlas4j.run.AtlasRun;
import org.atlas4j.run.RunConfig;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "The embedded default: a whole-layer atlas of the demo CNN on all 70,000 Fashion-MNIST images "
                + "(config/fashion-mnist.yaml). Installs the dataset's Debian package when missing and allowed.")
final class DemoCommand implements Callable<Integer> {
    @Mixin
    RunOptions options = new RunOptions();

    @Override
    public Integer call() throws Exception {
        if (options.config == null && Files.exists(Path.of("config/fashion-mnist.yaml"))) {
            options.config = Path.of("config/fashion-mnist.yaml");
        }
        RunConfig c = options.resolve();
        AtlasRun r = new AtlasRun(c);
        try (var lock = Main.lockRun(r.dir())) {
            r.all(options.force());
        }
        return 0;
    }
}
