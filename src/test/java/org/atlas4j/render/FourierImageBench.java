package org.atlas4j.render;

import java.util.Random;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Time per toPixels+backward for 16 icons × 3 channels, separable transform vs the former dense matrix (where it
 * fits). Not part of the suite: {@code mvn -o test -Dtest=FourierImageBench -Dfourier.bench=true}.
 */
@EnabledIfSystemProperty(named = "fourier.bench", matches = "true")
@org.atlas4j.IntegrationTest
class FourierImageBench {
    @Test
    void timePerStep() {
        int rows = 48;
        for (int size : new int[] {28, 64, 128, 224, 299}) {
            FourierImage f = new FourierImage(size, size, true);
            INDArray c = Nd4j.create(FourierImage.initial(rows, f.coefficients(), 0.01, new Random(1)),
                    new long[] {rows, f.coefficients()}, 'c');
            INDArray px = Nd4j.create(DataType.FLOAT, rows, (long) size * size);
            INDArray gc = Nd4j.create(DataType.FLOAT, rows, f.coefficients());
            double sep = time(() -> {
                f.toPixels(c, px);
                f.backward(px, gc);
            });
            String dense = "n/a (dense matrix " + String.format("%.1f GB", 4.0 * size * size * f.coefficients() / 1e9) + ")";
            if (size <= 128) {
                INDArray m = FourierImageTest.denseBasis(size, size);
                dense = String.format("%.1f ms", time(() -> {
                    Nd4j.gemm(c, m, px, false, true, 1.0, 0.0);
                    Nd4j.gemm(px, m, gc, false, false, 1.0, 0.0);
                }));
                m.close();
            }
            System.out.printf("BENCH %d px: separable %.1f ms, dense %s%n", size, sep, dense);
        }
    }

    /** The fastest of 7 runs after a warm-up: the machine is shared, so the minimum is the least disturbed. */
    private static double time(Runnable r) {
        r.run();
        double best = Double.MAX_VALUE;
        for (int i = 0; i < 7; i++) {
            long t0 = System.nanoTime();
            r.run();
            best = Math.min(best, (System.nanoTime() - t0) / 1e6);
        }
        return best;
    }
}
