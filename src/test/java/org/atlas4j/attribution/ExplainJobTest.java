package org.atlas4j.attribution;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.Color;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

import javax.imageio.ImageIO;

import org.atlas4j.TinyNets;
import org.atlas4j.data.ImageFiles;
import org.atlas4j.data.PixelScaling;
import org.atlas4j.io.Json;
import org.atlas4j.io.Npy;
import org.atlas4j.model.ModelCard;
import org.atlas4j.model.NetGraph;
import org.atlas4j.model.SameDiffConverter;
import org.atlas4j.util.Progress;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;

/** The whole explain job on a folder of real files with a tiny saved model: outputs, skips, resume, sanity. */
@org.atlas4j.UnitTest
class ExplainJobTest {
    @TempDir
    Path tmp;

    @Test
    void folderOfImagesEndToEnd() throws Exception {
        Progress.setQuiet(true);
        MultiLayerNetwork net = TinyNets.cnn(3, DataType.FLOAT);
        Path model = tmp.resolve("tiny.zip");
        ModelSerializer.writeModel(net, model.toFile(), false);
        new ModelCard("tiny.zip", new int[] {1, 9, 9}, List.of("alpha", "beta", "gamma"), null, "pixels / 255", "test").write(
                ModelCard.cardPath(model));
        Path images = Files.createDirectories(tmp.resolve("images"));
        Files.createDirectories(images.resolve("sub"));
        Random r = new Random(1);
        int[][] sizes = {{9, 9}, {20, 31}, {64, 48}, {5, 7}};
        String[] names = {"a.png", "b.png", "sub/c.png", "d.jpg"};
        for (int k = 0; k < names.length; k++) {
            BufferedImage img = new BufferedImage(sizes[k][1], sizes[k][0], k == 1 ? BufferedImage.TYPE_INT_ARGB
                    : BufferedImage.TYPE_INT_RGB);
            for (int y = 0; y < img.getHeight(); y++) {
                for (int x = 0; x < img.getWidth(); x++) img.setRGB(x, y, 0xff000000 | r.nextInt(0x1000000));
            }
            ImageIO.write(img, names[k].endsWith("jpg") ? "jpg" : "png", images.resolve(names[k]).toFile());
        }
        Files.writeString(images.resolve("broken.png"), "this is not a png");
        Path out = tmp.resolve("out");
        var o = new ExplainJob.Options(model, images, null, 10, List.of("all"), "top1", null, out, 3, 4, 0.15, 7,
                ImageFiles.Resize.CROP, Color.BLACK, true, 4, 2, false, null, null, null);
        ExplainJob.Index ix = ExplainJob.run(o);

        assertEquals("r2", ix.layer(), "default = last layer with spatial size > 1×1");
        assertEquals(List.of("cam", "gradcam", "gradcam++", "saliency", "smoothgrad"), ix.methods());
        assertEquals(5, ix.images());
        assertEquals(4, ix.explained());
        assertEquals(1, ix.skipped());
        assertEquals("broken.png", ix.skippedFiles().get(0).file());
        assertTrue(Files.readString(out.resolve("report.txt")).contains("broken.png"));
        assertEquals(List.of("contact-sheet-001.png", "contact-sheet-002.png"), ix.contactSheets());
        for (String s : ix.contactSheets()) assertTrue(ImageIO.read(out.resolve(s).toFile()).getWidth() > 500);

        // every image: one overlay and one raw map per method; the map equals a direct computation
        NetGraph graph = SameDiffConverter.convert(net, new int[] {1, 9, 9});
        Explainer direct = new Explainer(graph, "r2", CamHead.find(net, "r2"), new Explainer.Options(
                Method.parseList(List.of("all")), 4, 0.15, 7, 3));
        var pre = new ImageFiles.Preprocess(1, 9, 9, PixelScaling.parse("pixels / 255", 1), ImageFiles.Resize.CROP, Color.BLACK);
        for (ExplainJob.Entry e : ix.entries()) {
            Path d = out.resolve(e.dir());
            var rec = Json.read(d.resolve(ExplainJob.IMAGE_JSON), ExplainJob.ImageRecord.class);
            assertEquals(5, rec.top5().size() > 3 ? 5 : rec.maps().size());
            assertEquals(3, rec.top5().size(), "top-5 of a 3-class model lists 3");
            float[] x = new float[81];
            ImageFiles.load(images.resolve(e.file()), pre, x, 0);
            Explainer.Result want = direct.explain(x, 1, new int[] {Explainer.TOP1},
                    new long[] {e.file().hashCode() & 0xffffffffL}).get(0);
            assertEquals(want.target(), e.target());
            for (Method m : Method.all()) {
                Npy.NpyArray a = Npy.read(d.resolve(m.fileId() + ".npy"));
                assertArrayEquals(new int[] {9, 9}, a.shape());
                assertArrayEquals(want.maps().get(m), a.data(), 1e-4f, m + " " + e.file());
                BufferedImage png = ImageIO.read(d.resolve(m.fileId() + ".png").toFile());
                assertEquals(9 * 25, png.getWidth(), "overlays are shown at ≥ 224 px");
            }
        }

        var sanity = Json.read(out.resolve("sanity.json"), Sanity.Report.class);
        assertEquals(4, sanity.images());
        assertEquals(5, sanity.cascade().size());
        assertTrue(Files.size(out.resolve("sanity.png")) > 1000);

        // a second run reuses every finished image; touching a file recomputes only that one
        ExplainJob.Index again = ExplainJob.run(o);
        assertEquals(0, again.explained());
        assertEquals(4, again.resumed());
        Files.setLastModifiedTime(images.resolve("a.png"), java.nio.file.attribute.FileTime.fromMillis(0));
        ExplainJob.Index third = ExplainJob.run(o);
        assertEquals(1, third.explained());
        assertEquals(3, third.resumed());

        // a model without a card needs its input shape; given it, the job runs (scaling assumed pixels / 255)
        Path bare = Files.copy(model, tmp.resolve("bare.zip"));
        var noShape = new ExplainJob.Options(bare, images.resolve("a.png"), null, 10, List.of("gradcam"), "top1", null,
                tmp.resolve("bare"), 3, 4, 0.15, 7, ImageFiles.Resize.CROP, Color.BLACK, false, 4, 2, false, null, null, null);
        var err = org.junit.jupiter.api.Assertions.assertThrows(org.atlas4j.util.UserError.class, () -> ExplainJob.run(noShape));
        assertTrue(err.getMessage().contains("--input-shape"), err.getMessage());
        var withShape = new ExplainJob.Options(bare, images.resolve("a.png"), null, 10, List.of("gradcam"), "top1", null,
                tmp.resolve("bare"), 3, 4, 0.15, 7, ImageFiles.Resize.CROP, Color.BLACK, false, 4, 2, false,
                new int[] {1, 9, 9}, null, null);
        assertEquals(1, ExplainJob.run(withShape).explained());
    }

    @Test
    void namedClassAndDirNames() {
        assertEquals(1, ExplainJob.parseClass("Beta", List.of("alpha", "beta")));
        assertEquals(Explainer.TOP2, ExplainJob.parseClass("top2", List.of("alpha", "beta")));
        assertEquals(5, ExplainJob.parseClass("ankle-boot", List.of("a", "b", "c", "d", "e", "Ankle boot")));
        assertEquals("sub__x_y.png", ExplainJob.dirName("sub/x y.png"));
    }
}
