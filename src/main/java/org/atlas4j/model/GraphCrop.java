package org.atlas4j.model;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.atlas4j.model.NativeGraph.Binary;
import org.atlas4j.model.NativeGraph.Concat;
import org.atlas4j.model.NativeGraph.Conv;
import org.atlas4j.model.NativeGraph.Depthwise;
import org.atlas4j.model.NativeGraph.Identity;
import org.atlas4j.model.NativeGraph.InputCrop;
import org.atlas4j.model.NativeGraph.Op;
import org.atlas4j.model.NativeGraph.Pad;
import org.atlas4j.model.NativeGraph.Pool;
import org.atlas4j.model.NativeGraph.Unary;
import org.atlas4j.model.NativeGraph.Window;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * The receptive-field crop of a {@link NativeGraph} for the layer's centre position (what the render objective reads):
 * walking the schedule backwards, each variable gets the window of rows and columns its consumers read (the union over
 * branches, concatenations and additions; through a convolution or pool the exact stride, dilation and padding
 * arithmetic). The cropped schedule computes every variable on its window only; each convolution and pool runs
 * without padding on a {@link Window} of its input that holds the slice it reads plus, where that slice meets the
 * map's border, the zeros (a max pool: −∞, i.e. ignored) the whole computation pads with. So the centre's value and
 * input gradient are exactly the whole map's, for a fraction of its work.
 */
final class GraphCrop {
    /** Keep the whole map when the crop would still compute this share of its multiply-adds (little to save). */
    static final double MAX_WORK_SHARE = 0.9;

    private GraphCrop() {
    }

    /** What an op reads of one input: rows [r0, r1) and columns [c0, c1), and the padding beyond them. */
    private record Need(int r0, int r1, int c0, int c1, int[] pads) {
        boolean padded() {
            return pads[0] + pads[1] + pads[2] + pads[3] > 0;
        }
    }

    /** An op's need along one axis: [start, end) clamped into [0, size), and the padding before and after. */
    private static int[] along(long start, long end, long size) {
        return new int[] {(int) Math.max(0, start), (int) Math.min(size, end), (int) Math.max(0, -start), (int) Math.max(0, end - size)};
    }

    /** geo = kH, kW, sH, sW, pH, pW, dH, dW (as {@link NativeGraph.Conv}); out window w = {r0, r1, c0, c1}. */
    private static Need through(int[] geo, boolean same, long[] in, long[] out, int[] w) {
        long effH = (geo[0] - 1L) * geo[6], effW = (geo[1] - 1L) * geo[7];
        // libnd4j's SAME: the total padding's floor half before, the rest after (ConvolutionUtils.calcPadding2D)
        long pT = same ? Math.max(0, (out[2] - 1) * geo[2] + effH + 1 - in[2]) / 2 : geo[4];
        long pL = same ? Math.max(0, (out[3] - 1) * geo[3] + effW + 1 - in[3]) / 2 : geo[5];
        int[] r = along((long) w[0] * geo[2] - pT, (long) (w[1] - 1) * geo[2] - pT + effH + 1, in[2]);
        int[] c = along((long) w[2] * geo[3] - pL, (long) (w[3] - 1) * geo[3] - pL + effW + 1, in[3]);
        return new Need(r[0], r[1], c[0], c[1], new int[] {r[2], r[3], c[2], c[3]});
    }

    private static int[] poolGeo(Pool p) {
        long[] a = p.iArgs();
        return new int[] {(int) a[0], (int) a[1], (int) a[2], (int) a[3], (int) a[4], (int) a[5], (int) Math.max(1, a[6]),
                (int) Math.max(1, a[7])};
    }

    static NativeGraph.Crop centre(NativeGraph g) {
        return centre(g, MAX_WORK_SHARE);
    }

