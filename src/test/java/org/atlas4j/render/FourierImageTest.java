package org.atlas4j.render;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.junit.jupiter.api.Test;

/**
 * The Fourier image parameterization against an independent reference: Lucid's definition
 * pixels = irfft2(scale · spectrum) · sqrt(h·w) / 4 with scale = 1 / max(|f|, 1/max(h,w)), where irfft2 is
 * computed here as a plain 2-D inverse DFT of the Hermitian-completed spectrum.
 */
@org.atlas4j.UnitTest
class FourierImageTest {

    /** numpy.fft.fftfreq: 0, 1, …, ⌊(n−1)/2⌋, −⌊n/2⌋, …, −1 (divided by n). */
    static double fftfreq(int k, int n) {
        return (k <= (n - 1) / 2 ? k : k - n) / (double) n;
    }

    static double scale(int ky, int kx, int h, int w) {
        double f = Math.hypot(fftfreq(ky, h), kx / (double) w);
        return 1.0 / Math.max(f, 1.0 / Math.max(h, w));
    }

    /** Reference pixels (h·w, row-major) of one channel's coefficients (re, im interleaved over h × (w/2+1)). */
    static double[] reference(float[] p, int off, int h, int w) {
        int wf = w / 2 + 1;
        double[][] re = new double[h][w];
        double[][] im = new double[h][w];
        for (int ky = 0; ky < h; ky++) {
            for (int kx = 0; kx < wf; kx++) {
                double s = scale(ky, kx, h, w);
                double a = p[off + 2 * (ky * wf + kx)] * s;
                double b = p[off + 2 * (ky * wf + kx) + 1] * s;
                boolean selfConjugate = kx == 0 || (w % 2 == 0 && kx == w / 2);
                int mky = (h - ky) % h;
                if (selfConjugate) {
                    // this column must satisfy F[−ky] = conj(F[ky]) by itself: average each entry with its twin's conjugate
                    double ta = p[off + 2 * (mky * wf + kx)] * scale(mky, kx, h, w);
                    double tb = p[off + 2 * (mky * wf + kx) + 1] * scale(mky, kx, h, w);
                    re[ky][kx] += (a + ta) / 2;
                    im[ky][kx] += (b - tb) / 2;
                } else {
                    re[ky][kx] += a;
                    im[ky][kx] += b;
                    re[mky][w - kx] += a;
                    im[mky][w - kx] -= b;
                }
            }
        }
        double[] out = new double[h * w];
        double norm = Math.sqrt(h * w) / 4.0 / (h * w);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                double sr = 0;
                double si = 0;
                for (int ky = 0; ky < h; ky++) {
                    for (int kx = 0; kx < w; kx++) {
                        double t = 2 * Math.PI * (ky * y / (double) h + kx * x / (double) w);
                        sr += re[ky][kx] * Math.cos(t) - im[ky][kx] * Math.sin(t);
                        si += re[ky][kx] * Math.sin(t) + im[ky][kx] * Math.cos(t);
                    }
                }
                assertEquals(0, si * norm, 1e-9, "the Hermitian-completed spectrum must give a real image");
                out[y * w + x] = sr * norm;
            }
        }
        return out;
    }

    static float[] pixels(FourierImage f, float[] p, int rows) {
        INDArray c = Nd4j.create(p, new long[] {rows, f.coefficients()}, 'c');
        return f.toPixels(c).castTo(DataType.FLOAT).dup('c').data().asFloat();
    }

    @ParameterizedTest
    @CsvSource({"6,6", "6,5", "5,6", "5,5", "4,7", "1,8"})
    void matchesTheInverseDftOfTheHermitianCompletedSpectrum(int h, int w) {
        FourierImage f = new FourierImage(h, w, true);
        assertEquals(2 * h * (w / 2 + 1), f.coefficients());
        Random r = new Random(h * 31 + w);
        int rows = 2;
        float[] p = new float[rows * f.coefficients()];
        for (int i = 0; i < p.length; i++) p[i] = (float) r.nextGaussian();
        float[] px = pixels(f, p, rows);
        assertEquals(rows * h * w, px.length);
        for (int row = 0; row < rows; row++) {
            double[] ref = reference(p, row * f.coefficients(), h, w);
            double max = 0;
            for (double v : ref) max = Math.max(max, Math.abs(v));
            for (int i = 0; i < h * w; i++) {
                assertEquals(ref[i], px[row * h * w + i], 1e-5 * Math.max(1, max), "row " + row + " pixel " + i);
            }
        }
    }

    @ParameterizedTest
    @CsvSource({"6,6", "6,5", "7,3"})
    void dcCoefficientGivesAConstantImage(int h, int w) {
        FourierImage f = new FourierImage(h, w, true);
        float[] p = new float[f.coefficients()];
        p[0] = 1; // real part of the DC coefficient
        float[] px = pixels(f, p, 1);
        double expected = Math.max(h, w) * Math.sqrt(h * w) / 4.0 / (h * w);
        for (float v : px) assertEquals(expected, v, 1e-6);
        // the imaginary part of DC has no effect (irfft takes the real part)
        p[0] = 0;
        p[1] = 1;
        for (float v : pixels(f, p, 1)) assertEquals(0, v, 1e-7);
    }

    @ParameterizedTest
    @CsvSource({"6,6,1,1", "6,5,2,2", "6,5,5,1", "5,6,0,2", "6,6,3,3"})
    void singleCoefficientGivesTheExpectedCosine(int h, int w, int ky, int kx) {
        FourierImage f = new FourierImage(h, w, true);
        int wf = w / 2 + 1;
        float[] p = new float[f.coefficients()];
        p[2 * (ky * wf + kx)] = 1;
        float[] px = pixels(f, p, 1);
        // irfft semantics: a real coefficient and its conjugate twin (−ky, w−kx) add up to 2·cos θ; in the DC and
        // Nyquist columns the twin is in the same column and irfft keeps only the real part, cos θ (weight 1)
        boolean selfConjugate = kx == 0 || (w % 2 == 0 && kx == w / 2);
        double c = selfConjugate ? 1 : 2;
        double amp = c * scale(ky, kx, h, w) * Math.sqrt(h * w) / 4.0 / (h * w);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                double expected = amp * Math.cos(2 * Math.PI * (ky * y / (double) h + kx * x / (double) w));
                assertEquals(expected, px[y * w + x], 1e-6, "pixel (" + y + "," + x + ")");
            }
        }
    }

    @ParameterizedTest
    @CsvSource({"6,6", "6,5", "9,9"})
    void backwardIsTheAdjointOfToPixels(int h, int w) {
        FourierImage f = new FourierImage(h, w, true);
        Random r = new Random(17);
        int rows = 3;
        float[] p = new float[rows * f.coefficients()];
        float[] g = new float[rows * h * w];
        for (int i = 0; i < p.length; i++) p[i] = (float) r.nextGaussian();
        for (int i = 0; i < g.length; i++) g[i] = (float) r.nextGaussian();
        float[] px = pixels(f, p, rows);
        float[] back = f.backward(Nd4j.create(g, new long[] {rows, (long) h * w}, 'c')).castTo(DataType.FLOAT).dup('c').data().asFloat();
        assertEquals(p.length, back.length);
        double lhs = 0;
        double rhs = 0;
        double scale = 0;
        for (int i = 0; i < g.length; i++) {
            lhs += (double) px[i] * g[i];
            scale += Math.abs((double) px[i] * g[i]);
        }
        for (int i = 0; i < p.length; i++) rhs += (double) p[i] * back[i];
        assertTrue(Math.abs(lhs - rhs) <= 1e-5 * scale, "<M p, g> = " + lhs + " but <p, Mᵀ g> = " + rhs);
    }

    /** The former implementation's dense pixels × coefficients matrix, kept as the reference. */
    static INDArray denseBasis(int height, int width) {
        int wf = width / 2 + 1;
        int coefficients = 2 * height * wf;
        float[] m = new float[height * width * coefficients];
        double norm = Math.sqrt((double) width * height) / (4.0 * width * height);
        for (int ky = 0; ky < height; ky++) {
            double fy = (ky < (height + 1) / 2 ? ky : ky - height) / (double) height;
            for (int kx = 0; kx < wf; kx++) {
                double fx = kx / (double) width;
                double f = Math.sqrt(fy * fy + fx * fx);
                double scale = 1.0 / Math.max(f, 1.0 / Math.max(width, height));
                double c = (kx == 0 || (width % 2 == 0 && kx == width / 2)) ? 1 : 2;
                double amp = c * scale * norm;
                int re = 2 * (ky * wf + kx);
                int im = re + 1;
                for (int y = 0; y < height; y++) {
                    for (int x = 0; x < width; x++) {
                        double theta = 2 * Math.PI * (ky * y / (double) height + kx * x / (double) width);
                        int row = (y * width + x) * coefficients;
                        m[row + re] = (float) (amp * Math.cos(theta));
                        m[row + im] = (float) (-amp * Math.sin(theta));
                    }
                }
            }
        }
        return Nd4j.create(m, new long[] {(long) height * width, coefficients}, 'c');
    }

    static float[] gaussian(int n, Random r) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) r.nextGaussian();
        return v;
    }

    static void assertClose(float[] expected, float[] actual, double relTol, String what) {
        assertEquals(expected.length, actual.length);
        double max = 0;
        for (float v : expected) max = Math.max(max, Math.abs(v));
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], relTol * max, what + " " + i);
        }
    }

    @ParameterizedTest
    @CsvSource({"7,9,true", "9,7,true", "8,8,true", "28,28,true", "1,1,true", "2,3,true", "13,1,true", "1,12,true",
        "7,9,false", "28,28,false", "40,40,true"})
    void bothPathsEqualTheFormerDenseMatrix(int h, int w, boolean separable) {
        FourierImage f = new FourierImage(h, w, separable);
        INDArray dense = denseBasis(h, w);
        Random r = new Random(h * 1000 + w);
        int rows = 5;
        INDArray p = Nd4j.create(gaussian(rows * f.coefficients(), r), new long[] {rows, f.coefficients()}, 'c');
        INDArray g = Nd4j.create(gaussian(rows * h * w, r), new long[] {rows, (long) h * w}, 'c');
        INDArray px = Nd4j.create(DataType.FLOAT, rows, (long) h * w);
        INDArray back = Nd4j.create(DataType.FLOAT, rows, f.coefficients());
        f.toPixels(p, px);
        f.backward(g, back);
        assertClose(p.mmul(dense.transpose()).dup('c').data().asFloat(), px.data().asFloat(), 1e-5, "pixel");
        assertClose(g.mmul(dense).dup('c').data().asFloat(), back.data().asFloat(), 1e-5, "coefficient gradient");
    }

    @ParameterizedTest
    @CsvSource({"224,224", "299,299", "224,299"})
    void backwardIsTheExactAdjointAtNetworkSizes(int h, int w) {
        FourierImage f = new FourierImage(h, w);
        Random r = new Random(h + 7L * w);
        int rows = 2;
        float[] p = gaussian(rows * f.coefficients(), r);
        float[] g = gaussian(rows * h * w, r);
        INDArray px = Nd4j.create(DataType.FLOAT, rows, (long) h * w);
        INDArray back = Nd4j.create(DataType.FLOAT, rows, f.coefficients());
        f.toPixels(Nd4j.create(p, new long[] {rows, f.coefficients()}, 'c'), px);
        f.backward(Nd4j.create(g, new long[] {rows, (long) h * w}, 'c'), back);
        float[] mp = px.data().asFloat();
        float[] mtg = back.data().asFloat();
        double lhs = 0;
        double rhs = 0;
        double scale = 0;
        for (int i = 0; i < g.length; i++) {
            lhs += (double) mp[i] * g[i];
            scale += Math.abs((double) mp[i] * g[i]);
        }
        for (int i = 0; i < p.length; i++) rhs += (double) p[i] * mtg[i];
        assertTrue(Math.abs(lhs - rhs) <= 1e-5 * scale, "<M p, g> = " + lhs + " but <p, Mᵀ g> = " + rhs);
        // and a single coefficient still gives the analytic cosine at this size (the transform is not only adjoint)
        int ky = 5;
        int kx = 17;
        float[] one = new float[f.coefficients()];
        one[2 * (ky * (w / 2 + 1) + kx)] = 1;
        float[] img = pixels(f, one, 1);
        double amp = 2 * scale(ky, kx, h, w) * Math.sqrt((double) h * w) / 4.0 / ((double) h * w);
        for (int y = 0; y < h; y += 37) {
            for (int x = 0; x < w; x += 41) {
                double expected = amp * Math.cos(2 * Math.PI * (ky * y / (double) h + kx * x / (double) w));
                assertEquals(expected, img[y * w + x], 1e-5 * amp, "pixel (" + y + "," + x + ")");
            }
        }
    }

    /** 16 icons × 3 channels at 224 px, as the render loop calls it; prints the time, asserts only sanity. */
    @Test
    void renderLoopFormAt224PixelsReusesItsBuffers() {
        int h = 224;
        FourierImage f = new FourierImage(h, h);
        int rows = 16 * 3;
        INDArray c = Nd4j.create(FourierImage.initial(rows, f.coefficients(), 0.01, new Random(1)),
                new long[] {rows, f.coefficients()}, 'c');
        INDArray px = Nd4j.create(DataType.FLOAT, rows, (long) h * h);
        INDArray gc = Nd4j.create(DataType.FLOAT, rows, f.coefficients());
        int steps = 3;
        long t0 = System.nanoTime();
        for (int s = 0; s < steps; s++) {
            f.toPixels(c, px);
            f.backward(px, gc);
        }
        double ms = (System.nanoTime() - t0) / 1e6 / steps;
        System.out.printf("FourierImage 224 px, %d rows: %.1f ms per toPixels+backward%n", rows, ms);
        assertEquals(1, f.workAllocations(), "one buffer set for one row count, reused every step");
        assertEquals(0, new FourierImage(28, 28).workAllocations(), "28 px uses the dense matrix, no separable buffers");
        f.toPixels(Nd4j.create(DataType.FLOAT, 3, f.coefficients()), Nd4j.create(DataType.FLOAT, 3, (long) h * h));
        assertEquals(2, f.workAllocations());
        float[] v = px.data().asFloat();
        double sum2 = 0;
        for (float x : v) {
            assertTrue(Float.isFinite(x));
            sum2 += x * x;
        }
        assertTrue(sum2 > 0, "a random spectrum gives a non-constant image");
    }

    @Test
    void refusesAbsurdSizesWithAUserError() {
        var e = assertThrows(org.atlas4j.util.UserError.class, () -> new FourierImage(4096, 224));
        assertTrue(e.getMessage().contains("--icon-size"), e.getMessage());
        assertThrows(org.atlas4j.util.UserError.class, () -> new FourierImage(0, 5));
    }
}
