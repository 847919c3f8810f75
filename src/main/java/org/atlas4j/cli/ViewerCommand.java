package org.atlas4j.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;

import org.atlas4j.run.AtlasRun;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "viewer", mixinStandardHelpOptions = true,
        description = "Write a run's interactive viewer (<run>/index.html, opens from the file system), rendering any "
                + "extra zoom levels first.")
final class ViewerCommand implements Callable<Integer> {
    @Parameters(index = "0", description = "Run folder, e.g. atlas-output/fashion-mnist")
    Path run;

    @Mixin
    SharedOptions.Levels levels = new SharedOptions.Levels();

    @Mixin
    SharedOptions.Force force = new SharedOptions.Force();

    @Option(names = "--screenshot", description = "Also open the page in headless Chromium, zoom, hover the largest "
            + "visible cell and save a PNG here")
    Path screenshot;

    @Option(names = "--measure", description = "Open the page in headless Chromium and print load time, redraw time and "
            + "lazily loaded tiles per level")
    boolean measure;

    @Option(names = "--zoom", description = "Zoom-in wheel steps before the screenshot (default: ${DEFAULT-VALUE})")
    int zoom = 3;

    @Override
    public Integer call() throws Exception {
        AtlasRun r = AtlasRun.open(run);
        if (levels.sizes != null) r.config().grid.levels = new java.util.ArrayList<>(levels.sizes);
        Path index;
        try (var lock = Main.lockRun(r.dir())) { // the browser below only reads
            r.levels(force.force);
            index = r.viewer(true);
        }
        if (measure) {
            try (var b = org.atlas4j.viewer.HeadlessBrowser.start(1400, 900)) {
                long t0 = System.nanoTime();
                b.open(index);
                b.waitFor("window.atlasViewer && window.atlasViewer.ready", java.time.Duration.ofSeconds(60));
                System.out.printf("page ready in %.0f ms%n", (System.nanoTime() - t0) / 1e6);
                for (var l : b.eval("atlasViewer.data.levels.map(l => l.size)")) {
                    int size = b.eval("atlasViewer.showLevel(" + l.asInt() + ")").asInt();
                    Thread.sleep(1500); // visible tiles load
                    double ms = b.eval("atlasViewer.measureDraw(30)").asDouble();
                    System.out.printf("level %d×%d: %d cells visible, redraw %.1f ms, tiles requested so far %d of %d%n", size, size,
                            b.eval("atlasViewer.visibleCells().length").asInt(), ms, b.eval("atlasViewer.loadedImages()").asInt(),
                            b.eval("atlasViewer.data.levels.reduce((n, l) => n + l.cells.length, 0)").asInt());
                }
            }
        }
        if (screenshot != null) {
            try (var b = org.atlas4j.viewer.HeadlessBrowser.start(1400, 900)) {
                b.open(index);
                b.waitFor("window.atlasViewer && window.atlasViewer.ready", java.time.Duration.ofSeconds(30));
                for (int k = 0; k < zoom; k++) b.wheel(700, 450, -250);
                var pick = b.eval("atlasViewer.largestVisibleCell(900, 650)");
                if (pick != null && !pick.isNull()) {
                    b.mouseMove(pick.get("centre").get("x").asDouble(), pick.get("centre").get("y").asDouble());
                }
                Thread.sleep(1500); // tiles and sprites finish loading
                org.atlas4j.io.AtomicFiles.writeBytes(screenshot, b.screenshot());
                org.atlas4j.util.Progress.info("viewer: screenshot " + screenshot);
            }
        }
        return 0;
    }
}
