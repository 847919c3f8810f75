package org.atlas4j.reduce;

import java.util.Arrays;
import java.util.SplittableRandom;

import org.apache.commons.math3.fitting.SimpleCurveFitter;
import org.apache.commons.math3.fitting.WeightedObservedPoints;
import org.apache.commons.math3.analysis.ParametricUnivariateFunction;
import org.atlas4j.util.Progress;
import org.atlas4j.util.SymmetricEigen;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import smile.graph.NearestNeighborGraph;

/**
 * UMAP's layout stage (McInnes et al. 2018, as umap-learn 0.5 computes it) on a given kNN graph: fuzzy simplicial set
 * (smooth kNN distances, fuzzy union), PCA start, then the SGD epochs with negative sampling. Why our own: Smile 4's
 * UMAP runs the same algorithm through sparse-matrix iterators and boxed entries, which made its 200 epochs over the
 * demo's 70,000 points take ~45 s here, slower than umap-learn; this loop works on flat primitive arrays with one
 * {@code pow} per attractive sample and is single-threaded with a seeded generator, so a layout is reproducible;
 * with {@code threads > 1} the epochs run in {@link ParallelSgd}, reproducible given the seed and the thread count.
 * Smile's UMAP remains available as the method {@code umap-smile}.
 */
public final class UmapLayout {
    /** Layout settings (umap-learn's names): negative samples per positive, repulsion strength γ, learning rate α. */
    public record Options(int dims, int epochs, double minDist, double spread, int negativeSamples, double repulsion,
            double learningRate, long seed, int threads) {
        public Options {
            if (dims < 1) throw new IllegalArgumentException("dims must be >= 1");
            if (epochs < 1) throw new IllegalArgumentException("epochs must be >= 1");
            if (spread <= 0) throw new IllegalArgumentException("spread must be > 0");
            if (threads < 1) throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        }

        /** Single-threaded: the layout of the sequential algorithm. */
        public Options(int dims, int epochs, double minDist, double spread, int negativeSamples, double repulsion,
                double learningRate, long seed) {
            this(dims, epochs, minDist, spread, negativeSamples, repulsion, learningRate, seed, 1);
        }
    }

    /** The input rows, read by index: double[][] for small inputs, a float matrix seen normalized for large ones. */
    interface Rows {
        int n();

        int d();

        double get(int i, int j);

        static Rows of(double[][] x) {
            return new Rows() {
                public int n() {
                    return x.length;
                }

                public int d() {
                    return x[0].length;
                }

                public double get(int i, int j) {
                    return x[i][j];
                }
            };
        }

        /** Rows of an N×D float matrix scaled to unit length (zero rows stay zero), without a copy. */
        static Rows unit(float[] x, int n, int d) {
            double[] inv = new double[n];
            for (int i = 0; i < n; i++) {
                double s = 0;
                for (int j = 0; j < d; j++) s += (double) x[i * d + j] * x[i * d + j];
                inv[i] = s > 0 ? 1 / Math.sqrt(s) : 0;
            }
            return new Rows() {
                public int n() {
                    return n;
                }

                public int d() {
                    return d;
                }

                public double get(int i, int j) {
                    return x[i * d + j] * inv[i];
                }
            };
        }
    }

    private UmapLayout() {
    }

    /**
     * @param data the rows the graph was built on (for the PCA start)
     * @param graph k nearest neighbours of every row (no self), distances in the layout's metric
     * @return N×dims coordinates
     */
    public static double[][] fit(double[][] data, NearestNeighborGraph graph, Options o, Progress bar) {
        return fit(Rows.of(data), graph, o, bar);
    }

