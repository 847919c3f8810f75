package org.atlas4j.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Random;
import java.util.Set;

import org.atlas4j.util.UserError;
import org.junit.jupiter.api.Test;

@org.atlas4j.UnitTest
class RandomCropsTest {
    static final RandomCrops.Options DEFAULT = new RandomCrops.Options(40, 0.08, 1.0);

    @Test
    void boxesArePureFunctionsOfSeedFileAndCropNumber() {
        for (int k = 0; k < 40; k++) {
            assertEquals(RandomCrops.box(7, "a/b.jpg", k, 640, 480, DEFAULT), RandomCrops.box(7, "a/b.jpg", k, 640, 480, DEFAULT));
        }
        Set<RandomCrops.Box> distinct = new HashSet<>();
        for (int k = 0; k < 40; k++) distinct.add(RandomCrops.box(7, "a/b.jpg", k, 640, 480, DEFAULT));
        assertTrue(distinct.size() >= 38, "crops of one file must differ: " + distinct.size() + " distinct of 40");
        int differ = 0;
        for (int k = 0; k < 40; k++) {
            if (!RandomCrops.box(7, "a/b.jpg", k, 640, 480, DEFAULT).equals(RandomCrops.box(8, "a/b.jpg", k, 640, 480, DEFAULT))) differ++;
            if (!RandomCrops.box(7, "a/b.jpg", k, 640, 480, DEFAULT).equals(RandomCrops.box(7, "a/c.jpg", k, 640, 480, DEFAULT))) differ++;
        }
        assertTrue(differ >= 76, "another seed or file must give other crops: " + differ + " of 80 differ");
    }

    @Test
    void boxesLieInsideTheImageWithTheirScaleAndRatio() {
        Random r = new Random(3);
        int fallbacks = 0;
        int checked = 0;
        for (int t = 0; t < 3000; t++) {
            int w = 1 + r.nextInt(t % 3 == 0 ? 20 : 3000);
            int h = 1 + r.nextInt(t % 5 == 0 ? 20 : 3000);
            double lo = 0.01 + 0.9 * r.nextDouble();
            var o = new RandomCrops.Options(3, lo, lo + (1 - lo) * r.nextDouble());
            RandomCrops.Box b = RandomCrops.box(t, "f" + t, t % 3, w, h, o);
            assertTrue(b.x() >= 0 && b.y() >= 0 && b.w() >= 1 && b.h() >= 1 && b.x() + b.w() <= w && b.y() + b.h() <= h,
                    b + " outside " + w + "×" + h);
            double ratio = (double) b.w() / b.h();
            double frac = (double) b.w() * b.h() / ((double) w * h);
            boolean whole = b.w() == w || b.h() == h;
            if (w >= 100 && h >= 100 && !whole) {
                // a sampled box (not the fallback): its area and aspect within the ranges, up to rounding to pixels
                checked++;
                assertTrue(ratio > RandomCrops.MIN_RATIO * 0.97 && ratio < RandomCrops.MAX_RATIO * 1.03, "ratio " + ratio + " of " + b);
                assertTrue(frac > o.minScale() * 0.95 && frac < o.maxScale() * 1.05 + 0.01, "area fraction " + frac + " of " + b
                        + " for scale " + o);
            }
            if (whole) fallbacks++;
        }
        assertTrue(checked > 500, "too few sampled boxes checked: " + checked);
        assertTrue(fallbacks > 0, "the fallback (whole image narrowed to the ratio range) was never exercised");
        // a very wide image can never fit a sampled box: the fallback is centred, full height, ratio 4/3
        RandomCrops.Box wide = RandomCrops.box(1, "wide", 0, 4000, 100, new RandomCrops.Options(1, 0.9, 1.0));
        assertEquals(new RandomCrops.Box((4000 - 133) / 2, 0, 133, 100), wide);
    }

    @Test
    void badOptionsAreUserErrors() {
        assertThrows(UserError.class, () -> new RandomCrops.Options(-1, 0.08, 1));
        assertThrows(UserError.class, () -> new RandomCrops.Options(4, 0, 1));
        assertThrows(UserError.class, () -> new RandomCrops.Options(4, 0.5, 0.4));
        assertThrows(UserError.class, () -> new RandomCrops.Options(4, 0.5, 1.5));
        assertNotEquals(RandomCrops.Options.NONE.cropping(), DEFAULT.cropping());
    }
}
