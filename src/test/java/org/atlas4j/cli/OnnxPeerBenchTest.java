package org.atlas4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;

import org.atlas4j.io.Json;
import org.atlas4j.model.LoadedModel;
import org.atlas4j.util.Progress;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * bench --vs-peers --model on the small torch-exported fixture: argument errors through the CLI, and (when
 * /usr/bin/python3 imports torch) a whole run whose PyTorch side must reproduce atlas4j's logits from the same file.
 */
@org.atlas4j.IntegrationTest
class OnnxPeerBenchTest {
    static final Path SMALL = Path.of("src/test/resources/fixtures/onnx/small.onnx");

    @TempDir
    Path out;

    @BeforeAll
    static void quiet() {
        Progress.setQuiet(true);
    }

    @Test
    void cliNamesTheValidStages() {
        CliErrorsTest.assertCleanFailure(CliErrorsTest.atlas("bench", "--vs-peers", "--model", SMALL.toString(), "--stages", "reduce"),
                "unknown stage 'reduce'", "collect, render, gradcam, saliency");
        CliErrorsTest.assertCleanFailure(CliErrorsTest.atlas("bench", "--vs-peers", "--model", SMALL.toString(), "--rounds", "0"),
                "--rounds must be >= 1");
    }

    @Test
    void peerRunsTheSameFileAndEveryStageGetsARate() throws Exception {
        Assumptions.assumeTrue(OnnxPeerBench.peerMissing(PeerBench.PYTHON) == null, "no torch for /usr/bin/python3");
        LoadedModel m = LoadedModel.load(SMALL, null);
        PeerTable t = OnnxPeerBench.run(m, new OnnxPeerBench.Options(null, OnnxPeerBench.STAGES, 1, 2, 4, 2, 1, 2, true), out);
        assertEquals(4, t.rows().size());
        for (PeerTable.Row r : t.rows()) {
            assertEquals(1, r.ours().size());
            assertEquals(1, r.peer().size());
            assertTrue(r.oursMedian() > 0 && Double.isFinite(r.oursMedian()), r.toString());
            assertTrue(r.peerMedian() > 0 && Double.isFinite(r.peerMedian()), r.toString());
        }
        var json = Json.MAPPER.readTree(out.resolve("bench-vs-peers-small-profile.json").toFile());
        assertTrue(json.get("logitDifference").asDouble() < 1e-5, "the peer's logits differ from ours: " + json);
        assertTrue(json.get("profile").asText().startsWith("profile: "), json.toString());
        assertTrue(json.get("peakRssMbOurs").asDouble() > 0, json.toString());
        assertEquals(4, json.get("peakRssMbPeer").size(), "the peer's peak RSS per stage: " + json);
        assertEquals(List.of("collect: forward to act + logits", "render: 2 icons × 1 steps at 37 px", "Grad-CAM at act (top-1 class)",
                "saliency (∂ top-1 score / ∂ input)"),
                List.copyOf(new java.util.ArrayList<String>() {
                    {
                        json.get("stages").fieldNames().forEachRemaining(this::add);
                    }
                }));
    }
}
