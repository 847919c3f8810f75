package org.atlas4j.render;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Random;
import java.util.Set;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The differentiable resampling: identity, integer shifts, and that adjoint() is the exact transpose of apply(). */
@org.atlas4j.UnitTest
class RandomAffineTest {
    /** A big batch is resampled on several threads: the same numbers as one sample at a time, forward and adjoint. */
    @Test
    void bigBatchesGiveTheSameResultsAsOneSampleAtATime() {
        int b = 4, c = 3, h = 150, w = 150, n = c * h * w;
        Random r = new Random(9);
        float[] src = new float[b * n];
        for (int i = 0; i < src.length; i++) src[i] = r.nextFloat();
        RandomAffine.Affine[] t = new RandomAffine.Affine[b];
        for (int i = 0; i < b; i++) t[i] = RandomAffine.sample(RandomAffine.Options.forIconSize(h), r);
        float[] out = new float[b * n];
        float[] adj = new float[b * n];
        RandomAffine.apply(src, out, b, c, h, w, t, 0.5f);
        RandomAffine.adjoint(src, adj, b, c, h, w, t);
        for (int i = 0; i < b; i++) {
            float[] one = java.util.Arrays.copyOfRange(src, i * n, (i + 1) * n);
            float[] o1 = new float[n];
            float[] a1 = new float[n];
            RandomAffine.apply(one, o1, 1, c, h, w, new RandomAffine.Affine[] {t[i]}, 0.5f);
            RandomAffine.adjoint(one, a1, 1, c, h, w, new RandomAffine.Affine[] {t[i]});
            assertArrayEquals(o1, java.util.Arrays.copyOfRange(out, i * n, (i + 1) * n), "apply, sample " + i);
            assertArrayEquals(a1, java.util.Arrays.copyOfRange(adj, i * n, (i + 1) * n), "adjoint, sample " + i);
        }
    }