    static double[][] fit(Rows data, NearestNeighborGraph graph, Options o, Progress bar) {
        int n = data.n();
        int[][] nbr = graph.neighbors();
        double[][] dist = graph.distances();
        // 1. fuzzy simplicial set: per-point membership, then the fuzzy union A + Aᵀ − A∘Aᵀ
        Edges e = fuzzyUnion(n, nbr, dist);
        // 2. drop edges too weak to be sampled in the run (umap-learn does the same), epochs per sample
        double max = 0;
        for (int i = 0; i < e.size; i++) max = Math.max(max, e.weight[i]);
        double floor = max / o.epochs();
        int m = 0;
        for (int i = 0; i < e.size; i++) {
            if (e.weight[i] >= floor) {
                e.head[m] = e.head[i];
                e.tail[m] = e.tail[i];
                e.weight[m] = e.weight[i];
                m++;
            }
        }
        double[] eps = new double[m];
        for (int i = 0; i < m; i++) eps[i] = max / e.weight[i];
        // 3. start: PCA of the data scaled to [0, 10] with a little noise (as Smile and umap-learn do for "pca")
        SplittableRandom rng = new SplittableRandom(o.seed());
        double[] y = pcaStart(data, o.dims(), rng);
        double[] ab = fitAB(o.minDist(), o.spread());
        if (o.threads() == 1) {
            optimize(y, o.dims(), n, Arrays.copyOf(e.head, m), Arrays.copyOf(e.tail, m), eps, ab[0], ab[1], o, rng, bar);
        } else {
            ParallelSgd.optimize(y, o.dims(), n, Arrays.copyOf(e.head, m), Arrays.copyOf(e.tail, m), eps, ab[0], ab[1], o,
                    rng, bar);
        }
        double[][] out = new double[n][o.dims()];
        for (int i = 0; i < n; i++) System.arraycopy(y, i * o.dims(), out[i], 0, o.dims());
        return out;
    }

    /** Edges as parallel arrays (both directions of every pair, as umap-learn's COO graph). */
    static final class Edges {
        int[] head;
        int[] tail;
        double[] weight;
        int size;
    }

    /** umap-learn's smooth_knn_dist + compute_membership_strengths + fuzzy union (set_op_mix_ratio 1). */
    static Edges fuzzyUnion(int n, int[][] nbr, double[][] dist) {
        double[][] w = memberships(n, nbr, dist);
        return sortedByHead(probabilisticOr(n, nbr, w));
    }

    /**
     * Directed memberships w(i→j) = exp(−(d − ρᵢ)/σᵢ): ρᵢ the nearest non-zero distance (local connectivity 1), σᵢ
     * by bisection so the k memberships sum to log₂ k (umap-learn's smooth_knn_dist, bandwidth 1).
     */
    static double[][] memberships(int n, int[][] nbr, double[][] dist) {
        int k = nbr[0].length;
        double target = Math.log(k) / Math.log(2); // log2(k), bandwidth 1
        double meanAll = 0;
        for (double[] d : dist) for (double v : d) meanAll += v;
        meanAll /= (double) n * k;
        // directed memberships, row by row, in a hash-free layout: for each i its k (j, w) pairs
        double[][] w = new double[n][k];
        for (int i = 0; i < n; i++) {
            double[] d = dist[i];
            double rho = 0;
            for (double v : d) if (v > 0) { rho = v; break; } // local connectivity 1: nearest non-zero distance
            double mid = bandwidth(d, rho, target);
            double meanI = 0;
            for (double v : d) meanI += v;
            meanI /= k;
            double sigma = rho > 0 ? Math.max(mid, 1e-3 * meanI) : Math.max(mid, 1e-3 * meanAll);
            for (int j = 0; j < k; j++) {
                double dd = d[j] - rho;
                w[i][j] = nbr[i][j] == i ? 0 : (dd <= 0 ? 1 : Math.exp(-dd / sigma));
            }
        }
        return w;
    }

    /** σ with Σⱼ exp(−max(0, dⱼ − ρ)/σ) = target, by 64 steps of bisection (doubling while unbounded above). */
    private static double bandwidth(double[] d, double rho, double target) {
        double lo = 0, hi = Double.POSITIVE_INFINITY, mid = 1;
        for (int it = 0; it < 64; it++) {
            double psum = 0;
            for (double v : d) {
                double dd = v - rho;
                psum += dd > 0 ? Math.exp(-dd / mid) : 1;
            }
            if (Math.abs(psum - target) < 1e-5) break;
            if (psum > target) {
                hi = mid;
                mid = (lo + hi) / 2;
            } else {
                lo = mid;
                mid = hi == Double.POSITIVE_INFINITY ? mid * 2 : (lo + hi) / 2;
            }
        }
        return mid;
    }

