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
import org.atlas4j.collect.SampleTable;
import org.atlas4j.data.ImageDataset;
import org.atlas4j.data.PixelScaling;
import org.atlas4j.grid.Gridder;
import org.atlas4j.io.AtomicFiles;
import org.atlas4j.io.Json;
import org.atlas4j.io.Npy;
import org.atlas4j.render.Renderer;
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

    /**
     * What the viewer shows of a run, as the run describes it.
     *
     * @param dir the run folder (index.html and viewer/ are written there)
     * @param collectDir the collect stage's folder (samples, activations, attributions)
     * @param data the images the samples came from (the examples are cut from them)
     * @param modelClasses the model card's class names
     * @param modelClassCount the model's class count (0 without logits)
     * @param scaling how the model's input values map to displayed pixels
     * @param levels every zoom level's grid and render folders, ascending by size
     */
    public record Input(Path dir, Path collectDir, ImageDataset data, List<String> modelClasses, int modelClassCount,
            PixelScaling scaling, String runName, String layer, List<LevelFolders> levels) {
    }

    /** Where one zoom level's grid and render are. */
    public record LevelFolders(int size, Path gridDir, Path renderDir) {
    }

    /** The collect stage's outputs the viewer reads, once for all levels. */
    private record Collected(SampleTable samples, Npy.NpyArray acts, Npy.NpyArray attr, Collector.Result result) {
        static Collected read(Path collect) {
            Path attrFile = collect.resolve(Collector.ATTRIBUTION);
            return new Collected(SampleTable.read(collect.resolve(Collector.SAMPLES)), Npy.read(collect.resolve(Collector.ACTIVATIONS)),
                    Files.exists(attrFile) ? Npy.read(attrFile) : null, Collector.Result.read(collect));
        }
    }

    /** Byte counts for the summary line. */
    private static final class Sizes {
        long sprites;
        long tiles;
    }

    public static Path write(Input in) throws Exception {
        long t0 = System.nanoTime();
        Path dir = in.dir();
        Path vdir = dir.resolve("viewer");
        Files.createDirectories(vdir);
        for (String f : List.of("viewer.js", "viewer.css")) AtomicFiles.writeBytes(vdir.resolve(f), resource(f));
        Collected col = Collected.read(in.collectDir());
        List<LevelView> levels = new ArrayList<>();
        Sizes sizes = new Sizes();
        for (LevelFolders lf : in.levels()) {
            if (!Files.exists(lf.gridDir().resolve(Gridder.CELLS)) || !Files.exists(lf.renderDir().resolve(Renderer.META))) {
                Progress.info("viewer: level " + lf.size() + "×" + lf.size() + " is not rendered yet; left out");
                continue;
            }
            levels.add(level(in, lf, col, vdir, sizes));
        }
        if (levels.isEmpty()) throw new org.atlas4j.util.UserError("nothing rendered in " + dir + " yet: run the render stage first");

        PageData page = new PageData(in.runName() + " — layer " + in.layer(), in.layer(), labelNames(in, col.samples()),
                classNames(in, col.attr()), levels, links(dir), layers(dir, in.layer()), COLOURS, col.attr() != null);
        String js = "window.ATLAS_DATA = " + Json.MAPPER.writeValueAsString(page) + ";\n";
        AtomicFiles.writeString(vdir.resolve("data.js"), js);
        String html = new String(resource("index.html"), StandardCharsets.UTF_8).replace("__TITLE__", escape(page.title()));
        AtomicFiles.writeString(dir.resolve("index.html"), html);
        long pageBytes = html.length() + js.length() + resource("viewer.js").length + resource("viewer.css").length;
        Progress.info(String.format(Locale.ROOT, "viewer: %s — %d level%s (%s); page %,d KB + example sprites %,d KB, tiles %,d KB "
                + "loaded only when visible; %s", dir.resolve("index.html"), levels.size(), levels.size() == 1 ? "" : "s",
                levels.stream().map(l -> l.size() + "×" + l.size()).reduce((a, b) -> a + ", " + b).orElse(""),
                pageBytes / 1024, sizes.sprites / 1024, sizes.tiles / 1024, Progress.format((System.nanoTime() - t0) / 1e9)));
        return dir.resolve("index.html");
    }

    /** Labels of the data (by count); they differ from the model's classes for a user's own folders. */
    private static List<String> labelNames(Input in, SampleTable samples) {
        List<String> names = new ArrayList<>(!in.data().classNames().isEmpty() ? in.data().classNames() : in.modelClasses());
        for (int c = names.size(); c <= samples.maxLabel(); c++) names.add("label " + c);
        return names;
    }

    /** Classes of the model (by attribution), named "class k" where the card has no name. */
    private static List<String> classNames(Input in, Npy.NpyArray attr) {
        List<String> names = new ArrayList<>(in.modelClasses());
        int modelClasses = attr != null ? attr.cols() : in.modelClassCount();
        for (int c = names.size(); c < modelClasses; c++) names.add("class " + c);
        return names;
    }

    /** One zoom level: its cells as the page sees them, and its sprite of each cell's typical real examples. */
    private static LevelView level(Input in, LevelFolders lf, Collected col, Path vdir, Sizes sizes) throws Exception {
        Gridder.Grid grid = Gridder.Grid.read(lf.gridDir());
        Renderer.Result rr = Renderer.Result.read(lf.renderDir());
        Npy.NpyArray means = Npy.read(lf.gridDir().resolve(Gridder.CELL_VECTORS));
        ImageDataset data = in.data();
        int mapH = col.result().mapHeight();
        int side = exampleSide(data.height(), mapH);
        BufferedImage sprite = new BufferedImage(EXAMPLES * side, Math.max(1, grid.cells().size()) * side,
                BufferedImage.TYPE_INT_RGB);
        double meanCount = grid.cells().stream().mapToInt(Gridder.Cell::count).average().orElse(1);
        List<CellView> cells = new ArrayList<>();
        float[] img = new float[data.imageLength()];
        SampleTable samples = col.samples();
        for (Gridder.Cell c : grid.cells()) {
            int[] chosen = typicalMembers(c, col.acts(), means.row(c.id()), EXAMPLES);
            for (int e = 0; e < chosen.length; e++) {
                int m = chosen[e];
                data.copyImage(samples.index()[m], img, 0);
                paste(sprite, e * side, c.id() * side, img, data.channels(), data.height(), data.width(), in.scaling(),
                        samples.y()[m], samples.x()[m], mapH, col.result().mapWidth(), side);
            }
            Path tile = lf.renderDir().resolve(rr.results().get(c.id()).tile());
            sizes.tiles += Files.size(tile);
            cells.add(new CellView(c.id(), c.row(), c.col(), c.count(), Math.min(1.0, Math.sqrt(c.count() / meanCount)),
                    c.topLabel(), topLabels(c.labelHistogram()), c.labelHistogram(), meanAttribution(c, col.attr()),
                    in.dir().relativize(tile).toString().replace('\\', '/'), chosen.length, c.id()));
        }
        String spriteName = "examples-" + lf.size() + ".png";
        AtomicFiles.write(vdir.resolve(spriteName), o -> javax.imageio.ImageIO.write(sprite, "png", o));
        sizes.sprites += Files.size(vdir.resolve(spriteName));
        return new LevelView(grid.size(), cells, "viewer/" + spriteName, side, EXAMPLES);
    }

    /** Up to three most common labels of a cell, as [label, count], most common first. */
    private static List<int[]> topLabels(int[] hist) {
        List<int[]> top = new ArrayList<>();
        Integer[] order = new Integer[hist.length];
        for (int k = 0; k < hist.length; k++) order[k] = k;
        java.util.Arrays.sort(order, (a, b) -> Integer.compare(hist[b], hist[a]));
        for (int k = 0; k < Math.min(3, hist.length) && hist[order[k]] > 0; k++) top.add(new int[] {order[k], hist[order[k]]});
        return top;
    }

    /** The cell members' mean attribution to every class, or null without attributions. */
    private static float[] meanAttribution(Gridder.Cell c, Npy.NpyArray attr) {
        if (attr == null) return null;
        float[] at = new float[attr.cols()];
        for (int m : c.members()) {
            for (int k = 0; k < at.length; k++) at[k] += attr.data()[m * attr.cols() + k];
        }
        for (int k = 0; k < at.length; k++) at[k] /= c.members().length;
        return at;
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
