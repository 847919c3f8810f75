package org.atlas4j.data;

import java.util.Iterator;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.IntFunction;

/**
 * Decodes units of a dataset (a file, or a file's batch of crops) on background threads ahead of a reader that walks
 * the units in order, so decoding overlaps the model's forward pass. Memory is bounded by the window (decoded samples
 * held or in flight), never by the dataset. Out-of-order reads (the viewer picking examples) decode just the unit asked
 * for and drop what was decoded ahead; a unit's result is the same whichever thread computes it, so order and content
 * do not depend on timing.
 */
final class DecodeAhead implements AutoCloseable {
    private final int units;
    private final IntFunction<Integer> samplesIn;
    private final IntFunction<float[][]> decode;
    private final int windowSamples;
    private final ExecutorService pool;
    /** Scheduled units (ascending), each with its decode. */
    private final TreeMap<Integer, Future<float[][]>> ahead = new TreeMap<>();
    private int lastUnit = -2;
    /** Time the reader spent waiting for decodes (the part of decoding that did not overlap the model). */
    private volatile long waitedNanos;

    /**
     * @param samplesIn samples a unit yields
     * @param decode must not throw for a bad file: it returns placeholder samples and records the failure itself;
     *        anything it does throw reaches the reader of that unit
     * @param windowSamples samples decoded or being decoded ahead of the reader (at least one unit is always allowed)
     * @param threads decoding threads (1–2: the model's forward pass needs the cores)
     */
    DecodeAhead(int units, IntFunction<Integer> samplesIn, IntFunction<float[][]> decode, int windowSamples, int threads) {
        this.units = units;
        this.samplesIn = samplesIn;
        this.decode = decode;
        this.windowSamples = Math.max(1, windowSamples);
        this.pool = Executors.newFixedThreadPool(Math.max(1, threads), r -> {
            Thread t = new Thread(r, "image-decoder");
            t.setDaemon(true);
            return t;
        });
    }

    /** The decoded samples of {@code unit}, waiting for them if needed; schedules the following units when reading in order. */
    float[][] get(int unit) {
        Future<float[][]> f;
        synchronized (this) {
            boolean inOrder = unit == lastUnit || unit == lastUnit + 1 || (lastUnit == -2 && unit == 0);
            // units behind the reader are done with; on a jump, everything scheduled is stale
            for (Iterator<Map.Entry<Integer, Future<float[][]>>> it = ahead.entrySet().iterator(); it.hasNext();) {
                var e = it.next();
                if (e.getKey() == unit) continue;
                if (!inOrder || e.getKey() < unit) {
                    e.getValue().cancel(false);
                    it.remove();
                }
            }
            f = ahead.computeIfAbsent(unit, u -> pool.submit(() -> decode.apply(u)));
            if (inOrder) {
                int held = 0;
                for (int u : ahead.keySet()) held += samplesIn.apply(u);
                for (int u = unit + 1; u < units && held < windowSamples; u++) {
                    if (ahead.containsKey(u)) continue;
                    int n = samplesIn.apply(u);
                    if (held + n > windowSamples) break;
                    held += n;
                    final int k = u;
                    ahead.put(u, pool.submit(() -> decode.apply(k)));
                }
            }
            lastUnit = unit;
        }
        long t0 = System.nanoTime();
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while decoding images", e);
        } catch (ExecutionException e) {
            throw new IllegalStateException("decoding failed: " + e.getCause(), e.getCause());
        } finally {
            waitedNanos += System.nanoTime() - t0;
        }
    }

    /** Seconds the reader waited for decodes so far. */
    double waitedSeconds() {
        return waitedNanos / 1e9;
    }

    /** Units scheduled or held (for tests of the bound). */
    synchronized int scheduledSamples() {
        int held = 0;
        for (int u : ahead.keySet()) held += samplesIn.apply(u);
        return held;
    }

    @Override
    public void close() {
        pool.shutdownNow();
    }
}
