package org.atlas4j.model;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import onnx.Onnx;

/** Builds small ONNX models in Java (no torch needed) and computes reference results with plain loops in double. */
final class OnnxGraphs {
    private final List<Onnx.NodeProto> nodes = new ArrayList<>();
    private final List<Onnx.TensorProto> inits = new ArrayList<>();
    private final Random random;
    private boolean raw;

    OnnxGraphs(long seed) {
        this.random = new Random(seed);
    }

    /** An initializer of random values in [-scale, scale]; alternates float_data and raw_data storage. */
    double[] init(String name, double scale, long... dims) {
        int n = 1;
        for (long d : dims) n *= (int) d;
        double[] v = new double[n];
        for (int i = 0; i < n; i++) v[i] = (float) ((random.nextDouble() * 2 - 1) * scale); // exactly what float storage keeps
        init(name, v, dims);
        return v;
    }

    void init(String name, double[] v, long... dims) {
        inits.add(tensor(name, v, raw, dims));
        raw = !raw;
    }

    void initLongs(String name, long... v) {
        inits.add(Onnx.TensorProto.newBuilder().setName(name).addDims(v.length)
                .setDataType(Onnx.TensorProto.DataType.INT64_VALUE).addAllInt64Data(java.util.Arrays.stream(v).boxed().toList())
                .build());
    }

    static Onnx.TensorProto tensor(String name, double[] v, boolean raw, long... dims) {
        var b = Onnx.TensorProto.newBuilder().setName(name).setDataType(Onnx.TensorProto.DataType.FLOAT_VALUE);
        for (long d : dims) b.addDims(d);
        if (raw) {
            ByteBuffer buf = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
            for (double x : v) buf.putFloat((float) x);
            b.setRawData(org.nd4j.shade.protobuf.ByteString.copyFrom(buf.array()));
        } else {
            for (double x : v) b.addFloatData((float) x);
        }
        return b.build();
    }

    Onnx.NodeProto node(String op, String name, List<String> in, List<String> out, Onnx.AttributeProto... attrs) {
        var b = Onnx.NodeProto.newBuilder().setOpType(op).setName(name).addAllInput(in).addAllOutput(out);
        for (var a : attrs) b.addAttribute(a);
        Onnx.NodeProto n = b.build();
        nodes.add(n);
        return n;
    }

    /** One-input, one-output node whose output tensor is named after the node. */
    String op(String op, String name, String in, Onnx.AttributeProto... attrs) {
        node(op, name, List.of(in), List.of(name + "_out"), attrs);
        return name + "_out";
    }

    static Onnx.AttributeProto ints(String name, long... v) {
        return Onnx.AttributeProto.newBuilder().setName(name).setType(Onnx.AttributeProto.AttributeType.INTS)
                .addAllInts(java.util.Arrays.stream(v).boxed().toList()).build();
    }

    static Onnx.AttributeProto i(String name, long v) {
        return Onnx.AttributeProto.newBuilder().setName(name).setType(Onnx.AttributeProto.AttributeType.INT).setI(v).build();
    }

    static Onnx.AttributeProto f(String name, double v) {
        return Onnx.AttributeProto.newBuilder().setName(name).setType(Onnx.AttributeProto.AttributeType.FLOAT).setF((float) v)
                .build();
    }

    static Onnx.AttributeProto s(String name, String v) {
        return Onnx.AttributeProto.newBuilder().setName(name).setType(Onnx.AttributeProto.AttributeType.STRING)
                .setS(org.nd4j.shade.protobuf.ByteString.copyFromUtf8(v)).build();
    }

    static Onnx.AttributeProto t(String name, Onnx.TensorProto v) {
        return Onnx.AttributeProto.newBuilder().setName(name).setType(Onnx.AttributeProto.AttributeType.TENSOR).setT(v).build();
    }

