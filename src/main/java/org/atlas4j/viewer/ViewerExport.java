package org.atlas4j.viewer;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import org.atlas4j.collect.Collector;
import org.atlas4j.data.ImageDataset;
import org.atlas4j.data.PixelScaling;
import org.atlas4j.grid.Gridder;
import org.atlas4j.io.AtomicFiles;
import org.atlas4j.io.Json;
import org.atlas4j.io.Npy;
import org.atlas4j.render.Renderer;
import org.atlas4j.run.AtlasRun;
import org.atlas4j.run.SampleTable;
import org.atlas4j.util.Progress;

/**
 * The interactive viewer of a run: {@code index.html} + {@code viewer/} (script, style, data as a script so the page
 * works from the file system, and per level a sprite of real example patches). Tiles stay where render wrote them and
 * are loaded by the page only when they come into view.
 */
public final class ViewerExport {
    /** Changes whenever the page or its data format does, so old exports are redone. */
    public static final String VERSION = "viewer-2";
    /** Real examples shown per cell. */
    public static final int EXAMPLES = 8;
    static final String[] COLOURS = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
            "#7f7f7f", "#bcbd22", "#17becf"};

    private ViewerExport() {
    }

    /** One cell as the page sees it. */
    public record CellView(int id, int row, int col, int count, double side, int top, List<int[]> topCounts, int[] hist,
            float[] attr, String tile, int examples, int spriteRow) {
    }

    public record LevelView(int size, List<CellView> cells, String sprite, int exampleSide, int examplesPerCell) {
    }

    public record Link(String label, String href) {
    }

    public record LayerLink(String name, String href, boolean current) {
    }

    public record PageData(String title, String layer, List<String> labelNames, List<String> classNames,
            List<LevelView> levels, List<Link> links,
            List<LayerLink> layers, String[] colours, boolean hasAttribution) {
    }

    public static Path write(AtlasRun run) throws Exception {
        long t0 = System.nanoTime();
        Path dir = run.dir();
        Path vdir = dir.resolve("viewer");
        Files.createDirectories(vdir);
        for (String f : List.of("viewer.js", "viewer.css")) AtomicFiles.writeBytes(vdir.resolve(f), resource(f));

        Path collect = run.stageDir("collect");
        SampleTable samples = SampleTable.read(collect.resolve(Collector.SAMPLES));
        Npy.NpyArray acts = Npy.read(collect.resolve(Collector.ACTIVATIONS));
        Path attrFile = collect.resolve(Collector.ATTRIBUTION);
        Npy.NpyArray attr = Files.exists(attrFile) ? Npy.read(attrFile) : null;
        Collector.Result cr = Collector.Result.read(collect);
        ImageDataset data = run.data();
        // labels of the data (by count) and classes of the model (by attribution) differ for a user's own folders
        List<String> labelNames = new ArrayList<>(!data.classNames().isEmpty() ? data.classNames() : run.model().card().classNames());
        for (int c = labelNames.size(); c <= samples.maxLabel(); c++) labelNames.add("label " + c);
        List<String> classNames = new ArrayList<>(run.model().card().classNames());
        int modelClasses = attr != null ? attr.cols() : run.model().graph().logits() != null ? run.model().graph().classCount() : 0;
        for (int c = classNames.size(); c < modelClasses; c++) classNames.add("class " + c);
        PixelScaling scaling = run.model().preprocess(null, null, java.awt.Color.BLACK).scaling();

        List<LevelView> levels = new ArrayList<>();
        long spriteBytes = 0;
        long tileBytes = 0;
        for (int n : run.levelSizes()) {
            AtlasRun lr = run.level(n);
            Path gridDir = lr.stageDir("grid");
            Path renderDir = lr.stageDir("render");
            if (!Files.exists(gridDir.resolve(Gridder.CELLS)) || !Files.exists(renderDir.resolve(Renderer.META))) {
                Progress.info("viewer: level " + n + "×" + n + " is not rendered yet; left out");
                continue;
            }
            Gridder.Grid grid = Gridder.Grid.read(gridDir);
            Renderer.Result rr = Renderer.Result.read(renderDir);
            Npy.NpyArray means = Npy.read(gridDir.resolve(Gridder.CELL_VECTORS));
            int side = exampleSide(data.height(), cr.mapHeight());
            BufferedImage sprite = new BufferedImage(EXAMPLES * side, Math.max(1, grid.cells().size()) * side,
                    BufferedImage.TYPE_INT_RGB);
            double meanCount = grid.cells().stream().mapToInt(Gridder.Cell::count).average().orElse(1);
            List<CellView> cells = new ArrayList<>();
            float[] img = new float[data.imageLength()];
            for (Gridder.Cell c : grid.cells()) {
                int[] chosen = typicalMembers(c, acts, means.row(c.id()), EXAMPLES);
                for (int e = 0; e < chosen.length; e++) {
                    int m = chosen[e];
                    data.copyImage(samples.index()[m], img, 0);
                    paste(sprite, e * side, c.id() * side, img, data.channels(), data.height(), data.width(), scaling,
                            samples.y()[m], samples.x()[m], cr.mapHeight(), cr.mapWidth(), side);
                }
                List<int[]> top = new ArrayList<>();
                int[] hist = c.labelHistogram();
                Integer[] order = new Integer[hist.length];
                for (int k = 0; k < hist.length; k++) order[k] = k;
                java.util.Arrays.sort(order, (a, b) -> Integer.compare(hist[b], hist[a]));
                for (int k = 0; k < Math.min(3, hist.length) && hist[order[k]] > 0; k++) top.add(new int[] {order[k], hist[order[k]]});
                float[] at = null;
                if (attr != null) {
                    at = new float[attr.cols()];
                    for (int m : c.members()) {
                        for (int k = 0; k < at.length; k++) at[k] += attr.data()[m * attr.cols() + k];
                    }
                    for (int k = 0; k < at.length; k++) at[k] /= c.members().length;
                }
                Path tile = renderDir.resolve(rr.results().get(c.id()).tile());
                tileBytes += Files.size(tile);
                cells.add(new CellView(c.id(), c.row(), c.col(), c.count(), Math.min(1.0, Math.sqrt(c.count() / meanCount)),
                        c.topLabel(), top, hist, at, dir.relativize(tile).toString().replace('\\', '/'), chosen.length, c.id()));
            }
            String spriteName = "examples-" + n + ".png";
            AtomicFiles.write(vdir.resolve(spriteName), o -> javax.imageio.ImageIO.write(sprite, "png", o));
            spriteBytes += Files.size(vdir.resolve(spriteName));
            levels.add(new LevelView(grid.size(), cells, "viewer/" + spriteName, side, EXAMPLES));
        }
        if (levels.isEmpty()) throw new org.atlas4j.util.UserError("nothing rendered in " + dir + " yet: run the render stage first");

        PageData page = new PageData(run.config().name + " — layer " + run.layer(), run.layer(), labelNames, classNames, levels,
                links(dir), layers(dir, run.layer()), COLOURS, attr != null);
        String js = "window.ATLAS_DATA = " + Json.MAPPER.writeValueAsString(page) + ";\n";
        AtomicFiles.writeString(vdir.resolve("data.js"), js);
        String html = new String(resource("index.html"), StandardCharsets.UTF_8).replace("__TITLE__", escape(page.title()));
        AtomicFiles.writeString(dir.resolve("index.html"), html);
        long pageBytes = html.length() + js.length() + resource("viewer.js").length + resource("viewer.css").length;
        Progress.info(String.format(Locale.ROOT, "viewer: %s — %d level%s (%s); page %,d KB + example sprites %,d KB, tiles %,d KB "
                + "loaded only when visible; %s", dir.resolve("index.html"), levels.size(), levels.size() == 1 ? "" : "s",
                levels.stream().map(l -> l.size() + "×" + l.size()).reduce((a, b) -> a + ", " + b).orElse(""),
                pageBytes / 1024, spriteBytes / 1024, tileBytes / 1024, Progress.format((System.nanoTime() - t0) / 1e9)));
        return dir.resolve("index.html");
    }

    /** The example patch side this run's viewer uses. */
    public static int exampleSideFor(AtlasRun run) throws Exception {
        return exampleSide(run.data().height(), Collector.Result.read(run.stageDir("collect")).mapHeight());
    }

    /** Patch side in input pixels: four strides of the layer (its centre cell and the neighbours that feed it). */
    static int exampleSide(int inputHeight, int mapHeight) {
        double stride = inputHeight / (double) mapHeight;
        return Math.max(8, Math.min(inputHeight, (int) Math.round(4 * stride)));
    }

    /** Up to k members closest in direction to the cell's mean vector: the cell's most typical samples. */
    static int[] typicalMembers(Gridder.Cell c, Npy.NpyArray acts, float[] mean, int k) {
        int d = acts.cols();
        double mn = 0;
        for (float v : mean) mn += v * v;
        mn = Math.sqrt(mn) + 1e-12;
        int[] members = c.members();
        double[] score = new double[members.length];
        for (int i = 0; i < members.length; i++) {
            double dot = 0;
            double nn = 0;
            int off = members[i] * d;
            for (int j = 0; j < d; j++) {
                float a = acts.data()[off + j];
                dot += a * mean[j];
                nn += a * a;
            }
            score[i] = dot / (Math.sqrt(nn) + 1e-12) / mn;
        }
        Integer[] order = new Integer[members.length];
        for (int i = 0; i < order.length; i++) order[i] = i;
        java.util.Arrays.sort(order, (a, b) -> Double.compare(score[b], score[a]));
        int[] out = new int[Math.min(k, members.length)];
        for (int i = 0; i < out.length; i++) out[i] = members[order[i]];
        return out;
    }

    /** Copies the input patch around the sampled layer position (y, x) into the sprite; outside the image is black. */
    static void paste(BufferedImage sprite, int sx, int sy, float[] img, int channels, int h, int w, PixelScaling scaling,
            int y, int x, int mapH, int mapW, int side) {
        BufferedImage shown = org.atlas4j.attribution.Overlays.display(img, 0, channels, h, w, scaling);
        int top = (int) Math.round((y + 0.5) * h / mapH - side / 2.0);
        int left = (int) Math.round((x + 0.5) * w / mapW - side / 2.0);
        for (int dy = 0; dy < side; dy++) {
            for (int dx = 0; dx < side; dx++) {
                int iy = top + dy;
                int ix = left + dx;
                sprite.setRGB(sx + dx, sy + dy, iy >= 0 && ix >= 0 && iy < h && ix < w ? shown.getRGB(ix, iy) & 0xffffff : 0);
            }
        }
    }

    /** The run's class atlases, comparisons and layer pages, with the static atlas picture. */
    static List<Link> links(Path dir) throws IOException {
        List<Link> out = new ArrayList<>();
        out.add(new Link("atlas.png", "atlas.png"));
        try (var s = Files.list(dir)) {
            for (Path p : s.sorted().toList()) {
                String name = p.getFileName().toString();
                if (!Files.isDirectory(p)) continue;
                if ((name.startsWith("class-") || name.startsWith("compare-")) && Files.exists(p.resolve("atlas.png"))) {
                    out.add(new Link(name.replaceFirst("-", " "), name + "/" + (Files.exists(p.resolve("index.html")) ? "index.html" : "atlas.png")));
                }
            }
        }
        if (Files.exists(dir.resolve("layers.html"))) out.add(new Link("layers", "layers.html"));
        return out;
    }

    /** Other layers of a layer comparison: this run's {@code layers/<l>/} pages, or the siblings of a layer sub-run. */
    static List<LayerLink> layers(Path dir, String current) throws IOException {
        List<LayerLink> out = new ArrayList<>();
        Path layersDir = dir.resolve("layers");
        if (Files.isDirectory(layersDir)) {
            out.add(new LayerLink(current, "index.html", true));
            try (var s = Files.list(layersDir)) {
                for (Path p : s.sorted().toList()) {
                    if (Files.exists(p.resolve("index.html"))) {
                        out.add(new LayerLink(p.getFileName().toString(), "layers/" + p.getFileName() + "/index.html", false));
                    }
                }
            }
        } else if (dir.getParent() != null && dir.getParent().getFileName() != null
                && "layers".equals(dir.getParent().getFileName().toString())) {
            try (var s = Files.list(dir.getParent())) {
                for (Path p : s.sorted().toList()) {
                    String n = p.getFileName().toString();
                    if (Files.isDirectory(p)) out.add(new LayerLink(n, "../" + n + "/index.html", n.equals(dir.getFileName().toString())));
                }
            }
        }
        return out;
    }

    static byte[] resource(String name) throws IOException {
        try (InputStream in = ViewerExport.class.getResourceAsStream("/org/atlas4j/viewer/" + name)) {
            if (in == null) throw new IOException("viewer resource missing from the jar: " + name);
            return in.readAllBytes();
        }
    }

    private static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }
}
