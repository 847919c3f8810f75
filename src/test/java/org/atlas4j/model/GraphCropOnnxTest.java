package org.atlas4j.model;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The receptive-field crop on torch exports: the committed small net (ceil-mode pools, a dilated depthwise
 * convolution, a grouped convolution, an average pool excluding its padding, concatenation, residual add) at every
 * spatial layer, and the full-size torchvision networks at the layers the README measures when their fixtures exist
 * (make_onnx_fixtures.py): the centre's values and input gradient equal the whole map's.
 */
@org.atlas4j.IntegrationTest
class GraphCropOnnxTest {
    /** Crops (or the reason not to) at one layer; asserts equality with the whole map when cropped. */
    static String check(NetGraph g, String layer, int[] in) {
        var c = NativeGraph.compile(g, layer, in[0], in[1], in[2]);
        if (c.engine() == null) return layer + ": no native graph (" + c.unsupported() + ")";
        NativeGraph.Crop crop = c.engine().cropToCentre();
        if (crop.engine() == null) return layer + ": whole map (" + crop.wholeMapReason() + ")";
        int b = 2, len = in[0] * in[1] * in[2], ch = c.engine().layerChannels();
        float[] x = GraphCropTest.randoms(b * len, 41);
        float[] dc = GraphCropTest.randoms(b * ch, 42);
        GraphCropTest.Pass w = GraphCropTest.pass(c.engine(), x, dc, b);
        GraphCropTest.Pass k = GraphCropTest.pass(crop.engine(), x, dc, b);
        GraphCropTest.assertClose(w.centre(), k.centre(), 1e-5, layer + " centre");
        GraphCropTest.assertClose(w.grad(), k.grad(), 1e-4, layer + " input gradient");
        int[] win = crop.inputWindow();
        return layer + ": cropped to " + win[1] + "×" + win[3];
    }

    @Test
    void smallTorchExportAtEverySpatialLayer(@TempDir Path dir) throws Exception {
        for (String f : List.of("small.onnx", "small.json")) {
            try (var s = getClass().getResourceAsStream("/fixtures/onnx/" + f)) {
                Files.copy(s, dir.resolve(f));
            }
        }
        NetGraph g = LoadedModel.load(dir.resolve("small.onnx"), null).graph();
        List<String> seen = new ArrayList<>();
        int cropped = 0;
        for (NetGraph.Node n : g.nodes()) {
            if (!g.shape(n.name()).spatial()) continue;
            String r = check(g, n.name(), g.inputShape());
            seen.add(r);
            if (r.contains("cropped")) cropped++;
        }
        System.out.println("small.onnx crops: " + seen);
        assertTrue(cropped >= 2, "few layers cropped: " + seen);
    }

    @ParameterizedTest
    @CsvSource({"googlenet, inception4c", "mobilenet_v2, features.13", "resnet50, layer3", "inception_v3, Mixed_5d"})
    void torchvisionLayers(String net, String layer) throws Exception {
        Path onnx = OnnxTorchvisionTest.DIR.resolve(net + ".onnx");
        Assumptions.assumeTrue(Files.exists(onnx), "no " + onnx + " (make_onnx_fixtures.py makes it)");
        NetGraph g = LoadedModel.load(onnx, null).graph();
        String r = check(g, layer, g.inputShape());
        System.out.println(net + " " + r);
        assertTrue(r.contains("cropped"), r);
    }
}
