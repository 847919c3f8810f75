package org.atlas4j.layers;

import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

import javax.imageio.ImageIO;

import org.atlas4j.io.AtomicFiles;
import org.atlas4j.io.Json;
import org.jfree.svg.SVGGraphics2D;

/** One page with several layers' atlases side by side and their label structure (PNG, SVG, HTML, JSON). */
final class LayerPage {
    private static final int PANEL = 480;
    private static final int HEADER = 56;

    private LayerPage() {
    }

    static void write(Path dir, List<LayerComparisonJob.LayerSummary> layers) throws Exception {
        int w = PANEL * layers.size();
        int h = PANEL + HEADER;
        BufferedImage page = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D png = page.createGraphics();
        SVGGraphics2D svg = new SVGGraphics2D(w, h);
        for (Graphics2D g : new Graphics2D[] {png, svg}) {
            g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, w, h);
        }
        for (int i = 0; i < layers.size(); i++) {
            var l = layers.get(i);
            BufferedImage atlas = ImageIO.read(dir.resolve(l.atlas()).toFile());
            for (Graphics2D g : new Graphics2D[] {png, svg}) {
                g.setColor(Color.BLACK);
                g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 16));
                g.drawString(l.layer() + "  (" + l.shape() + ")", i * PANEL + 8, 20);
                g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
                g.drawString(String.format(Locale.ROOT, "%d cells · purity %.2f · neighbours agree %.2f (shuffled %.2f)",
                        l.cells(), l.meanPurity(), l.neighbourAgreement(), l.shuffledBaseline()), i * PANEL + 8, 40);
                g.drawImage(atlas, i * PANEL, HEADER, PANEL, PANEL, null);
            }
        }
        png.dispose();
        AtomicFiles.write(dir.resolve("layers.png"), out -> ImageIO.write(page, "png", out));
        AtomicFiles.writeString(dir.resolve("layers.svg"), svg.getSVGDocument());
        Json.write(dir.resolve("layers.json"), layers);
        StringBuilder html = new StringBuilder("<!doctype html><meta charset=utf-8><title>Layer comparison</title>"
                + "<style>body{font-family:sans-serif}td{vertical-align:top;padding:6px}img{width:100%}</style><table><tr>");
        for (var l : layers) {
            html.append(String.format(Locale.ROOT, "<td><b>%s</b> (%s)<br>%d cells, purity %.2f, neighbours agree %.2f "
                    + "(shuffled %.2f), fidelity top-1 %.2f<br><img src=\"%s\"></td>", l.layer(), l.shape(), l.cells(),
                    l.meanPurity(), l.neighbourAgreement(), l.shuffledBaseline(), l.fidelityTop1(), l.atlas()));
        }
        html.append("</tr></table>\n");
        AtomicFiles.writeString(dir.resolve("layers.html"), html.toString());
    }
}
