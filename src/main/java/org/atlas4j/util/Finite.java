package org.atlas4j.util;

import java.nio.FloatBuffer;
import java.util.Locale;
import java.util.function.IntFunction;

/**
 * Keeps NaN and ±Infinity out of what the pipeline writes (activations, layouts, cell vectors, icons, attribution
 * maps): a value that is not finite is refused with the sample, cell or image it came from, before the file exists.
 * One pass over the buffer the caller already holds; no copies.
 */
public final class Finite {
    /** What usually makes a network's outputs non-finite, and what to do about it. */
    public static final String MODEL_CAUSE = "likely cause: a NaN or infinite weight in the model, or an input that "
            + "overflows a layer (check the model file and its pixelScaling; atlas layers --model M loads and checks the "
            + "weights), then run again";

    private Finite() {
    }

    /** A value about to be written is NaN or infinite: a user-facing error (exit 2) that names where it came from. */
    public static final class NonFiniteException extends UserError {
        public NonFiniteException(String message) {
            super(message);
        }
    }

    /** Index of the first non-finite value among {@code values[from, from + n)}, or -1. */
    public static int firstNonFinite(float[] values, int from, int n) {
        for (int i = from, end = from + n; i < end; i++) {
            if (!Float.isFinite(values[i])) return i;
        }
        return -1;
    }

    /** How many of {@code values[from, from + n)} are NaN or infinite. */
    public static int countNonFinite(float[] values, int from, int n) {
        int c = 0;
        for (int i = from, end = from + n; i < end; i++) {
            if (!Float.isFinite(values[i])) c++;
        }
        return c;
    }

    /** How many of the buffer's remaining values are NaN or infinite (position unchanged). */
    public static long countNonFinite(FloatBuffer values) {
        long c = 0;
        for (int i = values.position(), end = values.limit(); i < end; i++) {
            if (!Float.isFinite(values.get(i))) c++;
        }
        return c;
    }

    /**
     * Refuses a row-major block of {@code rows × width} values holding NaN or ±Infinity.
     *
     * @param row names row r, e.g. {@code "sample 1234 (boat/x.jpg)"}
     * @param value what one value is, e.g. {@code "activation"} (the message says "activation 17 of sample 1234")
     * @param file the file that is not written
     * @param cause the likely cause and what to do
     */
    public static void requireFinite(float[] block, int rows, int width, IntFunction<String> row, String value, Object file,
            String cause) {
        int n = rows * width;
        int bad = firstNonFinite(block, 0, n);
        if (bad < 0) return;
        int count = countNonFinite(block, bad, n - bad);
        throw new NonFiniteException(String.format(Locale.ROOT, "%s %d of %s is %s%s; refused to write %s. %s", value,
                bad % width, row.apply(bad / width), block[bad], count > 1 ? " (" + count + " non-finite values in this batch)"
                        : "", file, capitalized(cause)));
    }

    /** The same for one item (a cell's icon, an image's map): {@code what} names it. */
    public static void requireFinite(float[] values, int from, int n, String what, Object file, String cause) {
        int bad = firstNonFinite(values, from, n);
        if (bad < 0) return;
        int count = countNonFinite(values, bad, from + n - bad);
        throw new NonFiniteException(String.format(Locale.ROOT, "%s holds %s (%d of %d values not finite, first at %d); "
                + "refused to write %s. %s", what, values[bad], count, n, bad - from, file, capitalized(cause)));
    }

    /** A single number (an objective, a probability) that must be finite. */
    public static void requireFinite(double v, String what, Object file, String cause) {
        if (Double.isFinite(v)) return;
        throw new NonFiniteException(what + " is " + v + "; refused to write " + file + ". " + capitalized(cause));
    }

    private static String capitalized(String s) {
        return s.isEmpty() ? s : Character.toUpperCase(s.charAt(0)) + s.substring(1) + (s.endsWith(".") ? "" : ".");
    }
}