    /** As {@link #centre(NativeGraph)}, keeping the whole map only when the crop computes more than maxShare of it. */
    static NativeGraph.Crop centre(NativeGraph g, double maxShare) {
        long wholeMacs = g.forwardMacs();
        long[] ts = g.shapes().get(g.targetId());
        if (ts.length != 4) return new NativeGraph.Crop(null, "the layer is not a spatial map", wholeMacs, wholeMacs);
        Windows ws = windows(g);
        if (ws.refusal() != null) return whole(g, ws.refusal(), wholeMacs);
        int[][] win = ws.win();
        if (win[0] == null) return whole(g, "the centre does not depend on the input", wholeMacs);
        Schedule sc = schedule(g, ws);
        if (sc.refusal() != null) return whole(g, sc.refusal(), wholeMacs);
        long[] s0 = g.shapes().get(0);
        InputCrop ic = new InputCrop((int) s0[2], (int) s0[3], win[0][0], win[0][1] - win[0][0], win[0][2], win[0][3] - win[0][2]);
        NativeGraph cropped = g.cropped(sc.ops(), sc.shapes(), sc.names(), sc.id()[g.targetId()], ic);
        long macs = cropped.forwardMacs();
        if (macs > maxShare * wholeMacs || (maxShare < 1 && macs == wholeMacs)) {
            return new NativeGraph.Crop(null, String.format(java.util.Locale.ROOT, "the centre's receptive field (%d×%d of %d×%d input "
                    + "pixels) needs %.0f%% of the whole map's multiply-adds", ic.rows(), ic.cols(), ic.height(), ic.width(),
                    100.0 * macs / Math.max(1, wholeMacs)), wholeMacs, macs);
        }
        String slip = selfCheck(g, cropped);
        if (slip != null) return new NativeGraph.Crop(null, slip, wholeMacs, macs);
        return new NativeGraph.Crop(cropped, null, wholeMacs, macs);
    }

    /**
     * The backward walk: the window {r0, r1, c0, c1} of every variable the centre depends on (null for the others),
     * what each op reads of each input and the value its padding holds; or why the graph cannot be cropped.
     */
    private record Windows(int[][] win, Need[][] needs, double[] padValue, String refusal) {
        static Windows refused(String why) {
            return new Windows(null, null, null, why);
        }
    }

    private static Windows windows(NativeGraph g) {
        List<Op> ops = g.ops();
        List<long[]> shapes = g.shapes();
        int target = g.targetId();
        long[] ts = shapes.get(target);
        int nv = shapes.size();
        int[][] win = new int[nv][];
        win[target] = new int[] {(int) ts[2] / 2, (int) ts[2] / 2 + 1, (int) ts[3] / 2, (int) ts[3] / 2 + 1};
        Need[][] needs = new Need[ops.size()][];
        double[] padValue = new double[ops.size()];
        for (int k = ops.size() - 1; k >= 0; k--) {
            Op op = ops.get(k);
            int[] w = win[op.out()];
            if (w == null) continue; // nothing the centre depends on
            int[] ins = op.ins();
            for (int i : ins) {
                if (shapes.get(i).length != 4) return Windows.refused("a rank-" + shapes.get(i).length + " variable before the layer ("
                        + g.variables().get(i) + ")");
            }
            Need[] n = new Need[ins.length];
            Need same = new Need(w[0], w[1], w[2], w[3], new int[4]);
            switch (op) {
                case Conv c -> n[0] = through(c.geo(), c.same(), shapes.get(c.in()), shapes.get(c.out()), w);
                case Depthwise d -> n[0] = through(d.geo(), d.same(), shapes.get(d.in()), shapes.get(d.out()), w);
                case Pool p -> {
                    int[] geo = poolGeo(p);
                    n[0] = through(geo, p.iArgs()[8] == 1, shapes.get(p.in()), shapes.get(p.out()), w);
                    int[] pads = n[0].pads();
                    if (pads[0] > (geo[0] - 1) * geo[6] || pads[1] > (geo[0] - 1) * geo[6] || pads[2] > (geo[1] - 1) * geo[7]
                            || pads[3] > (geo[1] - 1) * geo[7]) {
                        return Windows.refused("pool " + g.variables().get(p.out()) + " has windows wholly in its padding");
                    }
                    padValue[k] = p.max() ? Double.NEGATIVE_INFINITY : 0;
                }
                case Pad p -> {
                    long[][] pp = p.pads();
                    if (pp.length != 4 || pp[1][0] != 0 || pp[1][1] != 0) return Windows.refused("a pad of the channel axis");
                    long[] in = shapes.get(p.in());
                    int[] r = along(w[0] - pp[2][0], w[1] - pp[2][0], in[2]);
                    int[] c = along(w[2] - pp[3][0], w[3] - pp[3][0], in[3]);
                    n[0] = new Need(r[0], r[1], c[0], c[1], new int[] {r[2], r[3], c[2], c[3]});
                    padValue[k] = p.value();
                }
                case Concat c -> {
                    if (c.axis() != 1) return Windows.refused("a concatenation along axis " + c.axis());
                    Arrays.fill(n, same);
                }
                case Unary u -> n[0] = same;
                case Identity i -> n[0] = same;
                case Binary bi -> Arrays.fill(n, same);
                default -> {
                    return Windows.refused(op.getClass().getSimpleName().toLowerCase(java.util.Locale.ROOT) + " "
                            + g.variables().get(op.out()) + " reads the whole map");
                }
            }
            for (int j = 0; j < ins.length; j++) {
                if (n[j].r1() <= n[j].r0() || n[j].c1() <= n[j].c0()) {
                    return Windows.refused(g.variables().get(op.out()) + " reads only padding at the centre");
                }
                int[] u = win[ins[j]];
                win[ins[j]] = u == null ? new int[] {n[j].r0(), n[j].r1(), n[j].c0(), n[j].c1()}
                        : new int[] {Math.min(u[0], n[j].r0()), Math.max(u[1], n[j].r1()), Math.min(u[2], n[j].c0()), Math.max(u[3], n[j].c1())};
            }
            needs[k] = n;
        }
        return new Windows(win, needs, padValue, null);
    }