    Onnx.ModelProto model(String input, long[] dims, String output) {
        var shape = Onnx.TensorShapeProto.newBuilder();
        for (long d : dims) shape.addDim(Onnx.TensorShapeProto.Dimension.newBuilder().setDimValue(d));
        var in = Onnx.ValueInfoProto.newBuilder().setName(input).setType(Onnx.TypeProto.newBuilder()
                .setTensorType(Onnx.TypeProto.Tensor.newBuilder().setElemType(1).setShape(shape)));
        var out = Onnx.ValueInfoProto.newBuilder().setName(output);
        var g = Onnx.GraphProto.newBuilder().setName("test").addAllNode(nodes).addAllInitializer(inits).addInput(in).addOutput(out);
        return Onnx.ModelProto.newBuilder().setIrVersion(7).addOpsetImport(Onnx.OperatorSetIdProto.newBuilder().setVersion(13))
                .setGraph(g).build();
    }

    // ---- reference computations (NCHW, double, plain loops) ----

    /** A dense N-D array: values in C order and its dims. */
    record A(double[] v, int... d) {
        static A zeros(int... d) {
            int n = 1;
            for (int x : d) n *= x;
            return new A(new double[n], d);
        }

        int at(int n, int c, int h, int w) {
            return ((n * d[1] + c) * d[2] + h) * d[3] + w;
        }

        double get(int n, int c, int h, int w) {
            return v[at(n, c, h, w)];
        }

        A map(java.util.function.DoubleUnaryOperator f) {
            double[] o = v.clone();
            for (int k = 0; k < o.length; k++) o[k] = f.applyAsDouble(o[k]);
            return new A(o, d);
        }
    }

    /** ONNX Conv: w [O, C/g, kH, kW], pads [top, left, bottom, right]. */
    static A conv(A x, A w, double[] b, int[] s, int[] p, int[] dil, int group) {
        int n = x.d[0], c = x.d[1], h = x.d[2], wd = x.d[3];
        int o = w.d[0], cg = w.d[1], kh = w.d[2], kw = w.d[3];
        int oh = (h + p[0] + p[2] - (dil[0] * (kh - 1) + 1)) / s[0] + 1;
        int ow = (wd + p[1] + p[3] - (dil[1] * (kw - 1) + 1)) / s[1] + 1;
        A y = A.zeros(n, o, oh, ow);
        int og = o / group;
        for (int b0 = 0; b0 < n; b0++) {
            for (int oc = 0; oc < o; oc++) {
                int g = oc / og;
                for (int i = 0; i < oh; i++) {
                    for (int j = 0; j < ow; j++) {
                        double acc = b == null ? 0 : b[oc];
                        for (int ci = 0; ci < cg; ci++) {
                            for (int u = 0; u < kh; u++) {
                                for (int v = 0; v < kw; v++) {
                                    int hh = i * s[0] - p[0] + u * dil[0];
                                    int ww = j * s[1] - p[1] + v * dil[1];
                                    if (hh < 0 || hh >= h || ww < 0 || ww >= wd) continue;
                                    acc += x.get(b0, g * cg + ci, hh, ww) * w.v[((oc * cg + ci) * kh + u) * kw + v];
                                }
                            }
                        }
                        y.v[y.at(b0, oc, i, j)] = acc;
                    }
                }
            }
        }
        return y;
    }

