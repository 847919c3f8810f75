package org.atlas4j.reduce;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.atlas4j.util.Progress;

/**
 * UMAP's SGD epochs on several threads, reproducible given the seed and the thread count. umap-learn's parallel mode
 * (numba prange over edges, Hogwild: unsynchronized writes) is fast but gives a different layout on every run; this is
 * the same per-edge arithmetic as {@link UmapLayout#optimize} with one change of schedule, so races cannot happen:
 *
 * <ul>
 * <li>Ownership: edges are sorted by head, so thread t gets a contiguous run of edges and owns their head points (a
 * contiguous point range, cut where the edge counts balance).</li>
 * <li>Each epoch runs in {@value #STEPS} steps. In a step a thread walks the next share of its edges in order, exactly
 * like the sequential loop, reading and writing its own points live; points owned by another thread are read from a
 * snapshot taken at the start of the step, and its attractive moves of such a tail go to its outbox instead.</li>
 * <li>At the end of a step, each thread adds the outboxes' moves of its own points in thread order then record order,
 * and refreshes its part of the snapshot.</li>
 * <li>Negative samples come from one {@link SplittableRandom} stream per thread, split from the seeded generator in
 * thread order.</li>
 * </ul>
 * A thread's work thus depends only on the state at the step's start, its own stream and its own earlier moves, and
 * the merge order is fixed: the same seed and thread count give the same bytes. Other thread counts give a different
 * (equally valid) layout; one thread is the sequential loop itself. A foreign point is at most one step (1/{@value
 * #STEPS} epoch) stale, the same order of staleness Hogwild has under load, and only for the attractive pull.
 */
final class ParallelSgd {
    /**
     * Synchronization steps per epoch. Each is a barrier, which on an oversubscribed machine waits for a descheduled
     * thread: at 100,000 × 512, 8 steps took 79 s for 200 epochs (load 4–6), 2 steps 29.5 s (load ~2), with the
     * same trustworthiness as umap-learn's (0.9945 both).
     */
    static final int STEPS = 2;

    private ParallelSgd() {
    }