    static float[] random(int n, Random r) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = r.nextFloat();
        return a;
    }

    @Test
    void identityOptionsReproduceTheInputExactly() {
        int b = 3, c = 2, h = 7, w = 8;
        Random r = new Random(1);
        float[] src = random(b * c * h * w, r);
        RandomAffine.Affine[] t = new RandomAffine.Affine[b];
        for (int i = 0; i < b; i++) {
            t[i] = RandomAffine.sample(RandomAffine.Options.none(), r);
            assertEquals(1, t[i].a(), 0.0);
            assertEquals(0, t[i].b(), 0.0);
            assertEquals(0, t[i].c(), 0.0);
            assertEquals(1, t[i].d(), 0.0);
            assertEquals(0, t[i].tx(), 0.0);
            assertEquals(0, t[i].ty(), 0.0);
        }
        float[] out = new float[src.length];
        RandomAffine.apply(src, out, b, c, h, w, t, 0.5f);
        assertArrayEquals(src, out);
        float[] back = new float[src.length];
        RandomAffine.adjoint(src, back, b, c, h, w, t);
        assertArrayEquals(src, back);
    }

    @ParameterizedTest
    @CsvSource({"2,-1", "-3,0", "0,2", "1,1"})
    void integerTranslationShiftsByThatManyPixels(int tx, int ty) {
        int c = 2, h = 6, w = 7;
        float pad = 0.25f;
        Random r = new Random(2);
        float[] src = random(c * h * w, r);
        float[] out = new float[src.length];
        RandomAffine.apply(src, out, 1, c, h, w, new RandomAffine.Affine[] {new RandomAffine.Affine(1, 0, 0, 1, tx, ty)}, pad);
        for (int ch = 0; ch < c; ch++) {
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    int sy = y + ty;
                    int sx = x + tx;
                    float expected = sy < 0 || sy >= h || sx < 0 || sx >= w ? pad : src[(ch * h + sy) * w + sx];
                    assertEquals(expected, out[(ch * h + y) * w + x], 1e-7f, "channel " + ch + " (" + y + "," + x + ")");
                }
            }
        }
    }

    @Test
    void jitterOnlySamplesAreIntegerShiftsWithinTheRange() {
        // 2 px of first jitter and 1 px of second: the composed shift is an integer within ±3
        RandomAffine.Options o = new RandomAffine.Options(2, 1, 1, 0, 1, 0.5f);
        Random r = new Random(3);
        Set<String> seen = new HashSet<>();
        int h = 9, w = 9;
        float[] src = random(h * w, r);
        for (int k = 0; k < 300; k++) {
            RandomAffine.Affine a = RandomAffine.sample(o, r);
            assertEquals(1, a.a());
            assertEquals(1, a.d());
            assertEquals(0, a.b(), 0);
            assertEquals(0, a.c(), 0);
            assertEquals(Math.rint(a.tx()), a.tx(), 0, "jitter must be whole pixels");
            assertEquals(Math.rint(a.ty()), a.ty(), 0, "jitter must be whole pixels");
            assertTrue(Math.abs(a.tx()) <= 3 && Math.abs(a.ty()) <= 3, a.toString());
            seen.add(a.tx() + "," + a.ty());
            float[] out = new float[src.length];
            RandomAffine.apply(src, out, 1, 1, h, w, new RandomAffine.Affine[] {a}, 0.5f);
            int tx = (int) a.tx();
            int ty = (int) a.ty();
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    int sy = y + ty;
                    int sx = x + tx;
                    float expected = sy < 0 || sy >= h || sx < 0 || sx >= w ? 0.5f : src[sy * w + sx];
                    assertEquals(expected, out[y * w + x], 1e-6f);
                }
            }
        }
        assertTrue(seen.size() > 20, "jitter hardly varies: " + seen);
    }

    @Test
    void halfPixelShiftAveragesNeighbours() {
        int h = 3, w = 4;
        float[] src = new float[h * w];
        for (int i = 0; i < src.length; i++) src[i] = i;
        float[] out = new float[src.length];
        RandomAffine.apply(src, out, 1, 1, h, w, new RandomAffine.Affine[] {new RandomAffine.Affine(1, 0, 0, 1, 0.5, 0)}, 0f);
        assertEquals((src[0] + src[1]) / 2, out[0], 1e-6f);
        assertEquals((src[5] + src[6]) / 2, out[5], 1e-6f);
        assertEquals(src[3] / 2, out[3], 1e-6f, "the last column blends with the pad (0)");
    }

    @Test
    void adjointIsTheTransposeOfApply() {
        int b = 4, c = 3, h = 11, w = 10;
        Random r = new Random(4);
        // rotation, scale and jitter: non-integer source coordinates, some falling outside the image
        RandomAffine.Options o = new RandomAffine.Options(2, 0.8, 1.2, 25, 1, 0f);
        for (int rep = 0; rep < 5; rep++) {
            RandomAffine.Affine[] t = new RandomAffine.Affine[b];
            for (int i = 0; i < b; i++) t[i] = RandomAffine.sample(o, r);
            float[] x = random(b * c * h * w, r);
            float[] g = new float[x.length];
            for (int i = 0; i < g.length; i++) g[i] = (float) r.nextGaussian();
            float[] ax = new float[x.length];
            RandomAffine.apply(x, ax, b, c, h, w, t, 0f); // pad 0: apply is then linear, so the identity holds
            float[] atg = new float[x.length];
            java.util.Arrays.fill(atg, 99f); // adjoint must overwrite, not accumulate onto, its output
            RandomAffine.adjoint(g, atg, b, c, h, w, t);
            double lhs = 0, rhs = 0, mag = 0;
            for (int i = 0; i < x.length; i++) {
                lhs += (double) ax[i] * g[i];
                rhs += (double) x[i] * atg[i];
                mag += Math.abs((double) ax[i] * g[i]);
            }
            assertTrue(Math.abs(lhs - rhs) <= 1e-5 * mag, "<A x, g> = " + lhs + " but <x, Aᵀ g> = " + rhs);
        }
    }

    @Test
    void iconSizeOptionsScaleWithTheIcon() {
        RandomAffine.Options small = RandomAffine.Options.forIconSize(28);
        RandomAffine.Options large = RandomAffine.Options.forIconSize(224);
        assertTrue(small.jitter1() >= 1 && large.jitter1() > small.jitter1());
        assertTrue(small.minScale() < 1 && small.maxScale() > 1 && small.maxDegrees() > 0);
    }
}
