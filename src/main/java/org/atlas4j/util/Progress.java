package org.atlas4j.util;

import java.io.PrintStream;
import java.time.Duration;
import java.util.Locale;

import me.tongfei.progressbar.DelegatingProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * A progress bar with rate and ETA for one long stage, ending with a timing line.
 * On a terminal it redraws in place; otherwise (CI, pipes) it prints a line every few seconds.
 */
public final class Progress implements AutoCloseable {
    private static volatile boolean quiet = Boolean.getBoolean("atlas4j.quiet");
    private static final PrintStream OUT = System.err;

    private final String task;
    private final String unit;
    private final long start = System.nanoTime();
    private final ProgressBar bar;
    private long done;

    private Progress(String task, long total, String unit) {
        this.task = task;
        this.unit = unit;
        if (quiet) {
            bar = null;
            return;
        }
        ProgressBarBuilder b = new ProgressBarBuilder()
                .setTaskName(task)
                .setInitialMax(total)
                .setUnit(" " + unit, 1)
                .showSpeed()
                .setStyle(ProgressBarStyle.ASCII)
                .setMaxRenderedLength(100);
        if (System.console() == null) {
            b.setConsumer(new DelegatingProgressBarConsumer(OUT::println)).setUpdateIntervalMillis(5000);
        } else {
            b.setUpdateIntervalMillis(250);
        }
        bar = b.build();
    }

    public static Progress start(String task, long total, String unit) {
        return new Progress(task, total, unit);
    }

    /** Silences bars and timing lines (tests). */
    public static void setQuiet(boolean q) {
        quiet = q;
    }

    public synchronized void step(long n) {
        done += n;
        if (bar != null) bar.stepBy(n);
    }

    public void extra(String message) {
        if (bar != null) bar.setExtraMessage(message);
    }

    public double seconds() {
        return (System.nanoTime() - start) / 1e9;
    }

    @Override
    public void close() {
        if (bar != null) {
            bar.close();
            double s = seconds();
            OUT.println(String.format(Locale.ROOT, "%s: %,d %s in %s (%,.1f %s/s)", task, done, unit,
                    format(s), done / Math.max(s, 1e-9), unit));
        }
    }

    public static void info(String message) {
        if (!quiet) OUT.println(message);
    }

    public static String format(double seconds) {
        if (seconds < 60) return String.format(Locale.ROOT, "%.1f s", seconds);
        Duration d = Duration.ofMillis((long) (seconds * 1000));
        return String.format(Locale.ROOT, "%dm%02ds", d.toMinutes(), d.toSecondsPart());
    }
}
