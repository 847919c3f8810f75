package org.atlas4j.util;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryUsage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Where a process's memory is, once a second, to stderr: resident set and Java heap used / committed. Off by default;
 * {@code -Datlas4j.memoryTrace=true} (or {@code ATLAS_MEMORY_TRACE=1} through the launcher) turns it on. It exists
 * because peak RSS alone does not say whether the heap or native memory (ND4J arrays, libraries, allocator retention)
 * grew in a stage: RSS minus the committed heap is the native part.
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

    /** One trace line: seconds since start, RSS and heap used/committed, in MiB. */
    public static String line(double seconds) {
        MemoryUsage heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage();
        return String.format(Locale.ROOT, "memory %6.1f s: rss %5d MiB, heap %4d/%4d MiB",
                seconds, procStatusBytes("VmRSS:") >> 20, heap.getUsed() >> 20, heap.getCommitted() >> 20);
    }

    /** This process's peak resident set so far (VmHWM), in bytes; -1 where /proc is not there (not Linux). */
    public static long peakRssBytes() {
        return procStatusBytes("VmHWM:");
    }

    /** A kB field of /proc/self/status in bytes, or -1. */
    static long procStatusBytes(String field) {
        try {
            for (String l : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (l.startsWith(field)) return Long.parseLong(l.replaceAll("[^0-9]", "")) * 1024;
            }
        } catch (Exception e) {
            // not Linux
        }
        return -1;
    }
}
