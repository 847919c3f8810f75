package org.atlas4j.cli;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The side-by-side table of {@code bench --vs-peers --model}: per stage the rates of atlas4j and the peer over
 * alternating rounds, their medians and the ratio of medians (above 1: atlas4j is faster). Pure arithmetic and
 * formatting, so it is tested without timing anything.
 */
final class PeerTable {
    /** One stage: rates (higher is better) of each round, ours and the peer's, in the same unit. */
    record Row(String stage, String unit, List<Double> ours, List<Double> peer) {
        Row {
            ours = List.copyOf(ours);
            peer = List.copyOf(peer);
        }

        double oursMedian() {
            return median(ours);
        }

        double peerMedian() {
            return median(peer);
        }

        /** atlas4j ÷ peer of the medians: 2 means atlas4j does twice the work per second; NaN without both sides. */
        double ratio() {
            double p = peerMedian();
            return ours.isEmpty() || peer.isEmpty() || p == 0 ? Double.NaN : oursMedian() / p;
        }
    }

    private final String title;
    private final List<Row> rows = new ArrayList<>();

    PeerTable(String title) {
        this.title = title;
    }

    void add(Row r) {
        rows.add(r);
    }

    List<Row> rows() {
        return List.copyOf(rows);
    }

    /** The median (mean of the two middle values for an even count); NaN for none. */
    static double median(List<Double> v) {
        if (v.isEmpty()) return Double.NaN;
        double[] a = v.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        int n = a.length;
        return n % 2 == 1 ? a[n / 2] : (a[n / 2 - 1] + a[n / 2]) / 2;
    }

    /** "faster"/"slower"/"even" in words, so the table reads without knowing which way the ratio goes. */
    static String verdict(double ratio) {
        if (Double.isNaN(ratio)) return "n/a";
        if (ratio >= 1.05) return String.format(Locale.ROOT, "atlas4j %.2f× faster", ratio);
        if (ratio <= 1 / 1.05) return String.format(Locale.ROOT, "atlas4j %.2f× slower", 1 / ratio);
        return "even";
    }

    String format() {
        StringBuilder t = new StringBuilder(title).append('\n');
        t.append(String.format(Locale.ROOT, "%-58s %16s %16s %8s  %s%n", "stage (rate, median of rounds)", "atlas4j",
                "PyTorch", "ratio", ""));
        for (Row r : rows) {
            t.append(String.format(Locale.ROOT, "%-58s %16s %16s %8s  %s%n", r.stage() + ", " + r.unit(), rate(r.oursMedian()),
                    rate(r.peerMedian()), Double.isNaN(r.ratio()) ? "n/a" : String.format(Locale.ROOT, "%.2f", r.ratio()),
                    verdict(r.ratio())));
        }
        return t.toString();
    }

    private static String rate(double v) {
        if (Double.isNaN(v)) return "n/a";
        return String.format(Locale.ROOT, v >= 100 ? "%,.0f" : v >= 10 ? "%.1f" : "%.2f", v);
    }

    /** The JSON form: per stage the unit, every round of both sides, the medians and the ratio. */
    Map<String, Object> toJson() {
        Map<String, Object> out = new LinkedHashMap<>();
        for (Row r : rows) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("unit", r.unit());
            m.put("atlas4j", r.ours());
            m.put("pytorch", r.peer());
            m.put("atlas4jMedian", finite(r.oursMedian()));
            m.put("pytorchMedian", finite(r.peerMedian()));
            m.put("ratio", finite(r.ratio()));
            out.put(r.stage(), m);
        }
        return out;
    }

    private static Object finite(double v) {
        return Double.isFinite(v) ? v : null;
    }
}
