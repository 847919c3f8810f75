package org.atlas4j.util;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A test hook for the kill -9 resume test: with {@code -Datlas4j.test.killAt=<point>@<path suffix>[#k]} the process
 * stops at the k-th time it reaches that point on a path ending so, writes the file {@code atlas4j.test.killMarker}
 * and waits to be killed. Points: {@code write} (an atomic write's data is on disk, not yet renamed onto the target),
 * {@code collect.batch} and {@code render.batch} (a batch finished). Without the property it costs one field read.
 */
public final class KillPoint {
    private static final String SPEC = System.getProperty("atlas4j.test.killAt");
    private static final AtomicInteger SEEN = new AtomicInteger();

    private KillPoint() {
    }

    public static void reached(String point, Path path) {
        if (SPEC == null) return;
        int hash = SPEC.lastIndexOf('#');
        String where = hash < 0 ? SPEC : SPEC.substring(0, hash);
        int k = hash < 0 ? 1 : Integer.parseInt(SPEC.substring(hash + 1));
        int at = where.indexOf('@');
        if (!point.equals(where.substring(0, at)) || !path.toAbsolutePath().normalize().endsWith(where.substring(at + 1))) {
            return;
        }
        if (SEEN.incrementAndGet() != k) return;
        try {
            Files.writeString(Path.of(System.getProperty("atlas4j.test.killMarker")), point + " " + path);
            while (true) Thread.sleep(60_000); // the test kills this process with SIGKILL
        } catch (Exception e) {
            throw new IllegalStateException("kill point " + SPEC + ": " + e, e);
        }
    }
}
