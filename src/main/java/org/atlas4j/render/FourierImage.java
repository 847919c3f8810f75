package org.atlas4j.render;

import java.util.HashMap;
import java.util.Map;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.MulOp;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The decorrelated image parameterization of Lucid / the Activation Atlas paper: each channel is the inverse
 * real 2-D FFT of a half spectrum whose coefficients are scaled by 1/max(f, 1/max(w,h)), so that optimisation
 * steps are roughly whitened across frequencies. Coefficients per channel: 2·h·(w/2+1), laid out [ky][kx][re, im].
 *
 * <p>The inverse transform is linear, M = Y·X·A: A scales each coefficient (spectrum scaling, MAGIC, the irfft
 * weight c = 1 for the DC and Nyquist columns, 2 for the others), X turns every spectrum row into a complex image
 * row (one GEMM over all rows with a fixed [2·wf, 2·w] real matrix), Y sums the complex rows into real pixel
 * columns (one GEMM with a fixed [h, 2h] matrix over all channels' columns). The adjoint is Aᵀ·Xᵀ·Yᵀ with the same matrices. Bases take O(h² + w²);
 * a dense pixels × coefficients matrix would be O(h²w²) (10 GB at 224 px), so it is used only up to 32×32 pixels,
 * where its single GEMM is the faster one.
 */
public final class FourierImage {
    /** Lucid divides the spectrum by 4 ("magic") so that the initial image stays near grey. */
    private static final double MAGIC = 4.0;
    /** Far above any network input; beyond it the work buffers alone would take gigabytes per batch. */
    static final int MAX_SIDE = 2048;

    private final int height;
    private final int width;
    private final int halfWidth; // wf = w/2 + 1 spectrum columns
    private final int coefficients;
    private final INDArray amp; // [1, coefficients]: per-coefficient weight A
    private final INDArray rowBasis; // X: [2·wf, 2·w], rows (kx, re|im), columns (re-block x | im-block x)
    private final INDArray columnBasis; // Y: [h, 2·h], columns (ky, re|im)
    // work buffers per row count: the render loop calls toPixels/backward every step with the same two row counts
    private final Map<Long, Work> work = new HashMap<>();
    private int workAllocations;

    /** Up to this many pixels one dense GEMM beats the separable passes (28 px: 0.8 vs 1.7 ms per step here). */
    static final int DENSE_MAX_PIXELS = 32 * 32;

    private final INDArray dense; // [h*w, coefficients] for small images, else null

    public FourierImage(int height, int width) {
        this(height, width, (long) height * width > DENSE_MAX_PIXELS);
    }

    /** @param separable false: the dense pixels × coefficients matrix (same map, for small images and tests) */
    FourierImage(int height, int width, boolean separable) {
        if (height < 1 || width < 1 || height > MAX_SIDE || width > MAX_SIDE) {
            throw new org.atlas4j.util.UserError("icon size " + height + "×" + width + " is outside 1.." + MAX_SIDE
                    + " pixels per side; choose an --icon-size in that range (224 or 299 for ImageNet networks)");
        }
        this.height = height;
        this.width = width;
        this.halfWidth = width / 2 + 1;
        this.coefficients = 2 * height * halfWidth;

        float[] a = new float[coefficients];
        double norm = Math.sqrt((double) width * height) / (MAGIC * width * height);
        for (int ky = 0; ky < height; ky++) {
            double fy = (ky < (height + 1) / 2 ? ky : ky - height) / (double) height;
            for (int kx = 0; kx < halfWidth; kx++) {
                double fx = kx / (double) width;
                double f = Math.sqrt(fy * fy + fx * fx);
                double scale = 1.0 / Math.max(f, 1.0 / Math.max(width, height));
                // irfft: the DC and Nyquist columns count once, the others twice (their conjugate twin)
                double c = (kx == 0 || (width % 2 == 0 && kx == width / 2)) ? 1 : 2;
                float v = (float) (c * scale * norm);
                a[2 * (ky * halfWidth + kx)] = v;
                a[2 * (ky * halfWidth + kx) + 1] = v;
            }
        }
        this.amp = Nd4j.create(a, new long[] {1, coefficients}, 'c');

        // X: (re + i·im)·e^{iφ}, φ = 2π·kx·x/w; real part into column x, imaginary part into column w + x
        float[] xb = new float[2 * halfWidth * 2 * width];
        int xCols = 2 * width;
        for (int kx = 0; kx < halfWidth; kx++) {
            for (int x = 0; x < width; x++) {
                double phi = angle(kx, x, width);
                float cos = (float) Math.cos(phi);
                float sin = (float) Math.sin(phi);
                int re = (2 * kx) * xCols;
                int im = (2 * kx + 1) * xCols;
                xb[re + x] = cos;
                xb[re + width + x] = sin;
                xb[im + x] = -sin;
                xb[im + width + x] = cos;
            }
        }
        this.rowBasis = Nd4j.create(xb, new long[] {2L * halfWidth, 2L * width}, 'c');

        // Y: the real part of Σ_ky (u_re + i·u_im)·e^{iψ}, ψ = 2π·ky·y/h
        float[] yb = new float[height * 2 * height];
        for (int y = 0; y < height; y++) {
            for (int ky = 0; ky < height; ky++) {
                double psi = angle(ky, y, height);
                yb[y * 2 * height + 2 * ky] = (float) Math.cos(psi);
                yb[y * 2 * height + 2 * ky + 1] = (float) -Math.sin(psi);
            }
        }
        this.columnBasis = Nd4j.create(yb, new long[] {height, 2L * height}, 'c');
        this.dense = separable ? null : denseBasis(a);
    }

    /** M = Y·X·A as one matrix, M[(y,x), (ky,kx,re|im)] = A·(cos θ | −sin θ), θ = 2π(ky·y/h + kx·x/w). */
    private INDArray denseBasis(float[] a) {
        float[] m = new float[height * width * coefficients];
        for (int ky = 0; ky < height; ky++) {
            for (int kx = 0; kx < halfWidth; kx++) {
                int re = 2 * (ky * halfWidth + kx);
                for (int y = 0; y < height; y++) {
                    for (int x = 0; x < width; x++) {
                        double theta = angle(ky, y, height) + angle(kx, x, width);
                        int row = (y * width + x) * coefficients;
                        m[row + re] = (float) (a[re] * Math.cos(theta));
                        m[row + re + 1] = (float) (-a[re] * Math.sin(theta));
                    }
                }
            }
        }
        return Nd4j.create(m, new long[] {(long) height * width, coefficients}, 'c');
    }

    /** 2π·k·n/size with the product reduced modulo size first, so large sizes keep full angle precision. */
    private static double angle(int k, int n, int size) {
        return 2 * Math.PI * (((long) k * n) % size) / size;
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
        INDArray c = coeffs.castTo(DataType.FLOAT).dup('c');
        INDArray out = Nd4j.create(DataType.FLOAT, new long[] {c.size(0), (long) height * width}, 'c');
        toPixels(c, out);
        return out;
    }

    /** The adjoint: gradient with respect to the coefficients from the gradient w.r.t. pixels. */
    public INDArray backward(INDArray pixelGrad) {
        INDArray g = pixelGrad.castTo(DataType.FLOAT).dup('c');
        INDArray out = Nd4j.create(DataType.FLOAT, new long[] {g.size(0), coefficients}, 'c');
        backward(g, out);
        return out;
    }

    /**
     * {@link #toPixels} into a preallocated [rows, h*w] float array; {@code coeffs} is a c-order [rows,
     * coefficients] float array. Work buffers are allocated on the first call for a row count and reused.
     */
    public synchronized void toPixels(INDArray coeffs, INDArray out) {
        long rows = check(coeffs, coefficients, "coefficients");
        check(out, (long) height * width, "pixels");
        if (dense != null) {
            Nd4j.gemm(coeffs, dense, out, false, true, 1.0, 0.0);
            return;
        }
        Work wk = workFor(rows);
        // A: scale the coefficients
        Nd4j.getExecutioner().exec(new MulOp(coeffs, wk.ampRows, wk.scaled));
        // X: every spectrum row to a complex image row, [rows·h, 2·wf] × [2·wf, 2·w]
        Nd4j.gemm(wk.scaledRows, rowBasis, wk.complexRows, false, false, 1.0, 0.0);
        // Y: [h, 2h] × [2h, rows·w] on the complex rows regrouped by spectrum row, then pixels back to per-channel
        // order. One GEMM and two strided copies: 48 per-channel GEMMs cost 5-12 ms of call overhead at 28 px here.
        wk.complexByColumn.assign(wk.complexPerChannel.permute(1, 0, 2));
        Nd4j.gemm(columnBasis, wk.complexByColumnRows, wk.pixelsByColumnRows, false, false, 1.0, 0.0);
        out.reshape('c', rows, height, width).assign(wk.pixelsByColumn.permute(1, 0, 2));
    }

    /** {@link #backward} into a preallocated [rows, coefficients] float array: exactly Mᵀ of {@link #toPixels}. */
    public synchronized void backward(INDArray pixelGrad, INDArray out) {
        long rows = check(pixelGrad, (long) height * width, "pixel gradients");
        check(out, coefficients, "coefficient gradients");
        if (dense != null) {
            Nd4j.gemm(pixelGrad, dense, out, false, false, 1.0, 0.0);
            return;
        }
        Work wk = workFor(rows);
        // Yᵀ: [2h, h] × [h, rows·w] on the pixel gradients regrouped by image row
        wk.pixelsByColumn.assign(pixelGrad.reshape('c', rows, height, width).permute(1, 0, 2));
        Nd4j.gemm(columnBasis, wk.pixelsByColumnRows, wk.complexByColumnRows, true, false, 1.0, 0.0);
        wk.complexPerChannel.assign(wk.complexByColumn.permute(1, 0, 2));
        // Xᵀ: [rows·h, 2·w] × [2·w, 2·wf], straight into out viewed as [rows·h, 2·wf]
        INDArray outRows = out.reshape('c', rows * height, 2L * halfWidth);
        Nd4j.gemm(wk.complexRows, rowBasis, outRows, false, true, 1.0, 0.0);
        // Aᵀ = A (diagonal)
        Nd4j.getExecutioner().exec(new MulOp(out, wk.ampRows, out));
    }

    /**
     * Frees the work buffers now (a 299-px batch of 11 icons holds ~80 MB of them) rather than at a garbage collection
     * the next stage may not wait for; later calls allocate them again.
     */
    public synchronized void releaseWork() {
        for (Work wk : work.values()) {
            for (INDArray a : new INDArray[] {wk.scaled, wk.ampRows, wk.complexRows, wk.complexByColumn, wk.pixelsByColumn}) {
                try {
                    if (a.closeable()) a.close();
                } catch (RuntimeException e) {
                    // already released: nothing to free
                }
            }
        }
        work.clear();
        org.atlas4j.util.NativeMemory.trim();
    }

    /** How many work-buffer sets were allocated so far (one per distinct row count); for tests. */
    synchronized int workAllocations() {
        return workAllocations;
    }

    private static long check(INDArray a, long columns, String what) {
        if (a.rank() != 2 || a.size(1) != columns || a.dataType() != DataType.FLOAT || a.ordering() != 'c'
                || a.isView()) {
            throw new IllegalArgumentException(what + " must be a c-order, non-view FLOAT [rows, " + columns
                    + "] array, got " + a.dataType() + " " + java.util.Arrays.toString(a.shape()) + " order "
                    + a.ordering() + (a.isView() ? " (view)" : ""));
        }
        return a.size(0);
    }

    private Work workFor(long rows) {
        return work.computeIfAbsent(rows, r -> {
            workAllocations++;
            return new Work(r);
        });
    }

    /** Buffers and fixed views for one row count. */
    private final class Work {
        final INDArray scaled; // [rows, coefficients]
        // A repeated for every row: a same-shape multiply took 0.06-0.3 ms here where the broadcast took 1.4-7 ms
        final INDArray ampRows;
        final INDArray scaledRows; // the same as [rows·h, 2·wf]
        final INDArray complexRows; // [rows·h, 2·w]: per spectrum row, real parts then imaginary parts
        final INDArray complexPerChannel; // the same as [rows, 2h, w]: (channel, ky, re|im) × x
        final INDArray complexByColumn; // [2h, rows, w]: regrouped so that Y is one GEMM
        final INDArray complexByColumnRows; // the same as [2h, rows·w]
        final INDArray pixelsByColumn; // [h, rows, w]
        final INDArray pixelsByColumnRows; // the same as [h, rows·w]

        Work(long rows) {
            scaled = Nd4j.create(DataType.FLOAT, new long[] {rows, coefficients}, 'c');
            ampRows = amp.repeat(0, rows).castTo(DataType.FLOAT).dup('c');
            scaledRows = scaled.reshape('c', rows * height, 2L * halfWidth);
            complexRows = Nd4j.create(DataType.FLOAT, new long[] {rows * height, 2L * width}, 'c');
            complexPerChannel = complexRows.reshape('c', rows, 2L * height, width);
            complexByColumn = Nd4j.create(DataType.FLOAT, new long[] {2L * height, rows, width}, 'c');
            complexByColumnRows = complexByColumn.reshape('c', 2L * height, rows * width);
            pixelsByColumn = Nd4j.create(DataType.FLOAT, new long[] {height, rows, width}, 'c');
            pixelsByColumnRows = pixelsByColumn.reshape('c', height, rows * width);
        }
    }

    /** Random initial coefficients, normal with standard deviation {@code sd} (0.01 in the paper). */
    public static float[] initial(int rows, int coefficients, double sd, java.util.Random rng) {
        float[] p = new float[rows * coefficients];
        for (int i = 0; i < p.length; i++) p[i] = (float) (rng.nextGaussian() * sd);
        return p;
    }
}
