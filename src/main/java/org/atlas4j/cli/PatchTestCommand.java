package org.atlas4j.cli;

import java.util.concurrent.Callable;

import org.atlas4j.run.AtlasRun;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "patch-test", mixinStandardHelpOptions = true,
        description = "Paste an icon onto test images of one class and count prediction flips to another, against "
                + "noise and real-image patches → <run>/patch-<from>-to-<to>/patch-test.{json,txt,svg}.")
final class PatchTestCommand implements Callable<Integer> {
    @Mixin
    RunOptions options = new RunOptions();

    @Option(names = "--from", required = true, description = "Class of the images to patch")
    String from;

    @Option(names = "--to", required = true, description = "Class the patch should push towards")
    String to;

    @Option(names = "--icon", required = true, description = "A PNG, or a cell number of the run's render")
    String icon;

    @Option(names = "--test-images", description = "Images of --from to patch (default: ${DEFAULT-VALUE})")
    int images = 500;

    @Option(names = "--sizes", split = ",", description = "Patch sizes as fractions of the width (default: 0.2,0.4,0.7)")
    double[] sizes = {0.2, 0.4, 0.7};

    @Override
    public Integer call() throws Exception {
        SharedOptions.atLeast("--test-images", images, 1);
        for (double s : sizes) {
            if (!(s > 0 && s <= 1)) {
                throw new org.atlas4j.util.UserError("--sizes are fractions of the image width in (0, 1], got " + s);
            }
        }
        AtlasRun r = new AtlasRun(options.resolve());
        try (var lock = Main.lockRun(r.dir())) {
            r.patchTest(from, to, icon, images, sizes);
        }
        return 0;
    }
}
