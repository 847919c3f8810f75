package org.atlas4j.stitch;

import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import javax.imageio.ImageIO;

import org.atlas4j.grid.Gridder;
import org.atlas4j.io.AtomicFiles;
import org.atlas4j.io.Json;
import org.jfree.svg.SVGGraphics2D;

/**
 * Stage 5: lays the rendered tiles out on the grid as {@code atlas.png} and {@code atlas.svg} (tiles embedded),
 * and describes every cell in {@code atlas.json}. A tile's side shrinks with its cell's sample count
 * (min(1, sqrt(n / mean n)), as in the paper's viewer) so sparse cells read as less certain.
 */
public final class Stitcher {
    public static final String PNG = "atlas.png";
    public static final String SVG = "atlas.svg";
    public static final String JSON = "atlas.json";

    public record Options(int tilePixels, boolean scaleBySamples, boolean captions) {
        public Options {
            if (tilePixels < 4) throw new org.atlas4j.util.UserError("tile size must be at least 4 px, got " + tilePixels);
        }
    }

    /** A placed tile in atlas pixel coordinates. */
    public record Placement(int cell, int row, int col, int count, int x, int y, int side, String tile, String topLabel,
            double purity) {
    }

    /** What atlas.json holds, including structure measures. */
    public record Atlas(int gridSize, int tilePixels, int width, int height, int cells, NeighbourAgreement neighbours,
            double meanTileDifference, List<Placement> placements) {
        /** The log line of an atlas written to {@code png}: its size and structure measures. */
        public String summary(Path png) {
            return String.format(java.util.Locale.ROOT,
                    "stitch: %s (%d×%d px, %d tiles); neighbour label agreement %.2f (shuffled %.2f); mean tile difference %.3f",
                    png, width, height, cells, neighbours.observed(), neighbours.shuffledBaseline(), meanTileDifference);
        }
    }

    /**
     * Label structure: the fraction of cells whose majority label equals that of at least one kept 4-neighbour,
     * against the same fraction with the labels shuffled over the same cells (chance level).
     */
    public record NeighbourAgreement(double observed, double shuffledBaseline, int cellsWithNeighbours) {
    }

    private Stitcher() {
    }

    /** Pixel square of a cell: centred in its grid slot, side scaled by sample count. */
    public static int[] placement(int row, int col, int count, double meanCount, int tilePx, boolean scale) {
        double f = scale ? Math.min(1.0, Math.sqrt(count / meanCount)) : 1.0;
        int side = Math.max(2, (int) Math.round(tilePx * f));
        int x = col * tilePx + (tilePx - side) / 2;
        int y = row * tilePx + (tilePx - side) / 2;
        return new int[] {x, y, side};
    }

    public static Atlas run(Gridder.Grid grid, Path renderDir, List<String> tilePaths, List<String> classNames,
            Options o, Path outDir) throws IOException {
        return run(grid, renderDir, tilePaths, classNames, null, o, outDir);
    }

    /** @param captions per-cell caption text (e.g. a class atlas's attribution strength); null: the top label */
    public static Atlas run(Gridder.Grid grid, Path renderDir, List<String> tilePaths, List<String> classNames,
            List<String> captions, Options o, Path outDir) throws IOException {
        int g = grid.size();
        int px = o.tilePixels();
        int width = g * px;
        int height = g * px;
        double mean = grid.cells().stream().mapToInt(Gridder.Cell::count).average().orElse(1);
        BufferedImage canvas = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D png = canvas.createGraphics();
        SVGGraphics2D svg = new SVGGraphics2D(width, height);
        List<Placement> placements = new ArrayList<>();
        List<BufferedImage> tiles = new ArrayList<>();
        for (Graphics2D gr : new Graphics2D[] {png, svg}) {
            gr.setColor(Color.WHITE);
            gr.fillRect(0, 0, width, height);
            gr.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
            gr.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        }
        Font font = new Font(Font.SANS_SERIF, Font.PLAIN, Math.max(8, px / 6));
        for (Gridder.Cell c : grid.cells()) {
            String tilePath = tilePaths.get(c.id());
            BufferedImage tile = ImageIO.read(renderDir.resolve(tilePath).toFile());
            if (tile == null) throw new IOException("unreadable tile " + renderDir.resolve(tilePath));
            tiles.add(tile);
            int[] p = placement(c.row(), c.col(), c.count(), mean, px, o.scaleBySamples());
            String label = captions != null ? captions.get(c.id())
                    : c.topLabel() >= 0 && c.topLabel() < classNames.size() ? classNames.get(c.topLabel())
                    : (c.topLabel() >= 0 ? Integer.toString(c.topLabel()) : "");
            placements.add(new Placement(c.id(), c.row(), c.col(), c.count(), p[0], p[1], p[2],
                    "render/" + tilePath, label, c.purity()));
            for (Graphics2D gr : new Graphics2D[] {png, svg}) {
                gr.drawImage(tile, p[0], p[1], p[2], p[2], null);
                if (o.captions() && !label.isEmpty() && p[2] >= px * 0.6) caption(gr, font, label, p[0], p[1], p[2]);
            }
        }
        png.dispose();
        AtomicFiles.write(outDir.resolve(PNG), out -> ImageIO.write(canvas, "png", out));
        AtomicFiles.writeString(outDir.resolve(SVG), svg.getSVGDocument());
        Atlas atlas = new Atlas(g, px, width, height, grid.cells().size(), neighbourAgreement(grid, 7L),
                meanTileDifference(tiles), placements);
        Json.write(outDir.resolve(JSON), atlas);
        return atlas;
    }

