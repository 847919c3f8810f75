package org.atlas4j.stitch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.Color;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Random;

import javax.imageio.ImageIO;
import javax.xml.parsers.DocumentBuilderFactory;

import org.atlas4j.grid.Gridder;
import org.atlas4j.io.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/** Stage 5: tile geometry, label-structure measure, and the three atlas files. */
@org.atlas4j.UnitTest
class StitcherTest {

    @Test
    void fullSizeTileForCellsAtOrAboveTheMeanCount() {
        int[] p = Stitcher.placement(2, 3, 10, 5, 40, true);
        assertEquals(120, p[0]);
        assertEquals(80, p[1]);
        assertEquals(40, p[2]);
        int[] q = Stitcher.placement(2, 3, 5, 5, 40, true);
        assertEquals(40, q[2]);
    }

    @Test
    void sparseCellsShrinkBySquareRootOfTheirShareAndStayCentred() {
        // count/mean = 1/4 → side 1/2, centred: offset (40 − 20) / 2 = 10
        int[] p = Stitcher.placement(2, 3, 5, 20, 40, true);
        assertEquals(20, p[2]);
        assertEquals(130, p[0]);
        assertEquals(90, p[1]);
        // without scaling every tile fills its slot
        int[] q = Stitcher.placement(2, 3, 5, 20, 40, false);
        assertEquals(40, q[2]);
        assertEquals(120, q[0]);
        assertEquals(80, q[1]);
    }

    @Test
    void placementsAreInsideTheirSlotForAnyCount() {
        Random r = new Random(1);
        for (int t = 0; t < 2000; t++) {
            int g = 1 + r.nextInt(20);
            int px = 4 + r.nextInt(80);
            int row = r.nextInt(g);
            int col = r.nextInt(g);
            int count = 1 + r.nextInt(500);
            double mean = 1 + r.nextDouble() * 300;
            int[] p = Stitcher.placement(row, col, count, mean, px, true);
            int side = p[2];
            double expected = px * Math.min(1, Math.sqrt(count / mean));
            assertTrue(Math.abs(side - Math.max(2, expected)) <= 0.5 + 1e-9, "side " + side + " for " + expected);
            assertTrue(p[0] >= col * px && p[0] + side <= (col + 1) * px, "x outside the slot");
            assertTrue(p[1] >= row * px && p[1] + side <= (row + 1) * px, "y outside the slot");
            assertTrue(p[0] >= 0 && p[1] >= 0 && p[0] + side <= g * px && p[1] + side <= g * px, "outside the canvas");
            // centred: the margins on both sides differ by at most one pixel
            int left = p[0] - col * px;
            int right = (col + 1) * px - (p[0] + side);
            int top = p[1] - row * px;
            int bottom = (row + 1) * px - (p[1] + side);
            assertTrue(Math.abs(left - right) <= 1 && Math.abs(top - bottom) <= 1, "not centred: " + left + "/" + right);
        }
    }

    static Gridder.Cell cell(int id, int row, int col, int count, int label) {
        int[] hist = new int[4];
        if (label >= 0) hist[label] = count;
        int[] members = new int[count];
        for (int i = 0; i < count; i++) members[i] = id * 1000 + i;
        return new Gridder.Cell(id, row, col, count, hist, label, label >= 0 ? 1.0 : 0, members);
    }

    static Gridder.Grid grid(int size, List<Gridder.Cell> cells) {
        int kept = cells.stream().mapToInt(Gridder.Cell::count).sum();
        return new Gridder.Grid(size, 0, kept, kept, size * size - cells.size(), 0, cells);
    }

    @Test
    void identicalLabelsAgreeEverywhere() {
        List<Gridder.Cell> cells = new ArrayList<>();
        for (int r = 0; r < 4; r++) for (int c = 0; c < 4; c++) cells.add(cell(cells.size(), r, c, 5, 2));
        Stitcher.NeighbourAgreement a = Stitcher.neighbourAgreement(grid(4, cells), 7);
        assertEquals(1.0, a.observed());
        assertEquals(1.0, a.shuffledBaseline());
        assertEquals(16, a.cellsWithNeighbours());
    }

    @Test
    void checkerboardNeverAgreesButItsShuffleDoes() {
        List<Gridder.Cell> cells = new ArrayList<>();
        for (int r = 0; r < 6; r++) for (int c = 0; c < 6; c++) cells.add(cell(cells.size(), r, c, 5, (r + c) % 2));
        Stitcher.NeighbourAgreement a = Stitcher.neighbourAgreement(grid(6, cells), 7);
        assertEquals(0.0, a.observed(), "no 4-neighbour of a checkerboard cell shares its label");
        // shuffling two equally common labels: a cell with k kept neighbours disagrees with all with probability ~2^-k,
        // so the baseline is far above 0 (about 0.9 on a 6×6 board)
        assertTrue(a.shuffledBaseline() > 0.7 && a.shuffledBaseline() < 1.0, "baseline " + a.shuffledBaseline());
        assertEquals(36, a.cellsWithNeighbours());
        // deterministic for a seed
        assertEquals(a, Stitcher.neighbourAgreement(grid(6, cells), 7));
    }

    @Test
    void isolatedCellsDoNotCount() {
        List<Gridder.Cell> cells = List.of(cell(0, 0, 0, 5, 1), cell(1, 0, 1, 5, 1), cell(2, 3, 3, 5, 0));
        Stitcher.NeighbourAgreement a = Stitcher.neighbourAgreement(grid(4, cells), 3);
        assertEquals(2, a.cellsWithNeighbours());
        assertEquals(1.0, a.observed());
    }