    static void optimize(double[] y, int dims, int n, int[] head, int[] tail, double[] eps, double a, double b,
            UmapLayout.Options o, SplittableRandom rng, Progress bar) {
        int m = head.length;
        int threads = o.threads();
        double[] epsNeg = new double[m];
        double[] nextSample = new double[m];
        double[] nextNeg = new double[m];
        for (int i = 0; i < m; i++) {
            epsNeg[i] = eps[i] / o.negativeSamples();
            nextSample[i] = eps[i];
            nextNeg[i] = epsNeg[i];
        }
        // edge runs and point ranges: cut at a head boundary near every m·t/threads
        int[] edgeFrom = new int[threads + 1];
        int[] pointFrom = new int[threads + 1];
        edgeFrom[threads] = m;
        pointFrom[threads] = n;
        for (int t = 1; t < threads; t++) {
            int e = (int) ((long) m * t / threads);
            int p = e < m ? head[e] : n;
            p = Math.max(p, pointFrom[t - 1]);
            while (e > 0 && e < m && head[e - 1] >= p) e--;
            while (e < m && head[e] < p) e++;
            edgeFrom[t] = e;
            pointFrom[t] = p;
        }
        SplittableRandom[] streams = new SplittableRandom[threads];
        for (int t = 0; t < threads; t++) streams[t] = rng.split();
        double[] snap = y.clone();
        Outbox[] out = new Outbox[threads];
        for (int t = 0; t < threads; t++) out[t] = new Outbox(dims);
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            for (int epoch = 0; epoch < o.epochs(); epoch++) {
                double alpha = o.learningRate() * (1 - epoch / (double) o.epochs());
                for (int step = 0; step < STEPS; step++) {
                    int ep = epoch, st = step;
                    List<Callable<Void>> work = new ArrayList<>();
                    for (int t = 0; t < threads; t++) {
                        int len = edgeFrom[t + 1] - edgeFrom[t];
                        int from = edgeFrom[t] + (int) ((long) len * st / STEPS);
                        int to = edgeFrom[t] + (int) ((long) len * (st + 1) / STEPS);
                        Lane lane = new Lane(y, snap, dims, n, pointFrom[t], pointFrom[t + 1], out[t], streams[t]);
                        work.add(() -> {
                            lane.out.size = 0;
                            lane.edges(from, to, ep, alpha, head, tail, eps, epsNeg, nextSample, nextNeg, a, b, o.repulsion());
                            return null;
                        });
                    }
                    run(pool, work);
                    List<Callable<Void>> merge = new ArrayList<>();
                    for (int t = 0; t < threads; t++) {
                        int lo = pointFrom[t], hi = pointFrom[t + 1];
                        merge.add(() -> {
                            for (Outbox box : out) {
                                for (int r = 0; r < box.size; r++) {
                                    int p = box.point[r];
                                    if (p < lo || p >= hi) continue;
                                    for (int c = 0; c < dims; c++) y[p * dims + c] += box.move[r * dims + c];
                                }
                            }
                            System.arraycopy(y, lo * dims, snap, lo * dims, (hi - lo) * dims);
                            return null;
                        });
                    }
                    run(pool, merge);
                }
                if (bar != null) bar.step(1);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    /** One thread's view in a step: its own points [lo, hi) live in y, every other point from the snapshot. */
    private record Lane(double[] y, double[] snap, int dims, int n, int lo, int hi, Outbox out, SplittableRandom rng) {
        double at(int p, int c) {
            return p >= lo && p < hi ? y[p * dims + c] : snap[p * dims + c];
        }

        /** UmapLayout.optimize's inner loop over edges [from, to) of one epoch; heads are always our own points. */
        void edges(int from, int to, int epoch, double alpha, int[] head, int[] tail, double[] eps, double[] epsNeg,
                double[] nextSample, double[] nextNeg, double a, double b, double gamma) {
            double[] move = new double[dims];
            for (int i = from; i < to; i++) {
                if (nextSample[i] > epoch) continue;
                int hp = head[i], tp = tail[i];
                int j = hp * dims;
                boolean ownTail = tp >= lo && tp < hi;
                double d2 = 0;
                for (int c = 0; c < dims; c++) {
                    double t = y[j + c] - at(tp, c);
                    d2 += t * t;
                }
                if (d2 > 0) {
                    double pb = Math.pow(d2, b);
                    double coeff = -2 * a * b * (pb / d2) / (a * pb + 1);
                    for (int c = 0; c < dims; c++) {
                        double g = clip(coeff * (y[j + c] - at(tp, c)));
                        y[j + c] += g * alpha;
                        if (ownTail) y[tp * dims + c] -= g * alpha;
                        else move[c] = -g * alpha;
                    }
                    if (!ownTail) out.add(tp, move);
                }
                nextSample[i] += eps[i];
                int negatives = (int) ((epoch - nextNeg[i]) / epsNeg[i]);
                for (int p = 0; p < negatives; p++) {
                    int r = rng.nextInt(n);
                    double e2 = 0;
                    for (int c = 0; c < dims; c++) {
                        double t = y[j + c] - at(r, c);
                        e2 += t * t;
                    }
                    if (e2 > 0) {
                        double coeff = 2 * gamma * b / ((0.001 + e2) * (a * Math.pow(e2, b) + 1));
                        for (int c = 0; c < dims; c++) y[j + c] += clip(coeff * (y[j + c] - at(r, c))) * alpha;
                    } else if (r != hp) {
                        for (int c = 0; c < dims; c++) y[j + c] += 4 * alpha; // coincident: umap-learn's fixed push
                    }
                }
                nextNeg[i] += negatives * epsNeg[i];
            }
        }
    }

    /** Moves of other threads' points, in the order they were made. */
    private static final class Outbox {
        final int dims;
        int[] point = new int[1024];
        double[] move;
        int size;

        Outbox(int dims) {
            this.dims = dims;
            move = new double[1024 * dims];
        }

        void add(int p, double[] mv) {
            if (size == point.length) {
                point = Arrays.copyOf(point, 2 * size);
                move = Arrays.copyOf(move, 2 * size * dims);
            }
            point[size] = p;
            System.arraycopy(mv, 0, move, size * dims, dims);
            size++;
        }
    }

    private static double clip(double v) {
        return v > 4 ? 4 : (v < -4 ? -4 : v);
    }

    private static void run(ExecutorService pool, List<Callable<Void>> jobs) {
        try {
            for (Future<Void> f : pool.invokeAll(jobs)) f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) throw r;
            throw new IllegalStateException(e.getCause());
        }
    }
}
