package org.atlas4j.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;

@org.atlas4j.UnitTest
class DecodeAheadTest {
    /** A unit's samples: unit u, sample i → {u, i}; decodes take random short times so threads finish out of order. */
    static float[][] slowDecode(int u, int n) {
        try {
            Thread.sleep(new Random(u * 31L).nextInt(4));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        float[][] out = new float[n][];
        for (int i = 0; i < n; i++) out[i] = new float[] {u, i};
        return out;
    }

    @Test
    void readsInOrderWithBoundedWindowAndJumps() {
        int units = 200;
        AtomicInteger decodes = new AtomicInteger();
        int maxHeld = 0;
        try (DecodeAhead a = new DecodeAhead(units, u -> 1 + u % 3, u -> {
            decodes.incrementAndGet();
            return slowDecode(u, 1 + u % 3);
        }, 12, 2)) {
            for (int u = 0; u < units; u++) {
                for (int i = 0; i < 1 + u % 3; i++) {
                    float[][] got = a.get(u);
                    assertEquals(u, got[i][0]);
                    assertEquals(i, got[i][1]);
                    maxHeld = Math.max(maxHeld, a.scheduledSamples());
                }
            }
            assertTrue(maxHeld <= 12, "window exceeded: " + maxHeld);
            assertTrue(maxHeld >= 6, "nothing decoded ahead: " + maxHeld);
            assertEquals(units, decodes.get(), "each unit decoded once when read in order");
            // out-of-order reads (the viewer) decode just what is asked for
            int before = decodes.get();
            assertEquals(17, a.get(17)[0][0]);
            assertEquals(3, a.get(3)[0][0]);
            assertEquals(150, a.get(150)[0][0]);
            assertTrue(decodes.get() - before <= 4, "random access decoded ahead: " + (decodes.get() - before));
        }
    }

    @Test
    void aFailureInABackgroundDecodeReachesTheReaderOfThatUnit() {
        try (DecodeAhead a = new DecodeAhead(10, u -> 1, u -> {
            if (u == 4) throw new IllegalArgumentException("bad unit 4");
            return slowDecode(u, 1);
        }, 5, 2)) {
            for (int u = 0; u < 4; u++) assertEquals(u, a.get(u)[0][0]);
            var e = assertThrows(IllegalStateException.class, () -> a.get(4));
            assertTrue(e.getMessage().contains("bad unit 4"), e.getMessage());
            for (int u = 5; u < 10; u++) assertEquals(u, a.get(u)[0][0]);
        }
    }
}
