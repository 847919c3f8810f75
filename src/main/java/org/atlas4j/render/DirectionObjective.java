package org.atlas4j.render;

import java.util.HashMap;
import java.util.Map;

import org.atlas4j.model.NetGraph;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The activation-atlas icon objective at the layer's centre position, for a batch of directions:
 * obj_b = dot(a_b, v̂_b) · max(0.1, cos(a_b, v_b))^p, with v̂ = v·S (whitened) and a_b the activation vector at
 * the centre. Built once into the model's SameDiff graph; the position is a one-hot mask (slicing would break
 * SameDiff's strided_slice backprop).
 */
public final class DirectionObjective {
    private static final String PREFIX = "atlasobj_";
    private final NetGraph graph;
    private final String total;
    private final String perSample;
    private final String mask;
    private final String whitened;
    private final String raw;
    private final DataType dataType;

    public DirectionObjective(NetGraph graph, String layer, double cossimPow) {
        this.graph = graph;
        SameDiff sd = graph.sameDiff();
        String tag = PREFIX + NetGraphNames.sanitize(layer) + "_" + Double.toString(cossimPow).replace('.', '_');
        this.total = tag + "_total";
        this.perSample = tag + "_value";
        this.mask = tag + "_mask";
        this.whitened = tag + "_dir";
        this.raw = tag + "_raw";
        SDVariable act = sd.getVariable(graph.layer(layer).variable());
        this.dataType = act.dataType();
        if (!sd.hasVariable(total)) {
            long ch = graph.shape(layer).shape()[0];
            // the centre mask is a [h*w, 1] one-hot column: a matmul picks the centre (broadcast multiply is slow here)
            SDVariable m = sd.placeHolder(mask, dataType, -1, 1);
            SDVariable vw = sd.placeHolder(whitened, dataType, -1, ch);
            SDVariable vr = sd.placeHolder(raw, dataType, -1, ch);
            SDVariable hw = sd.sizeAt(act, 2).mul(sd.sizeAt(act, 3)).castTo(DataType.LONG).reshape(1);
            SDVariable flat = sd.reshape(act, sd.concat(0, sd.constant(Nd4j.createFromArray(-1L)), hw)); // [B*C, h*w]
            SDVariable a = sd.reshape(sd.mmul(flat, m), -1, ch); // [B, C]
            SDVariable dot = a.mul(vw).sum(1);
            SDVariable norm = sd.math().sqrt(a.mul(a).sum(1)).add(1e-4);
            SDVariable cos = a.mul(vr).sum(1).div(norm);
            // max(0.1, cos) written as relu(cos − 0.1) + 0.1: same value and subgradient
            SDVariable clipped = sd.nn().relu(cos.sub(0.1), 0).add(0.1);
            SDVariable value = cossimPow == 0 ? dot.mul(1.0) : dot.mul(sd.math().pow(clipped, cossimPow));
            sd.identity(perSample, value);
            sd.sum(total, value);
        }
    }

    /** The one-hot centre selector for a layer map of size h×w, as a [h*w, 1] column. */
    public static INDArray centreMask(int h, int w, DataType dt) {
        INDArray m = Nd4j.zeros(dt, (long) h * w, 1);
        m.putScalar(new long[] {(long) (h / 2) * w + w / 2, 0}, 1.0);
        return m;
    }

    private Map<String, INDArray> placeholders(INDArray input, INDArray centreMask, INDArray dirWhitened, INDArray dirRaw) {
        Map<String, INDArray> ph = new HashMap<>();
        ph.put(graph.input(), input.castTo(dataType));
        ph.put(mask, centreMask.castTo(dataType));
        ph.put(whitened, dirWhitened.castTo(dataType));
        ph.put(raw, dirRaw.castTo(dataType));
        return ph;
    }

    /** Per-sample objective values. */
    public INDArray values(INDArray input, INDArray centreMask, INDArray dirWhitened, INDArray dirRaw) {
        return graph.sameDiff().output(placeholders(input, centreMask, dirWhitened, dirRaw), perSample).get(perSample);
    }

    /** ∂(Σ_b obj_b)/∂input, same shape as the input. */
    public INDArray inputGradient(INDArray input, INDArray centreMask, INDArray dirWhitened, INDArray dirRaw) {
        SameDiff sd = graph.sameDiff();
        // setLossVariables discards SameDiff's cached gradient graph: only call it when the loss really changes
        if (!sd.getLossVariables().equals(java.util.List.of(total))) sd.setLossVariables(total);
        return graph.gradients(placeholders(input, centreMask, dirWhitened, dirRaw), graph.input()).get(graph.input());
    }

    /**
     * The objective above computed directly (no graph) on centre activations a [b, C], per sample, and its
     * gradient ∂obj_b/∂a_b into {@code grad}: obj = dot(a, v̂)·max(0.1, cos(a, v))^p, cos = a·v/(|a| + 1e-4).
     */
    public static double[] objective(float[] a, float[] dirWhitened, float[] dirRaw, int b, int c, double pow, float[] grad) {
        double[] values = new double[b];
        for (int s = 0; s < b; s++) {
            int o = s * c;
            double dot = 0, raw = 0, sq = 0;
            for (int k = 0; k < c; k++) {
                double ak = a[o + k];
                dot += ak * dirWhitened[o + k];
                raw += ak * dirRaw[o + k];
                sq += ak * ak;
            }
            double len = Math.sqrt(sq);
            double norm = len + 1e-4;
            double cos = raw / norm;
            boolean active = cos - 0.1 > 0;
            double clipped = active ? cos : 0.1;
            double f = pow == 0 ? 1 : Math.pow(clipped, pow);
            values[s] = dot * f;
            if (grad == null) continue;
            double dClip = pow == 0 || !active ? 0 : dot * pow * Math.pow(clipped, pow - 1);
            for (int k = 0; k < c; k++) {
                double dCos = dirRaw[o + k] / norm - (len > 0 ? raw / (norm * norm) * a[o + k] / len : 0);
                grad[o + k] = (float) (dirWhitened[o + k] * f + dClip * dCos);
            }
        }
        return values;
    }

    /** Tiny helper so names stay valid SameDiff identifiers. */
    static final class NetGraphNames {
        static String sanitize(String s) {
            return s.replaceAll("[^A-Za-z0-9_]", "_");
        }
    }
}
