package org.atlas4j.run;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import javax.imageio.ImageIO;

import org.atlas4j.classatlas.ClassAtlasJob;
import org.atlas4j.classatlas.ComparisonJob;
import org.atlas4j.collect.Collector;
import org.atlas4j.collect.SampleTable;
import org.atlas4j.data.FashionMnist;
import org.atlas4j.grid.Gridder;
import org.atlas4j.io.Json;
import org.atlas4j.io.Npy;
import org.atlas4j.layers.LayerComparisonJob;
import org.atlas4j.provenance.Provenance;
import org.atlas4j.reduce.Reducer;
import org.atlas4j.render.Renderer;
import org.atlas4j.stitch.Stitcher;
import org.atlas4j.util.Progress;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole pipeline on a 2,000-image slice of Fashion-MNIST with the demo model, run once for the class:
 * every stage's outputs, resuming (a second run skips every stamped stage), and same-seed determinism. The steps run
 * in random order (JUnit logs the seed; rerun one with -Djunit.jupiter.execution.order.random.seed=N): none depends on
 * another; the class atlas and the comparison share a run folder with attributions, whose stamps make the second cheap.
 */
@TestMethodOrder(MethodOrderer.Random.class)
@org.atlas4j.IntegrationTest
class PipelineIntegrationTest {
    static final Path DEMO_MODEL = Path.of("models/fashion-mnist-cnn.zip");
    static final List<String> STAGES = List.of("collect", "reduce", "grid", "render");

    @TempDir
    static Path out;
    static RunConfig cfg;
    static AtlasRun run;

    @BeforeAll
    static void runThePipelineOnce() throws Exception {
        Progress.setQuiet(true);
        Assumptions.assumeTrue(Files.exists(DEMO_MODEL), "demo model " + DEMO_MODEL + " is absent");
        Assumptions.assumeTrue(FashionMnist.isPresent(FashionMnist.DEFAULT_DIR),
                "Fashion-MNIST is not installed in " + FashionMnist.DEFAULT_DIR + " (apt-get install dataset-fashion-mnist)");
        cfg = config("it", out);
        cfg.grid.levels = new java.util.ArrayList<>(List.of(3, 12)); // zoom levels for the viewer
        run = new AtlasRun(cfg);
        run.all(false);
    }

    static RunConfig config(String name, Path output) {
        RunConfig c = new RunConfig();
        c.name = name;
        c.output = output.toString();
        c.model = DEMO_MODEL.toString();
        c.data.limit = 2000;
        c.grid.size = 6;
        c.grid.threshold = 3;
        c.render.steps = 24;
        c.render.batchSize = 64;
        return c;
    }