    /**
     * The forward walk: the cropped schedule (ops, variable shapes and names, each old variable's new id), with a
     * {@link Window} wherever an op reads less than its input's window or needs padding; or why not.
     */
    private record Schedule(List<Op> ops, List<long[]> shapes, List<String> names, int[] id, String refusal) {
        static Schedule refused(String why) {
            return new Schedule(null, null, null, null, why);
        }
    }

    private static Schedule schedule(NativeGraph g, Windows ws) {
        List<Op> ops = g.ops();
        List<long[]> shapes = g.shapes();
        int nv = shapes.size();
        int[][] win = ws.win();
        Need[][] needs = ws.needs();
        double[] padValue = ws.padValue();
        List<Op> out = new ArrayList<>();
        List<long[]> sh = new ArrayList<>();
        List<String> names = new ArrayList<>();
        int[] id = new int[nv];
        Arrays.fill(id, -1);
        long[] s0 = shapes.get(0);
        id[0] = add(sh, names, new long[] {1, s0[1], win[0][1] - win[0][0], win[0][3] - win[0][2]}, g.variables().get(0));
        for (int k = 0; k < ops.size(); k++) {
            Op op = ops.get(k);
            if (needs[k] == null) continue;
            int o = op.out();
            int[] w = win[o];
            long[] os = shapes.get(o);
            if (op instanceof Pad p) {
                Need n = needs[k][0];
                int[] wi = win[p.in()];
                id[o] = add(sh, names, new long[] {1, os[1], w[1] - w[0], w[3] - w[2]}, g.variables().get(o));
                out.add(new Window(id[o], id[p.in()], n.r0() - wi[0], n.c0() - wi[2], n.pads(), padValue[k]));
                continue;
            }
            int[] ins = op.ins();
            int[] nin = new int[ins.length];
            int[] ownPad = {0, 0};
            for (int j = 0; j < ins.length; j++) {
                Need n = needs[k][j];
                int[] wi = win[ins[j]];
                boolean whole = n.r0() == wi[0] && n.r1() == wi[1] && n.c0() == wi[2] && n.c1() == wi[3];
                if (whole && !n.padded()) {
                    nin[j] = id[ins[j]];
                    continue;
                }
                int[] pd = n.pads();
                int[] geo = op instanceof Conv c ? c.geo() : op instanceof Depthwise d ? d.geo() : op instanceof Pool p ? poolGeo(p) : null;
                // the op's own padding does it without a copy when it reads its input's whole window: libnd4j pads
                // p before and, implicitly, up to p after (the output's size decides), so p before ≥ after > p − stride
                if (whole && geo != null && pd[0] - pd[1] >= 0 && pd[0] - pd[1] < geo[2] && pd[2] - pd[3] >= 0 && pd[2] - pd[3] < geo[3]) {
                    nin[j] = id[ins[j]];
                    ownPad = new int[] {pd[0], pd[2]};
                    continue;
                }
                if (op instanceof Pool p && !p.max() && p.iArgs()[9] == 0) {
                    // libnd4j's avgpool2d extraParam0 = 0 divides by the window's cells inside the map: explicit
                    // zeros would change the divisor
                    return Schedule.refused("average pool " + g.variables().get(p.out()) + " excludes its padding from the "
                            + "divisor and the centre's window meets it on a slice");
                }
                nin[j] = add(sh, names, new long[] {1, shapes.get(ins[j])[1], n.r1() - n.r0() + pd[0] + pd[1],
                        n.c1() - n.c0() + pd[2] + pd[3]}, g.variables().get(ins[j]) + "/window" + k);
                out.add(new Window(nin[j], id[ins[j]], n.r0() - wi[0], n.c0() - wi[2], pd, padValue[k]));
            }
            id[o] = add(sh, names, new long[] {1, os[1], w[1] - w[0], w[3] - w[2]}, g.variables().get(o));
            out.add(switch (op) {
                case Conv c -> new Conv(id[o], nin[0], c.w(), c.b(), padded(c.geo(), ownPad), false);
                case Depthwise d -> new Depthwise(id[o], nin[0], d.w(), d.b(), padded(d.geo(), ownPad), false);
                case Pool p -> {
                    long[] a = p.iArgs().clone();
                    a[4] = ownPad[0];
                    a[5] = ownPad[1];
                    a[8] = 0; // explicit: the Window or the pads above hold the padding
                    yield new Pool(id[o], nin[0], p.max(), a);
                }
                case Concat c -> new Concat(id[o], nin, c.axis());
                case Unary u -> new Unary(id[o], nin[0], u.fn(), u.t());
                case Identity i -> new Identity(id[o], nin[0]);
                case Binary bi -> {
                    int j = 0;
                    int a = bi.a() >= 0 ? nin[j++] : -1;
                    int b = bi.b() >= 0 ? nin[j] : -1;
                    yield new Binary(id[o], a, windowOf(bi.aConst(), os, w), b, windowOf(bi.bConst(), os, w), bi.fn());
                }
                default -> throw new IllegalStateException(op.toString());
            });
        }
        return new Schedule(out, sh, names, id, null);
    }

