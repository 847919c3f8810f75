package org.atlas4j.provenance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.atlas4j.io.DataFormatException;
import org.atlas4j.io.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@org.atlas4j.UnitTest
class ProvenanceTest {
    /** A provenance.json as the untyped writer of earlier versions wrote it (facts flat beside seconds and finished). */
    static final String OLD_FORMAT = """
            {
              "run" : "fashion-mnist",
              "config" : { "name" : "fashion-mnist", "seed" : 42, "grid" : { "size" : 20 } },
              "seed" : 42,
              "model" : { "file" : "models/fashion-mnist-cnn.zip", "sha256" : "abc", "layer" : "relu3" },
              "versions" : { "atlas4j" : "0.1.0", "java" : "25" },
              "stages" : {
                "collect" : { "accuracy" : 0.91, "dim" : 64, "images" : 70000, "imagesPerSecond" : 9000.5,
                              "seconds" : 7.5, "finished" : "2026-12-01T10:00:00Z" },
                "reduce" : { "method" : "umap", "samples" : 70000, "seconds" : 60.1, "finished" : "2026-12-01T10:01:00Z" }
              }
            }
            """;

    @Test
    void readsTheFilesEarlierVersionsWrote(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve(Provenance.FILE), OLD_FORMAT);
        Provenance p = Provenance.read(dir);
        assertEquals("fashion-mnist", p.run());
        assertEquals(42L, p.seed());
        assertEquals(new Provenance.ModelRecord("models/fashion-mnist-cnn.zip", "abc", "relu3"), p.model());
        assertEquals(20, p.config().path("grid").path("size").asInt());
        assertEquals(List.of("collect", "reduce"), List.copyOf(p.stages().keySet()));
        StageRecord c = p.stages().get("collect");
        assertEquals(70000, c.fact("images").asInt());
        assertEquals(7.5, c.seconds());
        assertEquals("2026-12-01T10:00:00Z", c.finished());
        assertEquals(List.of("accuracy", "dim", "images", "imagesPerSecond"), List.copyOf(c.facts().keySet()));
    }

    @Test
    void recordingAStageKeepsTheOthersAndWritesTheSameLayout(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve(Provenance.FILE), OLD_FORMAT);
        Provenance old = Provenance.read(dir);
        Provenance.recordStage(dir, old.run(), old.config(), 42, old.model(), "grid",
                StageRecord.of(Map.of("keptSamples", 69000, "cells", 400), 1.25, "2026-12-01T10:02:00Z"));
        var tree = Json.MAPPER.readTree(dir.resolve(Provenance.FILE).toFile());
        assertEquals(List.of("run", "config", "seed", "model", "versions", "stages"), names(tree));
        assertEquals(List.of("collect", "reduce", "grid"), names(tree.get("stages")));
        // facts sorted by name, then seconds and finished: as before, so files diff cleanly across versions
        assertEquals(List.of("cells", "keptSamples", "seconds", "finished"), names(tree.get("stages").get("grid")));
        assertEquals(9000.5, tree.get("stages").get("collect").get("imagesPerSecond").asDouble());
        assertEquals(Versions.atlas4j(), tree.get("versions").get("atlas4j").asText());
    }

    @Test
    void aMalformedFileIsNamedNotSwallowed(@TempDir Path dir) throws Exception {
        assertNull(Provenance.read(dir), "no file yet: nothing recorded");
        Files.writeString(dir.resolve(Provenance.FILE), "{\"stages\": {\"collect\": 5}}");
        var e = assertThrows(DataFormatException.class, () -> Provenance.read(dir));
        assertTrue(e.getMessage().contains(Provenance.FILE), e.getMessage());
    }

    @Test
    void theVersionIsTheBuildsNotAConstant() {
        // Maven filters the pom's version into build.properties (also for target/classes, which tests run from)
        String v = Versions.atlas4j();
        assertTrue(v.matches("\\d+\\.\\d+\\.\\d+(-SNAPSHOT)?"), v);
        assertEquals("1.2.3", Versions.fromBuildProperties(stream("version=1.2.3\n")));
        assertNull(Versions.fromBuildProperties(stream("version=${project.version}\n")), "unfiltered: not a version");
        assertNull(Versions.fromBuildProperties(null));
    }

    private static ByteArrayInputStream stream(String s) {
        return new ByteArrayInputStream(s.getBytes(StandardCharsets.UTF_8));
    }

    private static List<String> names(com.fasterxml.jackson.databind.JsonNode n) {
        List<String> out = new java.util.ArrayList<>();
        n.fieldNames().forEachRemaining(out::add);
        return out;
    }
}
