package org.atlas4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;

import org.atlas4j.util.UserError;
import org.junit.jupiter.api.Test;

/** The arithmetic and wording of bench --vs-peers --model's table, and its argument errors; nothing is timed. */
@org.atlas4j.UnitTest
class PeerTableTest {
    @Test
    void medianOfOddAndEvenCountsAndNone() {
        assertEquals(3.0, PeerTable.median(List.of(9.0, 1.0, 3.0)));
        assertEquals(2.5, PeerTable.median(List.of(4.0, 1.0, 2.0, 3.0)));
        assertTrue(Double.isNaN(PeerTable.median(List.of())));
    }

    @Test
    void ratioIsOursOverPeerOfTheMedians() {
        var r = new PeerTable.Row("collect", "img/s", List.of(10.0, 30.0, 20.0), List.of(5.0, 100.0, 40.0));
        assertEquals(20.0, r.oursMedian());
        assertEquals(40.0, r.peerMedian());
        assertEquals(0.5, r.ratio(), 1e-12);
        assertEquals("atlas4j 2.00× slower", PeerTable.verdict(r.ratio()));
        assertEquals("atlas4j 3.00× faster", PeerTable.verdict(3.0));
        assertEquals("even", PeerTable.verdict(1.02));
        assertTrue(Double.isNaN(new PeerTable.Row("x", "u", List.of(1.0), List.of()).ratio()));
    }

    @Test
    void tableAndJsonCarryEveryStage() {
        PeerTable t = new PeerTable("title line");
        t.add(new PeerTable.Row("collect: forward", "img/s", List.of(12.0, 14.0), List.of(40.0, 44.0)));
        t.add(new PeerTable.Row("render", "icon-steps/s", List.of(8.0), List.of(4.0)));
        String text = t.format();
        assertTrue(text.startsWith("title line\n"), text);
        assertTrue(text.contains("collect: forward, img/s") && text.contains("13.0") && text.contains("42.0") && text.contains("0.31"),
                text);
        assertTrue(text.contains("render, icon-steps/s") && text.contains("2.00") && text.contains("atlas4j 2.00× faster"), text);
        Map<String, Object> json = t.toJson();
        assertEquals(List.of("collect: forward", "render"), List.copyOf(json.keySet()));
        @SuppressWarnings("unchecked")
        Map<String, Object> c = (Map<String, Object>) json.get("collect: forward");
        assertEquals(List.of(12.0, 14.0), c.get("atlas4j"));
        assertEquals(13.0 / 42.0, (Double) c.get("ratio"), 1e-12);
        PeerTable empty = new PeerTable("t");
        empty.add(new PeerTable.Row("s", "u", List.of(), List.of(1.0)));
        @SuppressWarnings("unchecked")
        Map<String, Object> e = (Map<String, Object>) empty.toJson().get("s");
        assertNull(e.get("ratio"), "NaN is written as null, which JSON can hold");
    }

    @Test
    void steadyTimeSubtractsTheShortRunUnlessNoiseMakesThatImplausible() {
        assertEquals(8.0, OnnxPeerBench.steadySeconds(2_000_000_000L, 10_000_000_000L), 1e-12);
        assertEquals(10.0, OnnxPeerBench.steadySeconds(9_000_000_000L, 10_000_000_000L), 1e-12);
        assertEquals(10.0, OnnxPeerBench.steadySeconds(12_000_000_000L, 10_000_000_000L), 1e-12);
    }

    @Test
    void optionsRefuseWhatCannotBeMeasured() {
        assertThrows(UserError.class, () -> opts(List.of("reduce"), 1, 4, 8));
        assertThrows(UserError.class, () -> opts(List.of(), 1, 4, 8));
        assertThrows(UserError.class, () -> opts(OnnxPeerBench.STAGES, 0, 4, 8));
        assertThrows(UserError.class, () -> opts(OnnxPeerBench.STAGES, 1, 0, 8));
        UserError e = assertThrows(UserError.class, () -> opts(OnnxPeerBench.STAGES, 1, 16, 8));
        assertTrue(e.getMessage().contains("--images must be >= --batch (16)"), e.getMessage());
        assertEquals(4, opts(OnnxPeerBench.STAGES, 2, 4, 8).stages().size());
    }

    @Test
    void noiseIsSeededAndRoughlyStandardNormal() {
        float[] a = OnnxPeerBench.noise(20_000, 5);
        assertEquals(a[123], OnnxPeerBench.noise(20_000, 5)[123]);
        double m = 0;
        double v = 0;
        for (float x : a) m += x;
        m /= a.length;
        for (float x : a) v += (x - m) * (x - m);
        v /= a.length;
        assertEquals(0, m, 0.05);
        assertEquals(1, v, 0.05);
    }

    private static OnnxPeerBench.Options opts(List<String> stages, int rounds, int batch, int images) {
        return new OnnxPeerBench.Options(null, stages, rounds, batch, images, 2, 1, 2, false);
    }
}