    static final Color[] COLOURS = {Color.RED, Color.BLUE, new Color(0, 160, 0), Color.BLACK};

    @Test
    void runWritesPngSvgAndJsonMatchingTheCells(@TempDir Path dir) throws Exception {
        Path render = dir.resolve("render");
        Files.createDirectories(render.resolve("tiles"));
        // 3×3 grid, 4 kept cells; counts 20, 20, 20, 5 → mean 16.25: the last tile shrinks to sqrt(5/16.25) ≈ 0.55
        List<Gridder.Cell> cells = List.of(cell(0, 0, 0, 20, 1), cell(1, 0, 2, 20, 1), cell(2, 1, 1, 20, 3),
                cell(3, 2, 0, 5, -1));
        List<String> tiles = new ArrayList<>();
        for (int i = 0; i < cells.size(); i++) {
            BufferedImage t = new BufferedImage(9, 9, BufferedImage.TYPE_INT_RGB);
            for (int y = 0; y < 9; y++) for (int x = 0; x < 9; x++) t.setRGB(x, y, COLOURS[i].getRGB());
            String name = String.format("tiles/cell-%04d.png", i);
            ImageIO.write(t, "png", render.resolve(name).toFile());
            tiles.add(name);
        }
        int px = 20;
        Gridder.Grid grid = grid(3, cells);
        Stitcher.Atlas atlas = Stitcher.run(grid, render, tiles, List.of("a", "b", "c", "d"),
                new Stitcher.Options(px, true, false), dir);

        // PNG: grid × tile px, each tile drawn at its placement, empty slots white
        BufferedImage png = ImageIO.read(dir.resolve(Stitcher.PNG).toFile());
        assertNotNull(png);
        assertEquals(3 * px, png.getWidth());
        assertEquals(3 * px, png.getHeight());
        double mean = 65 / 4.0;
        for (Gridder.Cell c : cells) {
            int[] p = Stitcher.placement(c.row(), c.col(), c.count(), mean, px, true);
            int cx = p[0] + p[2] / 2;
            int cy = p[1] + p[2] / 2;
            assertEquals(COLOURS[c.id()].getRGB(), png.getRGB(cx, cy), "tile of cell " + c.id() + " not at its place");
        }
        assertEquals(Color.WHITE.getRGB(), png.getRGB(px + px / 2, px / 2), "an empty slot must stay white");
        int[] small = Stitcher.placement(2, 0, 5, mean, px, true);
        assertTrue(small[2] < px);
        assertEquals(Color.WHITE.getRGB(), png.getRGB(1, 2 * px + 1), "the shrunken tile's margin must be white");

        // SVG: well-formed XML of the canvas size with the tiles embedded as PNG data
        DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
        f.setFeature("http://apache.org/xml/features/nonvalidating/load-external-dtd", false); // offline: no DTD fetch
        Document svg = f.newDocumentBuilder().parse(dir.resolve(Stitcher.SVG).toFile());
        Element root = svg.getDocumentElement();
        assertEquals("svg", root.getLocalName() != null ? root.getLocalName() : root.getTagName());
        assertEquals(3 * px, Double.parseDouble(root.getAttribute("width").replace("px", "")), 1e-9);
        assertEquals(3 * px, Double.parseDouble(root.getAttribute("height").replace("px", "")), 1e-9);
        NodeList images = svg.getElementsByTagName("image");
        assertTrue(images.getLength() >= cells.size(), "expected one embedded image per tile, found " + images.getLength());
        Element first = (Element) images.item(0);
        String href = first.hasAttribute("xlink:href") ? first.getAttribute("xlink:href") : first.getAttribute("href");
        assertTrue(href.startsWith("data:image/png;base64,"), "tile not embedded: " + href.substring(0, Math.min(60, href.length())));
        BufferedImage embedded = ImageIO.read(new ByteArrayInputStream(Base64.getDecoder().decode(href.substring(href.indexOf(',') + 1))));
        assertNotNull(embedded, "embedded tile is not a PNG");

        // JSON: one placement per cell, matching the cell and the geometry
        Stitcher.Atlas back = Json.read(dir.resolve(Stitcher.JSON), Stitcher.Atlas.class);
        assertEquals(cells.size(), back.cells());
        assertEquals(cells.size(), back.placements().size());
        assertEquals(3, back.gridSize());
        assertEquals(3 * px, back.width());
        for (int i = 0; i < cells.size(); i++) {
            Gridder.Cell c = cells.get(i);
            Stitcher.Placement p = back.placements().get(i);
            int[] expected = Stitcher.placement(c.row(), c.col(), c.count(), mean, px, true);
            assertEquals(c.id(), p.cell());
            assertEquals(c.row(), p.row());
            assertEquals(c.col(), p.col());
            assertEquals(c.count(), p.count());
            assertEquals(expected[0], p.x());
            assertEquals(expected[1], p.y());
            assertEquals(expected[2], p.side());
            assertEquals("render/" + tiles.get(i), p.tile());
            assertEquals(c.topLabel() >= 0 ? List.of("a", "b", "c", "d").get(c.topLabel()) : "", p.topLabel());
        }
        assertEquals(atlas.neighbours(), back.neighbours());
        assertTrue(back.meanTileDifference() > 0, "distinct solid tiles must differ");
    }
}
