package org.atlas4j.collect;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.atlas4j.io.DataFormatException;

/** The per-sample metadata collect writes to samples.csv (index,label,predicted,probability,y,x). */
public record SampleTable(int[] index, int[] labels, int[] predicted, float[] probability, int[] y, int[] x) {

    public int size() {
        return index.length;
    }

    public int maxLabel() {
        int m = -1;
        for (int l : labels) m = Math.max(m, l);
        return m;
    }

    public static SampleTable read(Path file) {
        try (BufferedReader r = Files.newBufferedReader(file)) {
            String header = r.readLine();
            if (header == null || !header.startsWith("index,label,predicted")) {
                throw new DataFormatException(file + ": not a samples.csv written by collect (header: " + header + ")");
            }
            var lines = r.lines().toList();
            int n = lines.size();
            int[] idx = new int[n];
            int[] lab = new int[n];
            int[] pred = new int[n];
            float[] prob = new float[n];
            int[] ys = new int[n];
            int[] xs = new int[n];
            for (int i = 0; i < n; i++) {
                String[] f = lines.get(i).split(",");
                idx[i] = Integer.parseInt(f[0]);
                lab[i] = Integer.parseInt(f[1]);
                pred[i] = Integer.parseInt(f[2]);
                prob[i] = Float.parseFloat(f[3]);
                ys[i] = Integer.parseInt(f[4]);
                xs[i] = Integer.parseInt(f[5]);
            }
            return new SampleTable(idx, lab, pred, prob, ys, xs);
        } catch (IOException | RuntimeException e) {
            if (e instanceof DataFormatException d) throw d;
            throw new DataFormatException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }
}
