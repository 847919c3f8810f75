package org.atlas4j.util;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryUsage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

import org.bytedeco.javacpp.Pointer;

/**
 * Where a process's memory is, once a second, to stderr: resident set, Java heap used / committed, and the off-heap
 * bytes JavaCPP tracks (ND4J arrays). Off by default; {@code -Datlas4j.memoryTrace=true} (or {@code ATLAS_MEMORY_TRACE=1}
 * through the launcher) turns it on. It exists because peak RSS alone does not say which of heap, ND4J arrays or
 * untracked native memory (libraries, allocator retention) a stage grew.
 */
public final class MemoryTrace {
    private MemoryTrace() {
    }

    /** Starts the trace on a daemon thread if the property asks for it. */
    public static void startIfRequested() {
        String on = System.getProperty("atlas4j.memoryTrace", "false").trim();
        if (!(on.equalsIgnoreCase("true") || on.equals("1"))) return;
        Thread t = new Thread(() -> {
            long t0 = System.nanoTime();
            while (true) {
                System.err.println(line((System.nanoTime() - t0) / 1e9));
                try {
                    Thread.sleep(1000);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "atlas4j-memory-trace");
        t.setDaemon(true);
        t.start();
    }

    /** One trace line: seconds since start, RSS, heap used/committed and JavaCPP's tracked bytes, in MiB. */
    public static String line(double seconds) {
        MemoryUsage heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage();
        return String.format(Locale.ROOT, "memory %6.1f s: rss %5d MiB, heap %4d/%4d MiB, javacpp %5d MiB",
                seconds, rssBytes() >> 20, heap.getUsed() >> 20, heap.getCommitted() >> 20, Pointer.totalBytes() >> 20);
    }

    /** Resident set size from /proc (Linux), else JavaCPP's own reading. */
    static long rssBytes() {
        try {
            for (String l : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (l.startsWith("VmRSS:")) return Long.parseLong(l.replaceAll("[^0-9]", "")) * 1024;
            }
        } catch (Exception e) {
            // not Linux: fall through
        }
        return Pointer.physicalBytes();
    }
}
