package org.atlas4j.run;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import org.atlas4j.io.Json;
import org.atlas4j.util.Progress;
import org.atlas4j.util.UserError;

/**
 * One writer per run folder: an OS file lock on {@code <run>/.lock} held for the life of a command that writes
 * there. The OS drops the lock when its process dies (even by {@code kill -9}), so a lock left by a dead process is
 * simply free; the file's JSON (pid, command, start, host) only names the holder in the refusal. The file is emptied,
 * not deleted, on release: deleting it would let a waiter lock the orphaned inode while a third process locks a new file.
 */
public final class RunLock implements AutoCloseable {
    public static final String FILE = ".lock";
    /** Folders locked by this JVM: the OS lock is per process, so a second command in one JVM is refused here. */
    private static final Set<Path> HELD = ConcurrentHashMap.newKeySet();

    private final Path dir;
    private final FileChannel channel;
    private final FileLock lock;

    private RunLock(Path dir, FileChannel channel, FileLock lock) {
        this.dir = dir;
        this.channel = channel;
        this.lock = lock;
    }

    /**
     * Locks {@code runDir} (created if absent) for {@code command}, or throws a one-line {@link UserError} naming the
     * holder (exit 2 at the CLI).
     */
    public static RunLock acquire(Path runDir, String command) {
        Path dir = runDir.toAbsolutePath().normalize();
        Path file = dir.resolve(FILE);
        FileChannel ch = null;
        try {
            Files.createDirectories(dir);
            if (!HELD.add(dir)) throw busy(dir, file);
            ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
            FileLock l = ch.tryLock();
            if (l == null) {
                ch.close();
                HELD.remove(dir);
                throw busy(dir, file);
            }
            String previous = read(ch);
            if (!previous.isBlank()) {
                // the OS released the lock, so its holder died without cleaning up (kill -9, power loss)
                Progress.info("run folder " + dir + ": taking over the lock of a process that is gone (" + describe(previous) + ")");
            }
            Map<String, Object> me = new LinkedHashMap<>();
            me.put("pid", ProcessHandle.current().pid());
            me.put("command", command);
            me.put("started", Instant.now().toString());
            me.put("host", host());
            byte[] json = Json.MAPPER.writeValueAsBytes(me);
            ch.truncate(0);
            ch.write(ByteBuffer.wrap(json), 0);
            ch.force(false);
            sweepTemps(dir);
            return new RunLock(dir, ch, l);
        } catch (IOException e) {
            HELD.remove(dir);
            closeQuietly(ch);
            throw new UserError("cannot lock run folder " + dir + " (" + e.getMessage() + "); check that it is writable");
        } catch (RuntimeException e) {
            if (!(e instanceof UserError)) HELD.remove(dir);
            closeQuietly(ch);
            throw e;
        }
    }

    /**
     * Deletes the {@code .<name>.tmp} files a killed writer left (atomic writes not yet renamed into place): holding
     * the lock, no live writer owns one, and a resumed run then ends with exactly the files of an uninterrupted one.
     */
    static int sweepTemps(Path dir) throws IOException {
        int n = 0;
        try (var walk = Files.walk(dir)) {
            for (Path p : walk.filter(p -> {
                String f = p.getFileName().toString();
                return f.startsWith(".") && f.endsWith(".tmp") && Files.isRegularFile(p);
            }).toList()) {
                Files.deleteIfExists(p);
                n++;
            }
        }
        if (n > 0) Progress.info("run folder " + dir + ": removed " + n + " temporary file(s) left by an interrupted command");
        return n;
    }

    private static UserError busy(Path dir, Path file) {
        String holder = "";
        try {
            // the holder writes its details just after locking: a brief wait covers a refusal in between
            for (int i = 0; i < 20 && holder.isBlank(); i++) {
                holder = Files.exists(file) ? Files.readString(file) : "";
                if (holder.isBlank()) Thread.sleep(25);
            }
        } catch (IOException | InterruptedException e) {
            holder = "";
        }
        return new UserError("run folder " + dir + " is in use by " + (holder.isBlank() ? "another process" : describe(holder))
                + "; wait for it to finish or stop it, or use another --name");
    }

    /** "pid 123 (atlas run --name x), started 2026-...Z on host" from the lock file's JSON. */
    static String describe(String json) {
        try {
            var n = Json.MAPPER.readTree(json);
            return "pid " + n.path("pid").asText("?") + " (" + n.path("command").asText("?") + "), started "
                    + n.path("started").asText("?") + " on " + n.path("host").asText("?");
        } catch (IOException e) {
            return "a process whose lock file is unreadable";
        }
    }

    private static String read(FileChannel ch) throws IOException {
        long size = Math.min(ch.size(), 64 * 1024);
        ByteBuffer b = ByteBuffer.allocate((int) size);
        while (b.hasRemaining() && ch.read(b, b.position()) > 0) {
            // read until full
        }
        return new String(b.array(), 0, b.position(), StandardCharsets.UTF_8);
    }

    private static String host() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return "unknown host";
        }
    }

    private static void closeQuietly(FileChannel ch) {
        if (ch == null) return;
        try {
            ch.close();
        } catch (IOException e) {
            // nothing to release that the OS will not
        }
    }

    public Path dir() {
        return dir;
    }

    @Override
    public void close() {
        try {
            channel.truncate(0); // released cleanly: no holder to name, no takeover message for the next command
            lock.release();
        } catch (IOException e) {
            // the process exit releases it anyway
        } finally {
            closeQuietly(channel);
            HELD.remove(dir);
        }
    }
}