    private static void caption(Graphics2D gr, Font font, String text, int x, int y, int side) {
        gr.setFont(font);
        FontMetrics fm = gr.getFontMetrics();
        String t = text;
        while (t.length() > 1 && fm.stringWidth(t) > side - 2) t = t.substring(0, t.length() - 1);
        int h = fm.getAscent() + 2;
        gr.setColor(new Color(255, 255, 255, 190));
        gr.fillRect(x, y + side - h, fm.stringWidth(t) + 4, h);
        gr.setColor(Color.BLACK);
        gr.drawString(t, x + 2, y + side - 3);
    }

    public static NeighbourAgreement neighbourAgreement(Gridder.Grid grid, long seed) {
        int g = grid.size();
        int[] labelAt = new int[g * g];
        java.util.Arrays.fill(labelAt, -2);
        List<Integer> labels = new ArrayList<>();
        for (Gridder.Cell c : grid.cells()) {
            labelAt[c.row() * g + c.col()] = c.topLabel();
            labels.add(c.topLabel());
        }
        double observed = agreement(grid, labelAt);
        java.util.Random r = new java.util.Random(seed);
        double sum = 0;
        int trials = 50;
        for (int t = 0; t < trials; t++) {
            java.util.Collections.shuffle(labels, r);
            int[] shuffled = labelAt.clone();
            int i = 0;
            for (Gridder.Cell c : grid.cells()) shuffled[c.row() * g + c.col()] = labels.get(i++);
            sum += agreement(grid, shuffled);
        }
        int withNeighbours = 0;
        for (Gridder.Cell c : grid.cells()) if (hasNeighbour(labelAt, g, c.row(), c.col())) withNeighbours++;
        return new NeighbourAgreement(observed, sum / trials, withNeighbours);
    }

    private static boolean hasNeighbour(int[] labelAt, int g, int row, int col) {
        int[][] d = {{-1, 0}, {1, 0}, {0, -1}, {0, 1}};
        for (int[] k : d) {
            int r = row + k[0];
            int c = col + k[1];
            if (r >= 0 && r < g && c >= 0 && c < g && labelAt[r * g + c] != -2) return true;
        }
        return false;
    }

    private static double agreement(Gridder.Grid grid, int[] labelAt) {
        int g = grid.size();
        int[][] d = {{-1, 0}, {1, 0}, {0, -1}, {0, 1}};
        int agree = 0;
        int total = 0;
        for (Gridder.Cell c : grid.cells()) {
            int mine = labelAt[c.row() * g + c.col()];
            boolean any = false;
            boolean same = false;
            for (int[] k : d) {
                int r = c.row() + k[0];
                int cc = c.col() + k[1];
                if (r < 0 || r >= g || cc < 0 || cc >= g) continue;
                int other = labelAt[r * g + cc];
                if (other == -2) continue;
                any = true;
                if (other == mine) same = true;
            }
            if (any) {
                total++;
                if (same) agree++;
            }
        }
        return total == 0 ? 0 : agree / (double) total;
    }

    /** Mean absolute pixel difference (0–1) between tiles, over all pairs: near 0 means the tiles are alike. */
    public static double meanTileDifference(List<BufferedImage> tiles) {
        int n = tiles.size();
        if (n < 2) return 0;
        List<float[]> px = new ArrayList<>();
        for (BufferedImage t : tiles) {
            float[] a = new float[t.getWidth() * t.getHeight()];
            for (int y = 0; y < t.getHeight(); y++) {
                for (int x = 0; x < t.getWidth(); x++) {
                    int rgb = t.getRGB(x, y);
                    a[y * t.getWidth() + x] = (((rgb >> 16) & 255) + ((rgb >> 8) & 255) + (rgb & 255)) / (3 * 255f);
                }
            }
            px.add(a);
        }
        double sum = 0;
        long pairs = 0;
        for (int i = 0; i < n; i++) {
            for (int j = i + 1; j < n; j++) {
                float[] a = px.get(i);
                float[] b = px.get(j);
                if (a.length != b.length) continue;
                double s = 0;
                for (int k = 0; k < a.length; k++) s += Math.abs(a[k] - b[k]);
                sum += s / a.length;
                pairs++;
            }
        }
        return pairs == 0 ? 0 : sum / pairs;
    }

}
