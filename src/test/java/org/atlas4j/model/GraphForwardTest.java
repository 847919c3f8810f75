package org.atlas4j.model;

import static org.atlas4j.model.NativeGraphTest.assertClose;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;

import org.atlas4j.util.Progress;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Fidelity's and the patch test's passes keep one native session and reuse it for shorter batches (its stale rows must
 * never leak into an answer) and for longer ones in several passes; every answer equals SameDiff's.
 */
@org.atlas4j.UnitTest
class GraphForwardTest {
    @Test
    void passesOfAnyLengthThroughOneSessionEqualSameDiff() {
        Progress.setQuiet(true);
        NetGraph g = NativeGraphLogitsTest.onnxHead(DataType.FLOAT);
        try (GraphForward f = GraphForward.of(g, "logits", 3, 7, 7, "test")) {
            assertTrue(f.isNative(), f.engine());
            Random r = new Random(5);
            for (int b : new int[] {6, 2, 6, 9, 1}) { // long, short (stale rows behind it), long, longer, one
                float[] x = new float[b * 3 * 7 * 7];
                for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
                INDArray want = g.forward(Nd4j.create(x, new long[] {b, 3, 7, 7}, 'c'), "logits").get("logits");
                assertClose(want, f.forward(x, b), 1e-4, "batch of " + b);
            }
        }
    }
}
