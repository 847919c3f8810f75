package org.atlas4j.render;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The decorrelated image parameterization of Lucid / the Activation Atlas paper: each channel is the inverse
 * real 2-D FFT of a half spectrum whose coefficients are scaled by 1/max(f, 1/max(w,h)), so that optimisation
 * steps are roughly whitened across frequencies. The inverse FFT is written as one fixed real matrix M
 * (pixels × coefficients), so the forward map is a matrix product and its adjoint is the product with Mᵀ.
 * Coefficients per channel: 2·h·(w/2+1) (real and imaginary parts).
 */
public final class FourierImage {
    /** Lucid divides the spectrum by 4 ("magic") so that the initial image stays near grey. */
    private static final double MAGIC = 4.0;

    private final int height;
    private final int width;
    private final int coefficients;
    private final INDArray basis; // [h*w, coefficients]

    public FourierImage(int height, int width) {
        if ((long) height * width * 2L * height * (width / 2 + 1) > 120_000_000L) {
            throw new org.atlas4j.util.UserError("icon size " + height + "×" + width + " is too large for the dense "
                    + "inverse-FFT matrix (limit about 96×96); choose a smaller --icon-size");
        }
        this.height = height;
        this.width = width;
        int wf = width / 2 + 1;
        this.coefficients = 2 * height * wf;
        float[] m = new float[height * width * coefficients];
        double norm = Math.sqrt((double) width * height) / (MAGIC * width * height);
        for (int ky = 0; ky < height; ky++) {
            double fy = (ky < (height + 1) / 2 ? ky : ky - height) / (double) height;
            for (int kx = 0; kx < wf; kx++) {
                double fx = kx / (double) width;
                double f = Math.sqrt(fy * fy + fx * fx);
                double scale = 1.0 / Math.max(f, 1.0 / Math.max(width, height));
                // irfft: the DC and Nyquist columns count once, the others twice (their conjugate twin)
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
        this.basis = Nd4j.create(m, new long[] {(long) height * width, coefficients}, 'c');
    }

    public int coefficients() {
        return coefficients;
    }

    public int height() {
        return height;
    }

    public int width() {
        return width;
    }

    /** Pre-sigmoid pixels for each row of coefficients: [rows, coefficients] → [rows, h*w]. */
    public INDArray toPixels(INDArray coeffs) {
        return coeffs.castTo(DataType.FLOAT).mmul(basis.transpose());
    }

    /** The adjoint: gradient with respect to the coefficients from the gradient w.r.t. pixels. */
    public INDArray backward(INDArray pixelGrad) {
        return pixelGrad.mmul(basis);
    }

    /** {@link #toPixels} into a preallocated [rows, h*w] float array (no allocation; the render loop's form). */
    public void toPixels(INDArray coeffs, INDArray out) {
        Nd4j.gemm(coeffs, basis, out, false, true, 1.0, 0.0);
    }

    /** {@link #backward} into a preallocated [rows, coefficients] float array. */
    public void backward(INDArray pixelGrad, INDArray out) {
        Nd4j.gemm(pixelGrad, basis, out, false, false, 1.0, 0.0);
    }

    /** Random initial coefficients, normal with standard deviation {@code sd} (0.01 in the paper). */
    public static float[] initial(int rows, int coefficients, double sd, java.util.Random rng) {
        float[] p = new float[rows * coefficients];
        for (int i = 0; i < p.length; i++) p[i] = (float) (rng.nextGaussian() * sd);
        return p;
    }
}
