package org.atlas4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import org.atlas4j.run.RunLock;
import org.atlas4j.util.Progress;
import org.atlas4j.util.UserError;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One writer per run folder: a second writing command (another process, or another command in this JVM) is refused
 * with one line naming the holder and exit code 2; a lock left by a process killed with SIGKILL is taken over.
 */
@org.atlas4j.IntegrationTest
class RunLockTest {
    @TempDir
    Path out;
    private Process child;

    @BeforeAll
    static void quiet() {
        Progress.setQuiet(true);
    }

    @AfterEach
    void killChild() throws Exception {
        if (child != null && child.isAlive()) {
            child.destroyForcibly();
            child.waitFor(30, TimeUnit.SECONDS);
        }
    }

    /** A child JVM that holds the lock of {@code dir} until killed; returns once it says it holds it. */
    private Process holder(Path dir) throws Exception {
        String java = ProcessHandle.current().info().command().orElse("java");
        child = new ProcessBuilder(java, "-Xmx64m", "-cp", System.getProperty("java.class.path"),
                HoldRunLockInChildJvm.class.getName(), dir.toString()).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        var in = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
        assertEquals("locked", in.readLine(), "the child JVM did not take the lock");
        return child;
    }

    @Test
    void aSecondWriterInAnotherProcessIsRefusedWithTheHoldersPidCommandAndStart() throws Exception {
        Path dir = out.resolve("dup");
        Process p = holder(dir);
        // every writing command takes the lock before any work: grid would otherwise fail on the missing reduce stage
        for (String[] args : new String[][] {{"grid", "--output", out.toString(), "--name", "dup"},
                {"fidelity", dir.toString()}, {"viewer", dir.toString()}}) {
            if (!args[0].equals("grid")) writeProvenance(dir);
            var o = CliErrorsTest.atlas(args);
            assertEquals(2, o.exit(), String.join(" ", args) + ": stderr:\n" + o.err());
            String[] lines = o.err().strip().split("\n");
            assertEquals(1, lines.length, "one line, got:\n" + o.err());
            assertTrue(lines[0].startsWith("error: run folder "), lines[0]);
            assertTrue(lines[0].contains("is in use by pid " + p.pid() + " (atlas run --name held-by-child), started 20"),
                    lines[0]);
        }
    }

    @Test
    void aLockLeftByAKilledProcessIsTakenOver() throws Exception {
        Path dir = out.resolve("stale");
        Process p = holder(dir);
        long dead = p.pid();
        p.destroyForcibly(); // SIGKILL: no finally, no shutdown hook; the lock file still names the dead pid
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertTrue(Files.readString(dir.resolve(RunLock.FILE)).contains("\"pid\":" + dead)
                || Files.readString(dir.resolve(RunLock.FILE)).contains("\"pid\" : " + dead), "the killed holder's record is gone");
        try (var lock = RunLock.acquire(dir, "atlas run --name taker")) {
            String record = Files.readString(dir.resolve(RunLock.FILE));
            assertTrue(record.contains(Long.toString(ProcessHandle.current().pid())), record);
            assertTrue(record.contains("atlas run --name taker"), record);
        }
        assertEquals("", Files.readString(dir.resolve(RunLock.FILE)), "a clean release leaves no holder named");
    }

    @Test
    void aSecondCommandInTheSameJvmIsRefusedAndTheLockIsFreeAfterClose() throws Exception {
        Path dir = out.resolve("same");
        try (var first = RunLock.acquire(dir, "atlas render --name same")) {
            var e = assertThrows(UserError.class, () -> RunLock.acquire(out.resolve("x/../same"), "atlas stitch"));
            assertTrue(e.getMessage().contains("pid " + ProcessHandle.current().pid() + " (atlas render --name same)"),
                    e.getMessage());
            var o = CliErrorsTest.atlas("stitch", "--output", out.toString(), "--name", "same");
            assertEquals(2, o.exit(), o.err());
            assertFalse(o.err().contains("\tat "), o.err());
        }
        try (var again = RunLock.acquire(dir, "atlas stitch")) {
            assertEquals(dir.toAbsolutePath().normalize(), again.dir());
        }
    }

    @Test
    void takingTheLockRemovesTheTemporaryFilesOfAKilledWriterOnly() throws Exception {
        Path dir = out.resolve("temps");
        Path tmp = dir.resolve("render/tiles/.cell-0003.png.0123456789abcdef.tmp");
        Path samples = dir.resolve("collect/.samples.csv.tmp");
        Path kept = dir.resolve("render/tiles/cell-0003.png");
        for (Path p : new Path[] {tmp, samples, kept}) {
            Files.createDirectories(p.getParent());
            Files.writeString(p, "x");
        }
        try (var lock = RunLock.acquire(dir, "atlas run --name temps")) {
            assertFalse(Files.exists(tmp), "a dead writer's temp tile survived");
            assertFalse(Files.exists(samples), "a dead writer's samples.csv temp survived");
            assertTrue(Files.exists(kept), "a finished tile was deleted");
        }
    }

    @Test
    void readOnlyCommandsDoNotTakeTheLock() throws Exception {
        Path dir = out.resolve("ro");
        holder(dir);
        Files.writeString(dir.resolve("index.html"), "<html></html>");
        try (var s = new org.atlas4j.viewer.RunServer(dir, 0)) { // serve reads while a writer holds the folder
            assertTrue(s.port() > 0);
        }
    }

    /** Enough of a run folder for fidelity and viewer to open it (they lock before reading anything else). */
    private static void writeProvenance(Path dir) throws Exception {
        var cfg = new org.atlas4j.run.RunConfig();
        org.atlas4j.io.Json.write(dir.resolve(org.atlas4j.run.AtlasRun.PROVENANCE), java.util.Map.of("config", cfg));
    }
}
