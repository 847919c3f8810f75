package org.atlas4j.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@org.atlas4j.UnitTest
class AtomicFilesTest {
    @TempDir
    Path dir;

    private List<String> names() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().collect(Collectors.toList());
        }
    }

    @Test
    void writesContentAndCreatesParents() throws IOException {
        Path target = dir.resolve("a/b/out.txt");
        AtomicFiles.write(target, out -> out.write("hello".getBytes(StandardCharsets.UTF_8)));
        assertEquals("hello", Files.readString(target));
        assertEquals(List.of("out.txt"), Files.list(target.getParent()).map(p -> p.getFileName().toString()).toList());
    }

    @Test
    void usesHiddenTempFileInSameDirectoryUntilDone() throws IOException {
        Path target = dir.resolve("target.txt");
        AtomicFiles.write(target, out -> {
            out.write('x');
            out.flush();
            List<String> during = names();
            assertEquals(1, during.size(), during.toString());
            assertTrue(during.get(0).matches("\\.target\\.txt\\.[0-9a-f]{16}\\.tmp"), during.get(0));
        });
        assertEquals(List.of("target.txt"), names());
    }

    @Test
    void throwingWriterLeavesNeitherTargetNorTemp() throws IOException {
        Path target = dir.resolve("t.bin");
        UncheckedIOException e = assertThrows(UncheckedIOException.class, () -> AtomicFiles.write(target, out -> {
            out.write(new byte[100_000]);
            throw new IOException("disk on fire");
        }));
        assertEquals("disk on fire", e.getCause().getMessage());
        assertTrue(e.getMessage().contains("t.bin"), e.getMessage());
        assertEquals(List.of(), names());
    }

    @Test
    void runtimeExceptionIsRethrownAsIs() throws IOException {
        IllegalStateException boom = new IllegalStateException("boom");
        IllegalStateException thrown = assertThrows(IllegalStateException.class,
                () -> AtomicFiles.write(dir.resolve("t.bin"), out -> {
                    out.write(1);
                    throw boom;
                }));
        assertSame(boom, thrown);
        assertEquals(List.of(), names());
    }

    @Test
    void existingTargetReplacedOnlyOnSuccess() throws IOException {
        Path target = dir.resolve("keep.txt");
        AtomicFiles.writeString(target, "old");
        assertThrows(UncheckedIOException.class, () -> AtomicFiles.write(target, out -> {
            out.write("new".getBytes(StandardCharsets.UTF_8));
            throw new IOException("fail");
        }));
        assertEquals("old", Files.readString(target));
        assertEquals(List.of("keep.txt"), names());

        AtomicFiles.writeString(target, "new \u00e9");
        assertEquals("new \u00e9", Files.readString(target, StandardCharsets.UTF_8));
        assertEquals(List.of("keep.txt"), names());
    }

    @Test
    void writerMayCloseTheStream() throws IOException {
        Path target = dir.resolve("closed.txt");
        AtomicFiles.write(target, out -> {
            out.write("abc".getBytes(StandardCharsets.UTF_8));
            out.close();
        });
        assertEquals("abc", Files.readString(target));
    }

    @Test
    void writeBytesRoundTrip() throws IOException {
        byte[] data = new byte[300_000];
        for (int i = 0; i < data.length; i++) {
            data[i] = (byte) (i * 31);
        }
        Path target = dir.resolve("b.bin");
        AtomicFiles.writeBytes(target, data);
        assertArrayEquals(data, Files.readAllBytes(target));
        assertFalse(names().stream().anyMatch(n -> n.endsWith(".tmp")));
    }
}