    /**
     * The viewer in headless Chromium (Debian's chromium; .ci/run installs it): loads the run's index.html from the
     * file system, zooms to the next level with the mouse wheel, hovers the largest visible cell and checks the tooltip
     * against cells.json (count) and the example sprite (real patches), then saves a screenshot.
     */
    @org.atlas4j.BrowserTest
    @Test
    void viewerZoomsAndHoversInHeadlessChromium() throws Exception {
        if (org.atlas4j.viewer.HeadlessBrowser.find() == null) {
            org.junit.jupiter.api.Assertions.assertNotEquals("true", System.getenv("CI"),
                    "CI must have Chromium: .ci/run installs Debian's chromium package");
            Assumptions.abort("Chromium is not installed (apt-get install chromium)");
        }
        Path index = run.dir().resolve("index.html");
        assertTrue(Files.exists(index), "the run wrote no viewer");
        assertEquals(List.of(3, 6, 12), run.config().levelSizes());
        try (var b = org.atlas4j.viewer.HeadlessBrowser.start(1200, 900)) {
            b.open(index);
            b.waitFor("window.atlasViewer && window.atlasViewer.ready", java.time.Duration.ofSeconds(20));
            int first = b.eval("atlasViewer.levelSize()").asInt();
            java.util.List<Integer> sizes = run.config().levelSizes();
            assertTrue(sizes.indexOf(first) < sizes.size() - 1, "starts at the finest level already: " + first);
            int next = sizes.get(sizes.indexOf(first) + 1);
            for (int k = 0; k < 20 && b.eval("atlasViewer.levelSize()").asInt() == first; k++) b.wheel(600, 450, -200);
            assertEquals(next, b.eval("atlasViewer.levelSize()").asInt(), "zooming in shows the next level");

            var pick = b.eval("atlasViewer.largestVisibleCell()");
            assertTrue(pick != null && !pick.isNull(), "no cell visible after zooming");
            int id = pick.get("id").asInt();
            Gridder.Grid levelGrid = Gridder.Grid.read(run.level(next).stageDir("grid"));
            Gridder.Cell cell = levelGrid.cells().get(id);
            b.mouseMove(pick.get("centre").get("x").asDouble(), pick.get("centre").get("y").asDouble());
            b.waitFor("!document.getElementById('tooltip').hidden", java.time.Duration.ofSeconds(5));
            String text = b.eval("document.getElementById('tooltip').innerText").asText();
            assertTrue(text.contains("samples: " + cell.count()), "tooltip should show " + cell.count() + " samples:\n" + text);
            assertTrue(text.contains("cell " + id), text);
            assertEquals(Math.min(8, cell.count()), b.eval("document.querySelectorAll('#tooltip .example').length").asInt(),
                    "one real example per typical member, up to 8");
            // the examples come from a sprite that holds one row of patches per cell; the icon is the rendered tile
            b.waitFor("document.querySelector('#tooltip img.icon').complete", java.time.Duration.ofSeconds(5));
            assertTrue(b.eval("document.querySelector('#tooltip img.icon').naturalWidth").asInt() > 0, "icon did not load");
            int spriteHeight = b.eval("new Promise(r => { const i = new Image(); i.onload = () => r(i.naturalHeight);"
                    + " i.onerror = () => r(-1); i.src = atlasViewer.data.levels.find(l => l.size === " + next + ").sprite; })").asInt();
            // four strides of the layer around the sampled position, at least 8 px, at most the image
            int mapHeight = Collector.Result.read(run.stageDir("collect")).mapHeight();
            int side = Math.max(8, Math.min(28, (int) Math.round(4 * 28.0 / mapHeight)));
            assertEquals(levelGrid.cells().size() * side, spriteHeight);
            int loaded = b.eval("atlasViewer.loadedImages()").asInt();
            int total = b.eval("atlasViewer.data.levels.reduce((n, l) => n + l.cells.length, 0)").asInt();
            assertTrue(loaded < total, "tiles must load lazily: " + loaded + " of " + total + " requested");
            byte[] png = b.screenshot();
            assertTrue(png.length > 10_000, "screenshot is empty");
            Files.write(run.dir().resolve("viewer-test.png"), png);
        }
    }