    /** Fuzzy union: for each unordered pair {i, j}: a + b − a·b where a = w(i→j), b = w(j→i) (0 if absent); both directions. */
    static Edges probabilisticOr(int n, int[][] nbr, double[][] w) {
        int k = nbr[0].length;
        long[] keys = new long[n * k];
        double[] vals = new double[n * k];
        int q = 0;
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < k; j++) {
                keys[q] = ((long) i << 32) | nbr[i][j];
                vals[q] = w[i][j];
                q++;
            }
        }
        int[] idx = sortIndex(keys); // keys sorted with their values, for the reverse-direction lookups
        long[] sk = new long[q];
        double[] sv = new double[q];
        for (int i = 0; i < q; i++) {
            sk[i] = keys[idx[i]];
            sv[i] = vals[idx[i]];
        }
        Edges e = new Edges();
        e.head = new int[2 * q];
        e.tail = new int[2 * q];
        e.weight = new double[2 * q];
        int s = 0;
        for (int p = 0; p < q; p++) {
            int i = (int) (sk[p] >>> 32);
            int j = (int) sk[p];
            if (i == j) continue;
            double a = sv[p];
            double b = lookup(sk, sv, ((long) j << 32) | i);
            if (b >= 0 && j < i) continue; // the pair was emitted from j's side
            double u = b >= 0 ? a + b - a * b : a;
            if (u <= 0) continue;
            e.head[s] = i;
            e.tail[s] = j;
            e.weight[s] = u;
            s++;
            e.head[s] = j;
            e.tail[s] = i;
            e.weight[s] = u;
            s++;
        }
        e.size = s;
        return e;
    }

    /** Rows in order of head (then tail), as umap-learn's CSR→COO conversion gives them. */
    static Edges sortedByHead(Edges e) {
        int s = e.size;
        long[] ord = new long[s];
        for (int p = 0; p < s; p++) ord[p] = ((long) e.head[p] << 32) | e.tail[p];
        int[] oi = sortIndex(ord);
        Edges out = new Edges();
        out.head = new int[s];
        out.tail = new int[s];
        out.weight = new double[s];
        for (int p = 0; p < s; p++) {
            out.head[p] = e.head[oi[p]];
            out.tail[p] = e.tail[oi[p]];
            out.weight[p] = e.weight[oi[p]];
        }
        out.size = s;
        return out;
    }

    private static double lookup(long[] sortedKeys, double[] vals, long key) {
        int p = Arrays.binarySearch(sortedKeys, key);
        return p >= 0 ? vals[p] : -1;
    }

    /** Indices that sort {@code keys} ascending (keys are distinct). */
    private static int[] sortIndex(long[] keys) {
        long[] copy = keys.clone();
        Arrays.sort(copy);
        int[] idx = new int[keys.length];
        for (int i = 0; i < keys.length; i++) idx[Arrays.binarySearch(copy, keys[i])] = i;
        return idx;
    }

    /**
     * PCA projection to {@code dims}, scaled so the largest |coordinate| is 10, noise 1e-4, then each axis to [0, 10].
     * Principal axes by LAPACK (double precision) on the smaller of the D×D covariance and the N×N Gram matrix of the
     * centred rows (N < D is common: 150 images of a 768-channel layer), each with a fixed sign (largest component
     * positive). An axis without variance (all rows identical, or fewer distinct rows than {@code dims}) has no
     * direction to project on: its coordinates are drawn uniformly in [0, 10) from the seeded generator, umap-learn's
     * random start, so such inputs still give a reproducible layout instead of an error or NaN.
     */
    static double[] pcaStart(double[][] x, int dims, SplittableRandom rng) {
        return pcaStart(Rows.of(x), dims, rng);
    }

    static double[] pcaStart(Rows x, int dims, SplittableRandom rng) {
        int n = x.n();
        int d = x.d();
        double[] mean = new double[d];
        for (int i = 0; i < n; i++) for (int j = 0; j < d; j++) mean[j] += x.get(i, j);
        for (int j = 0; j < d; j++) mean[j] /= n;
        double[][] axes = principalAxes(x, mean, dims);
        double[] y = new double[n * dims];
        double absMax = 0;
        for (int i = 0; i < n; i++) {
            for (int k = 0; k < dims; k++) {
                if (axes[k] == null) continue;
                double s = 0;
                for (int j = 0; j < d; j++) s += (x.get(i, j) - mean[j]) * axes[k][j];
                y[i * dims + k] = s;
                absMax = Math.max(absMax, Math.abs(s));
            }
        }
        double scale = absMax > 0 ? 10 / absMax : 1;
        for (int i = 0; i < y.length; i++) y[i] = y[i] * scale + rng.nextGaussian() * 1e-4;
        for (int k = 0; k < dims; k++) {
            if (axes[k] == null) for (int i = 0; i < n; i++) y[i * dims + k] = 10 * rng.nextDouble();
        }
        for (int k = 0; k < dims; k++) {
            double lo = Double.POSITIVE_INFINITY, hi = Double.NEGATIVE_INFINITY;
            for (int i = 0; i < n; i++) {
                lo = Math.min(lo, y[i * dims + k]);
                hi = Math.max(hi, y[i * dims + k]);
            }
            double span = hi > lo ? hi - lo : 1;
            for (int i = 0; i < n; i++) y[i * dims + k] = 10 * (y[i * dims + k] - lo) / span;
        }
        return y;
    }

    /** Rows per GEMM when accumulating the covariance: bounds the off-heap copy to ROWS·D doubles. */
    private static final int COVARIANCE_ROWS = 4096;

    /**
     * The top {@code dims} unit principal axes of the rows of x (centred on mean), or null for an axis whose
     * variance is zero up to rounding.
     */
    static double[][] principalAxes(double[][] x, double[] mean, int dims) {
        return principalAxes(Rows.of(x), mean, dims);
    }

    static double[][] principalAxes(Rows x, double[] mean, int dims) {
        int n = x.n();
        int d = mean.length;
        double energy = 0; // uncentred Σ|x|², the scale that decides what is rounding noise
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < d; j++) {
                double v = x.get(i, j);
                energy += v * v;
            }
        }
        double[][] axes = new double[dims][];
        SymmetricEigen.Result eig;
        boolean gram = n < d;
        if (gram) {
            // N×N Gram matrix C·Cᵀ: same non-zero spectrum as the covariance, axes v = Cᵀu / |Cᵀu|
            INDArray c = centred(x, mean, 0, n);
            eig = SymmetricEigen.of(c.mmul(c.transpose()).dup('f'));
        } else {
            INDArray cov = Nd4j.create(DataType.DOUBLE, new long[] {d, d}, 'f'); // zero-filled
            for (int start = 0; start < n; start += COVARIANCE_ROWS) {
                INDArray c = centred(x, mean, start, Math.min(n, start + COVARIANCE_ROWS));
                Nd4j.gemm(c, c, cov, true, false, 1.0, 1.0);
            }
            eig = SymmetricEigen.of(cov);
        }
        double top = Math.max(eig.values()[0], 0);
        // below this an eigenvalue is rounding noise of the centring (rows identical up to ~1e-16 relative)
        double zero = Math.max(1e-20 * energy, 1e-12 * top);
        for (int k = 0; k < dims && k < eig.values().length; k++) {
            if (!(eig.values()[k] > zero)) break;
            double[] v;
            if (gram) {
                double[] u = eig.vectors()[k];
                v = new double[d];
                for (int i = 0; i < n; i++) {
                    double ui = u[i];
                    for (int j = 0; j < d; j++) v[j] += (x.get(i, j) - mean[j]) * ui;
                }
                double norm = 0;
                for (double t : v) norm += t * t;
                norm = Math.sqrt(norm);
                if (!(norm > 0)) break;
                for (int j = 0; j < d; j++) v[j] /= norm;
            } else {
                v = eig.vectors()[k].clone();
            }
            // a fixed sign (largest component positive) so the start does not depend on the eigen-solver's choice
            int arg = 0;
            for (int j = 1; j < d; j++) if (Math.abs(v[j]) > Math.abs(v[arg])) arg = j;
            if (v[arg] < 0) for (int j = 0; j < d; j++) v[j] = -v[j];
            axes[k] = v;
        }
        return axes;
    }

    /** Rows [from, to) of x minus mean, as a DOUBLE [to − from, D] array. */
    private static INDArray centred(Rows x, double[] mean, int from, int to) {
        int d = mean.length;
        double[] flat = new double[(to - from) * d];
        for (int i = from; i < to; i++) for (int j = 0; j < d; j++) flat[(i - from) * d + j] = x.get(i, j) - mean[j];
        return Nd4j.create(flat, new long[] {to - from, d}, 'c');
    }

    /** a, b of 1/(1 + a·x^(2b)) fitted to the min_dist/spread curve on [0, 3·spread] (umap-learn's find_ab_params). */
    static double[] fitAB(double minDist, double spread) {
        WeightedObservedPoints pts = new WeightedObservedPoints();
        for (int i = 0; i < 300; i++) {
            double x = 3 * spread * i / 299.0;
            pts.add(x, x < minDist ? 1 : Math.exp(-(x - minDist) / spread));
        }
        ParametricUnivariateFunction f = new ParametricUnivariateFunction() {
            public double value(double x, double... p) {
                return 1 / (1 + p[0] * Math.pow(x, 2 * p[1]));
            }

            public double[] gradient(double x, double... p) {
                if (x == 0) return new double[] {0, 0};
                double x2b = Math.pow(x, 2 * p[1]);
                double den = (1 + p[0] * x2b) * (1 + p[0] * x2b);
                return new double[] {-x2b / den, -p[0] * x2b * 2 * Math.log(x) / den};
            }
        };
        return SimpleCurveFitter.create(f, new double[] {1, 1}).withMaxIterations(1000).fit(pts.toList());
    }

    /** umap-learn's optimize_layout_euclidean (move_other = true), single-threaded with a seeded generator. */
    static void optimize(double[] y, int dims, int n, int[] head, int[] tail, double[] eps, double a, double b, Options o,
            SplittableRandom rng, Progress bar) {
        int m = head.length;
        double[] epsNeg = new double[m];
        double[] nextSample = new double[m];
        double[] nextNeg = new double[m];
        for (int i = 0; i < m; i++) {
            epsNeg[i] = eps[i] / o.negativeSamples();
            nextSample[i] = eps[i];
            nextNeg[i] = epsNeg[i];
        }
        double gamma = o.repulsion();
        double[] cur = new double[dims];
        for (int epoch = 0; epoch < o.epochs(); epoch++) {
            double alpha = o.learningRate() * (1 - epoch / (double) o.epochs());
            for (int i = 0; i < m; i++) {
                if (nextSample[i] > epoch) continue;
                int j = head[i] * dims;
                int k = tail[i] * dims;
                double d2 = 0;
                for (int c = 0; c < dims; c++) {
                    double t = y[j + c] - y[k + c];
                    d2 += t * t;
                }
                if (d2 > 0) {
                    double pb = Math.pow(d2, b);
                    double coeff = -2 * a * b * (pb / d2) / (a * pb + 1);
                    for (int c = 0; c < dims; c++) {
                        double g = clip(coeff * (y[j + c] - y[k + c]));
                        y[j + c] += g * alpha;
                        y[k + c] -= g * alpha;
                    }
                }
                nextSample[i] += eps[i];
                int negatives = (int) ((epoch - nextNeg[i]) / epsNeg[i]);
                for (int p = 0; p < negatives; p++) {
                    int r = rng.nextInt(n);
                    int kk = r * dims;
                    double e2 = 0;
                    for (int c = 0; c < dims; c++) {
                        double t = y[j + c] - y[kk + c];
                        e2 += t * t;
                    }
                    if (e2 > 0) {
                        double coeff = 2 * gamma * b / ((0.001 + e2) * (a * Math.pow(e2, b) + 1));
                        for (int c = 0; c < dims; c++) y[j + c] += clip(coeff * (y[j + c] - y[kk + c])) * alpha;
                    } else if (r != head[i]) {
                        for (int c = 0; c < dims; c++) y[j + c] += 4 * alpha; // coincident: umap-learn's fixed push
                    }
                }
                nextNeg[i] += negatives * epsNeg[i];
            }
            if (bar != null) bar.step(1);
        }
    }

    private static double clip(double v) {
        return v > 4 ? 4 : (v < -4 ? -4 : v);
    }
}
