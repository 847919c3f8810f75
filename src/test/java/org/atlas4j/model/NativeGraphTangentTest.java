package org.atlas4j.model;

import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The forward-mode derivative (Jacobian-vector product) against the backward pass on the four ImageNet families'
 * shapes (branches, max pooling with ReLU ties, depthwise, residual adds): u·(J v) = (Jᵀu)·v for each sample, with v
 * an activation at one position (what collect's attribution feeds it) and u one-hot and random on the logits.
 */
@org.atlas4j.UnitTest
class NativeGraphTangentTest {

    @ParameterizedTest
    @EnumSource(OnnxFamilies.Family.class)
    void tangentEqualsTheBackwardPassTransposed(OnnxFamilies.Family family, @TempDir Path dir) throws Exception {
        NetGraph g = LoadedModel.load(OnnxFamilies.write(family, dir), null).graph();
        int[] in = g.inputShape();
        List<String> vars = List.of(g.layer(family.defaultLayer).variable(), g.layer(family.otherLayer).variable());
        NativeGraph.Compiled c = NativeGraph.compileVariables(g, g.logits(), vars, in[0], in[1], in[2]);
        assertNull(c.unsupported(), c.unsupported());
        int b = 3;
        NativeGraph.Session s = c.engine().session(b);
        Random rnd = new Random(family.ordinal());
        float[] x = new float[b * in[0] * in[1] * in[2]];
        for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
        s.forwardMap(x);
        int classes = (int) s.variable(g.logits()).size(1);
        for (String var : vars) {
            assertNull(s.tangentUnsupported(var), var);
            INDArray a = s.variable(var).dup();
            long[] sh = a.shape();
            // v: each sample's own activation at one random position, zero elsewhere
            INDArray v = Nd4j.zeros(DataType.FLOAT, sh);
            for (int i = 0; i < b; i++) {
                long y = rnd.nextInt((int) sh[2]), xx = rnd.nextInt((int) sh[3]);
                for (int ch = 0; ch < sh[1]; ch++) v.putScalar(new long[] {i, ch, y, xx}, a.getFloat(i, ch, y, xx));
            }
            INDArray jv = s.tangent(var, v).dup();
            for (int round = 0; round < 3; round++) {
                INDArray u = Nd4j.zeros(DataType.FLOAT, b, classes);
                for (int i = 0; i < b; i++) {
                    if (round < 2) u.putScalar(i, rnd.nextInt(classes), 1.0);
                    else for (int k = 0; k < classes; k++) u.putScalar(i, k, rnd.nextGaussian());
                }
                INDArray jtu = s.backwardTo(u, var).dup();
                for (int i = 0; i < b; i++) {
                    double forward = u.getRow(i).castTo(DataType.DOUBLE).mul(jv.getRow(i).castTo(DataType.DOUBLE)).sumNumber().doubleValue();
                    double backward = jtu.get(org.nd4j.linalg.indexing.NDArrayIndex.point(i)).castTo(DataType.DOUBLE)
                            .mul(v.get(org.nd4j.linalg.indexing.NDArrayIndex.point(i)).castTo(DataType.DOUBLE)).sumNumber().doubleValue();
                    double scale = Math.max(1e-3, Math.abs(backward));
                    assertTrue(Math.abs(forward - backward) <= 1e-4 * scale + 1e-6,
                            family + " " + var + " sample " + i + " round " + round + ": u·Jv " + forward + " vs Jᵀu·v " + backward);
                }
            }
            assertTrue(jv.amaxNumber().doubleValue() > 0, "degenerate: the tangent is zero");
        }
    }
}
