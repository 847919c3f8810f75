package org.atlas4j.cli;

import java.nio.file.Path;

/** Test helper run in a fresh JVM: locks a run folder as a writing command does, says so, then waits to be killed. */
public final class HoldRunLockInChildJvm {
    private HoldRunLockInChildJvm() {
    }

    public static void main(String[] args) throws Exception {
        try (var lock = org.atlas4j.run.RunLock.acquire(Path.of(args[0]), "atlas run --name held-by-child")) {
            System.out.println("locked");
            System.out.flush();
            Thread.sleep(Long.MAX_VALUE);
        }
    }
}
