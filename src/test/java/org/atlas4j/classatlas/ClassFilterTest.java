package org.atlas4j.classatlas;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;

import org.junit.jupiter.api.Test;

@org.atlas4j.UnitTest
class ClassFilterTest {
    @Test
    void keepsTopAttributedSamplesPlusTheStrongestPositiveOnes() {
        // 6 samples × 3 classes; target class 1
        float[] a = {
            0.9f, 0.1f, 0.0f,  // 0: top class 0, attr(1)=0.1
            0.0f, 0.5f, 0.2f,  // 1: top class 1  -> kept
            0.3f, 0.2f, 0.8f,  // 2: top class 2, attr(1)=0.2
            0.1f, -0.4f, 0.0f, // 3: top class 0, negative
            0.0f, 0.6f, 0.1f,  // 4: top class 1  -> kept
            0.9f, 0.3f, 0.0f,  // 5: top class 0, attr(1)=0.3
        };
        assertArrayEquals(new int[] {1, 4}, ClassFilter.select(a, 3, 1, 0));
        // top-2 by attribution to class 1: samples 4 (0.6) and 1 (0.5): nothing new
        assertArrayEquals(new int[] {1, 4}, ClassFilter.select(a, 3, 1, 2));
        // top-3 adds sample 5 (0.3); top-4 adds 2 (0.2); top-5 adds 0 (0.1); negative attributions never join
        assertArrayEquals(new int[] {1, 4, 5}, ClassFilter.select(a, 3, 1, 3));
        assertArrayEquals(new int[] {0, 1, 2, 4, 5}, ClassFilter.select(a, 3, 1, 6));
    }

    @Test
    void resolvesNamesAndIndices() {
        List<String> names = List.of("T-shirt/top", "Trouser", "Bag");
        assertEquals(1, ClassFilter.resolve("trouser", names));
        assertEquals(2, ClassFilter.resolve("2", names));
        var e = assertThrows(org.atlas4j.util.UserError.class, () -> ClassFilter.resolve("Hat", names));
        assertEquals(true, e.getMessage().contains("Trouser"));
        assertThrows(org.atlas4j.util.UserError.class, () -> ClassFilter.resolve("3", names));
        assertThrows(org.atlas4j.util.UserError.class, () -> ClassFilter.select(new float[6], 3, 3, 1));
    }
}