    @Test
    void serveGivesThePageAndItsFilesOnLocalhostOnly() throws Exception {
        try (var server = new org.atlas4j.viewer.RunServer(run.dir(), 0)) {
            var http = java.net.http.HttpClient.newHttpClient();
            java.util.function.Function<String, java.net.http.HttpResponse<byte[]>> get = path -> {
                try {
                    return http.send(java.net.http.HttpRequest.newBuilder(
                            java.net.URI.create("http://127.0.0.1:" + server.port() + path)).build(),
                            java.net.http.HttpResponse.BodyHandlers.ofByteArray());
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            };
            var index = get.apply("/");
            assertEquals(200, index.statusCode());
            assertTrue(new String(index.body()).contains("viewer/viewer.js"));
            assertEquals("text/javascript; charset=utf-8", get.apply("/viewer/data.js").headers().firstValue("Content-Type").orElse(""));
            assertArrayEquals(Files.readAllBytes(run.dir().resolve(Stitcher.PNG)), get.apply("/" + Stitcher.PNG).body());
            assertEquals(404, get.apply("/../../etc/passwd").statusCode());
            assertEquals(404, get.apply("/viewer/").statusCode(), "no directory listings");
        }
    }

    @Test
    void everyStageWritesItsOutputs() throws Exception {
        Path dir = run.dir();
        for (String f : List.of(Stitcher.PNG, Stitcher.SVG, Stitcher.JSON, AtlasRun.PROVENANCE)) {
            assertTrue(Files.exists(dir.resolve(f)) && Files.size(dir.resolve(f)) > 0, f + " missing or empty");
        }
        for (String s : STAGES) assertTrue(Files.exists(run.stageDir(s).resolve("stamp.json")), s + " has no stamp");

        // collect and reduce: one row per image
        Npy.NpyArray acts = Npy.read(run.stageDir("collect").resolve(Collector.ACTIVATIONS));
        assertEquals(2000, acts.rows());
        assertEquals(run.model().graph().shape(run.layer()).shape()[0], acts.cols(), "one column per channel of the layer");
        assertEquals(2000, SampleTable.read(run.stageDir("collect").resolve(Collector.SAMPLES)).size());
        Npy.NpyArray layout = Npy.read(run.stageDir("reduce").resolve(Reducer.LAYOUT));
        assertArrayEquals(new int[] {2000, 2}, layout.shape());
        for (float v : layout.data()) assertTrue(v >= 0 && v <= 1, "layout outside [0,1]: " + v);

        // grid: kept cells hold more than the threshold; counts add up
        Gridder.Grid grid = Gridder.Grid.read(run.stageDir("grid"));
        assertEquals(6, grid.size());
        assertEquals(2000, grid.samples());
        assertTrue(grid.cells().size() >= 2, "only " + grid.cells().size() + " cells kept");
        int kept = 0;
        for (Gridder.Cell c : grid.cells()) {
            assertTrue(c.count() > 3, "cell " + c.id() + " has " + c.count() + " <= threshold samples");
            kept += c.count();
        }
        assertEquals(grid.keptSamples(), kept);
        assertEquals(grid.cells().size(), Npy.read(run.stageDir("grid").resolve(Gridder.CELL_VECTORS)).rows());

        // render: one tile per kept cell
        Renderer.Result render = Renderer.Result.read(run.stageDir("render"));
        assertEquals(grid.cells().size(), render.cells());
        assertEquals(grid.cells().size(), render.results().size());
        Set<Integer> rendered = new HashSet<>();
        for (Renderer.CellResult r : render.results()) {
            Path tile = run.stageDir("render").resolve(r.tile());
            BufferedImage img = ImageIO.read(tile.toFile());
            assertNotNull(img, "missing or unreadable tile " + tile);
            assertEquals(28, img.getWidth());
            rendered.add(r.cell());
        }
        for (Gridder.Cell c : grid.cells()) assertTrue(rendered.contains(c.id()), "cell " + c.id() + " has no tile");

        // stitch: atlas.json describes exactly the cells of cells.json; the PNG has the grid's size
        Stitcher.Atlas atlas = Json.read(dir.resolve(Stitcher.JSON), Stitcher.Atlas.class);
        assertEquals(grid.cells().size(), atlas.placements().size());
        assertEquals(grid.cells().size(), atlas.cells());
        for (int i = 0; i < grid.cells().size(); i++) {
            assertEquals(grid.cells().get(i).row(), atlas.placements().get(i).row());
            assertEquals(grid.cells().get(i).col(), atlas.placements().get(i).col());
            assertEquals(grid.cells().get(i).count(), atlas.placements().get(i).count());
            assertTrue(Files.exists(dir.resolve(atlas.placements().get(i).tile())), "atlas.json tile path does not resolve");
        }
        BufferedImage png = ImageIO.read(dir.resolve(Stitcher.PNG).toFile());
        assertEquals(6 * cfg.stitch.tilePixels, png.getWidth());
        assertEquals(6 * cfg.stitch.tilePixels, png.getHeight());

        // provenance: the model's hash (computed here independently), every stage, and the build's version
        Provenance prov = Provenance.read(dir);
        String sha = java.util.HexFormat.of().formatHex(
                java.security.MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(DEMO_MODEL)));
        assertEquals(sha, prov.model().sha256());
        assertEquals(cfg.seed, prov.seed());
        for (String s : List.of("collect", "reduce", "grid", "render", "stitch")) assertTrue(prov.stages().containsKey(s), s);
        assertEquals(2000, prov.stages().get("collect").fact("images").asInt());
        assertTrue(prov.versions().get("atlas4j").matches("\\d+\\.\\d+\\.\\d+.*"), prov.versions().toString());
    }

