package org.atlas4j.classatlas;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.Test;

@org.atlas4j.UnitTest
class ComparisonTest {
    @Test
    void axisIsTheScaledClippedDifference() {
        int n = 1000;
        float[] attr = new float[n * 2];
        Random r = new Random(1);
        for (int i = 0; i < n; i++) {
            attr[2 * i] = (float) r.nextGaussian();
            attr[2 * i + 1] = (float) r.nextGaussian();
        }
        attr[0] = -100; // an outlier must be clipped, not squash the rest
        float[] x = Comparison.axis(attr, 2, 0, 1);
        int atEdge = 0;
        for (float v : x) {
            assertTrue(v >= -1 && v <= 1, "out of range: " + v);
            if (Math.abs(v) == 1f) atEdge++;
        }
        assertEquals(1f, x[0], 0f, "B − A of the outlier is +100: clipped to 1");
        assertTrue(atEdge <= 0.02 * n, atEdge + " samples clipped; the 99th percentile should clip about 1%");
        // sign: B larger than A gives positive x
        assertTrue(x[1] * (attr[3] - attr[2]) >= 0);
    }

    @Test
    void dualRolesAreCellsStrongForBothClassesRankedByTheWeakerOne() {
        float[] attr = {
            1.0f, 0.1f, // 0
            0.8f, 0.9f, // 1
            0.5f, 0.4f, // 2
            -0.2f, 1.0f, // 3
        };
        List<int[]> cells = List.of(new int[] {0}, new int[] {1}, new int[] {2}, new int[] {3});
        var d = Comparison.dualRoles(cells, new int[] {0, 0, 1, 1}, new int[] {0, 1, 0, 1}, attr, 2, 0, 1);
        assertEquals(List.of(1, 2, 0), d.stream().map(Comparison.DualRole::cell).toList(), "cell 3 is negative for A");
        assertEquals(0.8, d.get(0).strength(), 1e-6);
    }
}
