package org.atlas4j.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@org.atlas4j.UnitTest
class JsonTest {
    record Cell(int row, int col, double density) {
    }

    record Meta(String model, List<Cell> cells, Map<String, Integer> counts, float[] scale) {
    }

    @TempDir
    Path dir;

    @Test
    void recordRoundTripIndented() throws IOException {
        Meta m = new Meta("lenet", List.of(new Cell(1, 2, 0.5), new Cell(3, 4, 1e-3)), Map.of("a", 1),
                new float[] {1.5f, -2f});
        Path f = dir.resolve("sub/meta.json");
        Json.write(f, m);
        String text = Files.readString(f);
        assertTrue(text.contains("\n  \"model\" : \"lenet\""), text);
        assertTrue(text.endsWith("\n"));
        Meta back = Json.read(f, Meta.class);
        assertEquals(m.model(), back.model());
        assertEquals(m.cells(), back.cells());
        assertEquals(m.counts(), back.counts());
        assertEquals(-2f, back.scale()[1]);
    }

    @Test
    void unknownPropertiesIgnored() throws IOException {
        Path f = dir.resolve("c.json");
        Files.writeString(f, "{\"row\": 1, \"col\": 2, \"density\": 3.0, \"addedLater\": [1, 2]}");
        assertEquals(new Cell(1, 2, 3.0), Json.read(f, Cell.class));
    }

    @Test
    void malformedJsonNamesFile() throws IOException {
        Path f = dir.resolve("bad.json");
        Files.writeString(f, "{\"row\": 1,\n \"col\": }");
        DataFormatException e = assertThrows(DataFormatException.class, () -> Json.read(f, Cell.class));
        assertTrue(e.getMessage().contains(f.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("line 2"), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
    }

    @Test
    void wrongTypeAndEmptyAndMissing() throws IOException {
        Path f = dir.resolve("wrong.json");
        Files.writeString(f, "{\"row\": \"not a number\"}");
        DataFormatException e = assertThrows(DataFormatException.class, () -> Json.read(f, Cell.class));
        assertTrue(e.getMessage().contains("wrong.json"), e.getMessage());

        Path empty = dir.resolve("empty.json");
        Files.writeString(empty, "");
        assertThrows(DataFormatException.class, () -> Json.read(empty, Cell.class));

        Path missing = dir.resolve("missing.json");
        e = assertThrows(DataFormatException.class, () -> Json.read(missing, Cell.class));
        assertTrue(e.getMessage().contains("missing.json"), e.getMessage());
    }

    @Test
    void unserializableValueFailsWithoutLeavingFiles() throws IOException {
        Path f = dir.resolve("x.json");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Json.write(f, new Object()));
        assertTrue(e.getMessage().contains("x.json"), e.getMessage());
        try (var s = Files.list(dir)) {
            assertEquals(0, s.count());
        }
    }
}