    record Snapshot(byte[] bytes, FileTime modified) {
    }

    static Map<String, Snapshot> snapshot(Path dir, Set<String> skip) throws Exception {
        Map<String, Snapshot> m = new LinkedHashMap<>();
        try (var walk = Files.walk(dir)) {
            for (Path p : walk.filter(Files::isRegularFile).sorted().toList()) {
                String rel = dir.relativize(p).toString();
                if (skip.contains(rel) || skip.contains(p.getFileName().toString())) continue; // also in levels/<n>/
                m.put(rel, new Snapshot(Files.readAllBytes(p), Files.getLastModifiedTime(p)));
            }
        }
        return m;
    }

    @Test
    void aSecondRunSkipsEveryStageAndChangesNothing() throws Exception {
        Path dir = run.dir();
        var stages = Provenance.read(dir).stages();
        Set<String> volatileFiles = Set.of(AtlasRun.PROVENANCE, Stitcher.SVG);
        Map<String, Snapshot> before = snapshot(dir, volatileFiles);
        new AtlasRun(cfg).all(false);
        Map<String, Snapshot> after = snapshot(dir, volatileFiles);
        assertEquals(before.keySet(), after.keySet(), "the second run added or removed files");
        for (String f : before.keySet()) {
            assertArrayEquals(before.get(f).bytes(), after.get(f).bytes(), f + " changed on a resumed run");
            if (!Path.of(f).getFileName().toString().startsWith("atlas.")) { // stitch (also of levels) always redraws, identically
                assertEquals(before.get(f).modified(), after.get(f).modified(), f + " was rewritten: its stage did not skip");
            }
        }
        var stagesAfter = Provenance.read(dir).stages();
        for (String s : STAGES) {
            assertEquals(stages.get(s).finished(), stagesAfter.get(s).finished(), s + " ran again although it was up to date");
        }
    }

    @Test
    void sameSeedInAFreshFolderGivesTheSameSamplesAndActivations() throws Exception {
        AtlasRun fresh = new AtlasRun(config("it-again", out));
        fresh.collect(false);
        assertArrayEquals(Files.readAllBytes(run.stageDir("collect").resolve(Collector.SAMPLES)),
                Files.readAllBytes(fresh.stageDir("collect").resolve(Collector.SAMPLES)), "samples.csv differs");
        assertArrayEquals(Files.readAllBytes(run.stageDir("collect").resolve(Collector.ACTIVATIONS)),
                Files.readAllBytes(fresh.stageDir("collect").resolve(Collector.ACTIVATIONS)), "activations.npy differs");
        // layout determinism, in one JVM and across processes, is ReducerTest's job
    }

    @Test
    void fidelityReopensTheRunFromItsProvenance() throws Exception {
        Path folder = out.resolve("it");
        var f = AtlasRun.open(folder).fidelity();
        var grid = org.atlas4j.grid.Gridder.Grid.read(folder.resolve("grid"));
        assertEquals(grid.cells().size(), f.icons());
        assertTrue(f.top1() >= 0 && f.top1() <= f.top5() && f.top5() <= 1, f.summary());
        assertTrue(Files.exists(folder.resolve("render").resolve(org.atlas4j.render.Fidelity.FILE)));
        var e = org.junit.jupiter.api.Assertions.assertThrows(org.atlas4j.util.UserError.class,
                () -> AtlasRun.open(out.resolve("not-a-run")));
        assertTrue(e.getMessage().contains("not an atlas run folder"), e.getMessage());
    }

