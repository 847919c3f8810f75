package org.atlas4j.render;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;

import org.atlas4j.data.ModelInput;
import org.atlas4j.data.PixelScaling;
import org.junit.jupiter.api.Test;

/**
 * Icons are optimised as pictures (values in [0,1], RGB) and the network sees them as it sees its data: the map to the
 * model's inputs (ImageNet normalisation, BGR) and the gradient pulled back through it.
 */
@org.atlas4j.UnitTest
class ModelInputRenderTest {
    private static final int B = 2;
    private static final int AREA = 5;

    @Test
    void imagenetMapMatchesThePreprocessingOfPhotos() {
        ModelInput in = new ModelInput(PixelScaling.parse("imagenet", 3), false);
        assertFalse(in.isIdentity());
        float[] unit = new float[3 * AREA];
        for (int i = 0; i < unit.length; i++) unit[i] = i / (float) unit.length;
        float[] model = new float[unit.length];
        in.toModel(unit, model, 1, AREA);
        for (int c = 0; c < 3; c++) {
            for (int k = 0; k < AREA; k++) {
                // what ImageFiles does to an 8-bit pixel p: PixelScaling.apply(c, p), with p = 255 · displayed value
                assertEquals(in.scaling().apply(c, 255.0 * unit[c * AREA + k]), model[c * AREA + k], 1e-5);
            }
        }
        assertTrue(ModelInput.unit(3).isIdentity());
        assertTrue(ModelInput.unit(1).isIdentity());
    }

    @Test
    void bgrModelsReadBlueFirst() {
        ModelInput in = new ModelInput(PixelScaling.parse("pixels / 255", 3), true);
        float[] unit = {0.1f, 0.2f, 0.3f}; // R, G, B of one pixel
        float[] model = new float[3];
        in.toModel(unit, model, 1, 1);
        assertArrayEquals(new float[] {0.3f, 0.2f, 0.1f}, model, 1e-7f);
    }

    @Test
    void gradientThroughTheMapEqualsFiniteDifferences() {
        for (boolean bgr : new boolean[] {false, true}) {
            ModelInput in = new ModelInput(PixelScaling.parse("mean=0.4,0.5,0.6 std=0.2,0.25,0.3", 3), bgr);
            Random r = new Random(3);
            int n = B * 3 * AREA;
            float[] w = new float[n];
            for (int i = 0; i < n; i++) w[i] = (float) r.nextGaussian();
            // a nonlinear objective of the model's inputs that tells channels apart: Σ w·x + 0.1·x²
            Renderer.Objective inner = new Renderer.Objective() {
                public double[] values(float[] x) {
                    double[] v = new double[B];
                    for (int i = 0; i < n; i++) v[i / (3 * AREA)] += w[i] * x[i] + 0.1 * x[i] * x[i];
                    return v;
                }

                public void gradient(float[] x, float[] g) {
                    for (int i = 0; i < n; i++) g[i] = (float) (w[i] + 0.2 * x[i]);
                }
            };
            Renderer.Objective outer = Renderer.inModelSpace(inner, in, B, AREA);
            float[] u = new float[n];
            for (int i = 0; i < n; i++) u[i] = r.nextFloat();
            float[] g = new float[n];
            outer.gradient(u, g);
            double h = 1e-3;
            for (int i = 0; i < n; i++) {
                float keep = u[i];
                u[i] = (float) (keep + h);
                double plus = sum(outer.values(u));
                u[i] = (float) (keep - h);
                double minus = sum(outer.values(u));
                u[i] = keep;
                double fd = (plus - minus) / (2 * h);
                assertEquals(fd, g[i], 2e-2 * (1 + Math.abs(fd)), "bgr=" + bgr + " element " + i);
            }
        }
    }

    private static double sum(double[] v) {
        double s = 0;
        for (double x : v) s += x;
        return s;
    }
}