    /** PyTorch's pooling: ceil mode drops windows starting past the input, divisors per count_include_pad. */
    static A pool(A x, int[] k, int[] s, int[] p, boolean ceil, boolean max, boolean includePad) {
        int n = x.d[0], c = x.d[1], h = x.d[2], w = x.d[3];
        int[] in = {h, w};
        int[] out = new int[2];
        for (int a = 0; a < 2; a++) {
            double q = (in[a] + p[a] + p[a + 2] - k[a]) / (double) s[a];
            out[a] = (int) (ceil ? Math.ceil(q) : Math.floor(q)) + 1;
            if (ceil && (out[a] - 1) * s[a] >= in[a] + p[a]) out[a]--;
        }
        A y = A.zeros(n, c, out[0], out[1]);
        for (int b = 0; b < n; b++) {
            for (int ch = 0; ch < c; ch++) {
                for (int i = 0; i < out[0]; i++) {
                    for (int j = 0; j < out[1]; j++) {
                        int h0 = i * s[0] - p[0], w0 = j * s[1] - p[1];
                        int h1 = Math.min(h0 + k[0], h + p[2]), w1 = Math.min(w0 + k[1], w + p[3]);
                        int size = (h1 - h0) * (w1 - w0);
                        double acc = max ? Double.NEGATIVE_INFINITY : 0;
                        int count = 0;
                        for (int hh = Math.max(h0, 0); hh < Math.min(h1, h); hh++) {
                            for (int ww = Math.max(w0, 0); ww < Math.min(w1, w); ww++) {
                                double v = x.get(b, ch, hh, ww);
                                acc = max ? Math.max(acc, v) : acc + v;
                                count++;
                            }
                        }
                        y.v[y.at(b, ch, i, j)] = max ? acc : acc / (includePad ? size : count);
                    }
                }
            }
        }
        return y;
    }

    /** Per-channel affine (BN inference, GAP helpers). */
    static A channelAffine(A x, double[] scale, double[] shift) {
        double[] o = x.v.clone();
        int plane = x.d[2] * x.d[3];
        for (int k = 0; k < o.length; k++) {
            int ch = (k / plane) % x.d[1];
            o[k] = o[k] * scale[ch] + shift[ch];
        }
        return new A(o, x.d);
    }

    static double[][] bn(double[] g, double[] b, double[] mean, double[] var, double eps) {
        double[] sc = new double[g.length];
        double[] sh = new double[g.length];
        for (int c = 0; c < g.length; c++) {
            sc[c] = g[c] / Math.sqrt(var[c] + eps);
            sh[c] = b[c] - mean[c] * sc[c];
        }
        return new double[][] {sc, sh};
    }

    static A gap(A x) {
        A y = A.zeros(x.d[0], x.d[1]);
        int plane = x.d[2] * x.d[3];
        for (int k = 0; k < x.v.length; k++) y.v[k / plane] += x.v[k] / plane;
        return y;
    }

    /** y = x · W (W [K, N] row-major) + bias. */
    static A dense(A x, double[] w, int kIn, int nOut, double[] bias) {
        int n = x.d[0];
        A y = A.zeros(n, nOut);
        for (int b = 0; b < n; b++) {
            for (int o = 0; o < nOut; o++) {
                double acc = bias == null ? 0 : bias[o];
                for (int k = 0; k < kIn; k++) acc += x.v[b * kIn + k] * w[k * nOut + o];
                y.v[b * nOut + o] = acc;
            }
        }
        return y;
    }

    static A pad(A x, int[] p, double value) {
        A y = A.zeros(x.d[0], x.d[1], x.d[2] + p[0] + p[2], x.d[3] + p[1] + p[3]);
        java.util.Arrays.fill(y.v, value);
        for (int b = 0; b < x.d[0]; b++) {
            for (int c = 0; c < x.d[1]; c++) {
                for (int h = 0; h < x.d[2]; h++) {
                    for (int w = 0; w < x.d[3]; w++) y.v[y.at(b, c, h + p[0], w + p[1])] = x.get(b, c, h, w);
                }
            }
        }
        return y;
    }

    /** Concatenation of 2-D [N, *] arrays along axis 1. */
    static A concat2(A... xs) {
        int n = xs[0].d[0];
        int total = 0;
        for (A x : xs) total += x.v.length / n;
        A y = A.zeros(n, total);
        for (int b = 0; b < n; b++) {
            int off = 0;
            for (A x : xs) {
                int w = x.v.length / n;
                System.arraycopy(x.v, b * w, y.v, b * total + off, w);
                off += w;
            }
        }
        return y;
    }

    static A flatten(A x) {
        return new A(x.v, x.d[0], x.v.length / x.d[0]);
    }

    static double[] transpose(double[] m, int rows, int cols) {
        double[] t = new double[m.length];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) t[c * rows + r] = m[r * cols + c];
        }
        return t;
    }
}