    /** The run class atlases and comparisons start from: its own folder, so they never change the shared run's collect. */
    static AtlasRun attributed() {
        return new AtlasRun(config("it-attr", out));
    }

    @Test
    void classAtlasKeepsExactlyTheFilteredSamples() throws Exception {
        var atlas = new ClassAtlasJob(attributed()).run("Trouser", 150, 4, 2, false);
        Path folder = out.resolve("it-attr").resolve("class-trouser");
        float[] attr = org.atlas4j.io.Npy.read(out.resolve("it-attr").resolve("collect").resolve(Collector.ATTRIBUTION)).data();
        int[] expected = org.atlas4j.classatlas.ClassFilter.select(attr, 10, 1, 150);
        var sel = org.atlas4j.io.Json.read(folder.resolve("collect").resolve("selection.json"), ClassAtlasJob.ClassSelection.class);
        assertEquals(expected.length, sel.samples());
        assertEquals(2000, sel.ofSamples());
        assertEquals(expected.length, org.atlas4j.io.Npy.read(folder.resolve("reduce").resolve(Reducer.LAYOUT)).rows());
        assertTrue(Files.exists(folder.resolve("atlas.png")));
        for (var p : atlas.placements()) assertTrue(p.topLabel().matches("-?\\d+\\.\\d\\d"), "caption " + p.topLabel());
    }

    @Test
    void comparisonLaysOutTheAttributionDifferenceInMinusOneToOne() throws Exception {
        var duals = new ComparisonJob(attributed()).run("Sandal", "Sneaker", 100, 5, 2, false);
        Path folder = out.resolve("it-attr").resolve("compare-sandal-vs-sneaker");
        var raw = org.atlas4j.io.Npy.read(folder.resolve("reduce").resolve(Reducer.RAW_LAYOUT));
        float min = Float.MAX_VALUE;
        float max = -Float.MAX_VALUE;
        for (int i = 0; i < raw.rows(); i++) {
            min = Math.min(min, raw.data()[2 * i]);
            max = Math.max(max, raw.data()[2 * i]);
        }
        assertTrue(min >= -1 && max <= 1 && min < 0 && max > 0, "x range [" + min + ", " + max + "]");
        assertTrue(Files.exists(folder.resolve("atlas.png")) && Files.exists(folder.resolve("dual-role.json"))
                && Files.exists(folder.resolve("dual-role.txt")));
        for (int k = 1; k < duals.size(); k++) assertTrue(duals.get(k - 1).strength() >= duals.get(k).strength());
    }

    @Test
    void compareLayersCollectsAllLayersInOnePassAndWritesOnePage() throws Exception {
        var summaries = new LayerComparisonJob(run).run(List.of("relu2", "relu3"), false);
        assertEquals(2, summaries.size());
        Path folder = out.resolve("it");
        for (String f : List.of("layers.png", "layers.svg", "layers.json", "layers.html")) {
            assertTrue(Files.exists(folder.resolve(f)), f);
        }
        var relu2 = org.atlas4j.io.Npy.read(folder.resolve("layers").resolve("relu2").resolve("collect").resolve(Collector.ACTIVATIONS));
        assertEquals(2000, relu2.rows());
        assertEquals(48, relu2.cols());
        // same images, same seed: relu3 collected in the multi-layer pass equals the single-layer run's
        assertArrayEquals(Files.readAllBytes(folder.resolve("collect").resolve(Collector.ACTIVATIONS)),
                Files.readAllBytes(folder.resolve("layers").resolve("relu3").resolve("collect").resolve(Collector.ACTIVATIONS)));
        for (var s : summaries) assertTrue(s.meanPurity() > 0 && s.meanPurity() <= 1, s.toString());
    }
}
