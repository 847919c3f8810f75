package org.atlas4j.util;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Eigen-decomposition of a real symmetric matrix by LAPACK's dsyev (through ND4J, in double precision). Why not
 * Commons Math's EigenDecomposition: it fails with "convergence failed" on covariance and second-moment matrices of
 * real ReLU activations (hundreds of dead channels, i.e. many zero rows and columns), where LAPACK, like numpy's
 * eigh, is fine; it is also O(d³) in Java where dsyev runs on OpenBLAS.
 */
public final class SymmetricEigen {
    /**
     * @param values eigenvalues, descending
     * @param vectors {@code vectors[k]} is the unit eigenvector of {@code values[k]}
     */
    public record Result(double[] values, double[][] vectors) {
    }

    private SymmetricEigen() {
    }

    /** @param a a symmetric d×d matrix (only symmetric up to rounding is fine: the mean of a and aᵀ is used) */
    public static Result of(double[][] a) {
        int d = a.length;
        double[] flat = new double[d * d];
        for (int i = 0; i < d; i++) {
            if (a[i].length != d) throw new IllegalArgumentException("matrix must be square, row " + i + " has " + a[i].length);
            for (int j = 0; j < d; j++) {
                double v = 0.5 * (a[i][j] + a[j][i]);
                if (!Double.isFinite(v)) {
                    throw new IllegalArgumentException("matrix entry (" + i + "," + j + ") is " + v + "; eigenvalues need finite entries");
                }
                // column-major for LAPACK (the same as row-major for a symmetric matrix)
                flat[j * d + i] = v;
            }
        }
        return of(Nd4j.create(flat, new long[] {d, d}, 'f'));
    }

    /** The same for a d×d DOUBLE matrix already on ND4J; {@code a} is overwritten. */
    public static Result of(INDArray a) {
        if (a.dataType() != DataType.DOUBLE) throw new IllegalArgumentException("need a DOUBLE matrix, got " + a.dataType());
        int d = (int) a.rows();
        INDArray w = Nd4j.create(DataType.DOUBLE, d);
        int info = Nd4j.getBlasWrapper().lapack().syev('V', 'U', a, w);
        if (info != 0) throw new IllegalStateException("LAPACK dsyev failed (info " + info + ") on a " + d + "×" + d + " matrix");
        double[] asc = w.toDoubleVector();
        double[] values = new double[d];
        double[][] vectors = new double[d][d];
        for (int k = 0; k < d; k++) {
            int src = d - 1 - k; // dsyev sorts ascending
            values[k] = asc[src];
            for (int i = 0; i < d; i++) vectors[k][i] = a.getDouble(i, src);
        }
        return new Result(values, vectors);
    }
}