    private static NativeGraph.Crop whole(NativeGraph g, String why, long wholeMacs) {
        return new NativeGraph.Crop(null, why, wholeMacs, wholeMacs);
    }

    private static int add(List<long[]> shapes, List<String> names, long[] shape, String name) {
        shapes.add(shape);
        names.add(name);
        return shapes.size() - 1;
    }

    private static int[] padded(int[] geo, int[] pad) {
        int[] g = geo.clone();
        g[4] = pad[0];
        g[5] = pad[1];
        return g;
    }

    /** A constant operand restricted to the window when it varies over the map (else as it is: it broadcasts). */
    private static INDArray windowOf(INDArray c, long[] mapShape, int[] w) {
        if (c == null || c.rank() != 4 || (c.size(2) == 1 && c.size(3) == 1)) return c;
        return c.get(NDArrayIndex.all(), NDArrayIndex.all(), c.size(2) == 1 ? NDArrayIndex.all() : NDArrayIndex.interval(w[0], w[1]),
                c.size(3) == 1 ? NDArrayIndex.all() : NDArrayIndex.interval(w[2], w[3])).dup('c');
    }

    /**
     * The centre's values of the cropped engine against the whole engine's on a random input (a slip in the window
     * arithmetic keeps the whole map instead of rendering something else).
     */
    private static String selfCheck(NativeGraph whole, NativeGraph cropped) {
        long[] s0 = whole.shapes().get(0);
        int len = (int) (s0[1] * s0[2] * s0[3]);
        java.util.Random rnd = new java.util.Random(17);
        float[] x = new float[len];
        for (int i = 0; i < len; i++) x[i] = (float) (rnd.nextDouble() * 2 - 1);
        NativeGraph.Session a = whole.inferenceSession(1);
        NativeGraph.Session b = cropped.inferenceSession(1);
        try {
            float[] want = a.forward(x).clone();
            float[] got = b.forward(x);
            double scale = 1, err = 0;
            for (int i = 0; i < want.length; i++) {
                scale = Math.max(scale, Math.abs(want[i]));
                err = Math.max(err, Math.abs(want[i] - got[i]));
            }
            double tol = (whole.dataType() == DataType.DOUBLE ? 1e-9 : 1e-4) * scale;
            return err <= tol ? null : "the cropped engine's centre differs from the whole map's by " + err + " (self-check)";
        } catch (RuntimeException e) {
            return "the cropped engine failed: " + e.getMessage();
        } finally {
            a.close();
            b.close();
        }
    }
}
