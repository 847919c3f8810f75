#!/usr/bin/env python3
"""PyTorch's side of `./atlas bench --vs-peers --model NET.onnx`: runs THE SAME .onnx file as atlas4j.

torch 1.13 cannot load ONNX, so this file reads the protobuf itself (a ~60-line wire-format decoder: no `onnx`
package needed) and runs each node with the torch.nn.functional call a torchvision module would make (F.conv2d,
F.max_pool2d, torch.cat, ...). Why not rebuild the torchvision architecture with the fixture script's seed: that only
works for our four fixtures, breaks if torch's RNG or the calibration photos change, and cannot serve a user's own
model; reading the file guarantees identical weights (the Java side checks the logits) for any ONNX atlas4j imports.
BatchNorm is folded into Conv by torch's export, so torch runs the same arithmetic atlas4j runs.

Usage: onnx_peer.py STAGE JSON_ARGS, STAGE one of check, collect, render, gradcam. Prints one JSON object.
"""
import json, math, struct, sys, time

import numpy as np


# ---- protobuf wire format (just enough of onnx.proto) ----

def _varint(b, i):
    r = s = 0
    while True:
        c = b[i]
        i += 1
        r |= (c & 0x7F) << s
        if c < 0x80:
            return r, i
        s += 7


def _fields(b):
    """(field number, wire type, value) of one message; value is int for varints, bytes for the rest."""
    i, n = 0, len(b)
    while i < n:
        key, i = _varint(b, i)
        f, t = key >> 3, key & 7
        if t == 0:
            v, i = _varint(b, i)
        elif t == 1:
            v, i = b[i:i + 8], i + 8
        elif t == 2:
            ln, i = _varint(b, i)
            v, i = b[i:i + ln], i + ln
        elif t == 5:
            v, i = b[i:i + 4], i + 4
        else:
            raise ValueError('unsupported protobuf wire type %d' % t)
        yield f, t, v


def _signed(v):
    return v - (1 << 64) if v >= 1 << 63 else v


def _ints(t, v):
    if t == 0:
        return [_signed(v)]
    out, i = [], 0
    while i < len(v):
        x, i = _varint(v, i)
        out.append(_signed(x))
    return out


_DTYPES = {1: np.float32, 2: np.uint8, 3: np.int8, 6: np.int32, 7: np.int64, 9: np.bool_, 10: np.float16, 11: np.float64}


def _tensor(b):
    dims, dtype, raw, floats, ints, name = [], 1, None, [], [], ''
    for f, t, v in _fields(b):
        if f == 1:
            dims += _ints(t, v)
        elif f == 2:
            dtype = v
        elif f == 4:
            floats += list(struct.unpack('<%df' % (len(v) // 4), v)) if t == 2 else [struct.unpack('<f', v)[0]]
        elif f in (5, 7):
            ints += _ints(t, v)
        elif f == 8:
            name = bytes(v).decode()
        elif f == 9:
            raw = bytes(v)
    if raw is not None:
        a = np.frombuffer(raw, dtype=_DTYPES[dtype]).copy()
    elif floats:
        a = np.array(floats, dtype=np.float32)
    else:
        a = np.array(ints, dtype=_DTYPES.get(dtype, np.int64))
    return name, a.reshape(dims) if dims else a.reshape(())


def _attribute(b):
    name, val, ints, floats = '', None, [], []
    for f, t, v in _fields(b):
        if f == 1:
            name = bytes(v).decode()
        elif f == 2:
            val = struct.unpack('<f', v)[0]
        elif f == 3:
            val = _signed(v)
        elif f == 4:
            val = bytes(v).decode()
        elif f == 5:
            val = _tensor(v)[1]
        elif f == 7:
            floats += list(struct.unpack('<%df' % (len(v) // 4), v)) if t == 2 else [struct.unpack('<f', v)[0]]
        elif f == 8:
            ints += _ints(t, v)
    if val is None:
        val = ints if ints else floats
    return name, val


def read_onnx(path):
    """(nodes, initializers, input name, output names); a node is (op, inputs, outputs, attributes)."""
    data = memoryview(open(path, 'rb').read())
    graph = next(v for f, t, v in _fields(data) if f == 7)
    nodes, inits, inputs, outputs = [], {}, [], []
    for f, t, v in _fields(graph):
        if f == 1:
            ins, outs, op, attrs = [], [], '', {}
            for g, _, w in _fields(v):
                if g == 1:
                    ins.append(bytes(w).decode())
                elif g == 2:
                    outs.append(bytes(w).decode())
                elif g == 4:
                    op = bytes(w).decode()
                elif g == 5:
                    k, a = _attribute(w)
                    attrs[k] = a
            nodes.append((op, ins, outs, attrs))
        elif f == 5:
            k, a = _tensor(v)
            inits[k] = a
        elif f in (11, 12):
            name = next(bytes(w).decode() for g, _, w in _fields(v) if g == 1)
            (inputs if f == 11 else outputs).append(name)
    real = [i for i in inputs if i not in inits]
    return nodes, inits, real[0], outputs


# ---- the graph as torch calls ----

class OnnxNet:
    def __init__(self, path):
        import torch
        nodes, inits, self.input, self.outputs = read_onnx(path)
        self.nodes = nodes
        self.consts = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in inits.items()}
        for op, ins, outs, a in nodes:
            if op == 'Constant':
                self.consts[outs[0]] = torch.from_numpy(np.ascontiguousarray(a['value']))

    def plan(self, targets):
        """The nodes needed for the target tensors, in graph order."""
        need, keep = set(targets), []
        for node in reversed(self.nodes):
            if node[0] != 'Constant' and any(o in need for o in node[2]):
                keep.append(node)
                need.update(i for i in node[1] if i)
        return keep[::-1]

    def run(self, x, targets, plan=None):
        env = dict(self.consts)
        env[self.input] = x
        for op, ins, outs, a in plan if plan is not None else self.plan(targets):
            env[outs[0]] = self.op(op, [env[i] if i else None for i in ins], a)
        return [env[t] for t in targets]

    @staticmethod
    def _pool_pads(x, a, fill):
        import torch.nn.functional as F
        p = list(a.get('pads', [0, 0, 0, 0]))
        if p[0] == p[2] and p[1] == p[3]:
            return x, (p[0], p[1])
        return F.pad(x, (p[1], p[3], p[0], p[2]), value=fill), (0, 0)

    def op(self, op, x, a):
        import torch
        import torch.nn.functional as F
        if op == 'Conv':
            h, pad = self._pool_pads(x[0], a, 0.0)
            return F.conv2d(h, x[1], x[2] if len(x) > 2 else None, stride=a.get('strides', [1, 1]), padding=pad,
                            dilation=a.get('dilations', [1, 1]), groups=a.get('group', 1))
        if op == 'Relu':
            return F.relu(x[0])
        if op == 'Clip':
            lo = float(x[1]) if len(x) > 1 and x[1] is not None else a.get('min')
            hi = float(x[2]) if len(x) > 2 and x[2] is not None else a.get('max')
            return torch.clamp(x[0], lo, hi)
        if op == 'LeakyRelu':
            return F.leaky_relu(x[0], a.get('alpha', 0.01))
        if op == 'Sigmoid':
            return torch.sigmoid(x[0])
        if op == 'Tanh':
            return torch.tanh(x[0])
        if op == 'MaxPool':
            h, pad = self._pool_pads(x[0], a, float('-inf'))
            return F.max_pool2d(h, a['kernel_shape'], a.get('strides', a['kernel_shape']), pad,
                                dilation=a.get('dilations', [1, 1]), ceil_mode=bool(a.get('ceil_mode', 0)))
        if op == 'AveragePool':
            h, pad = self._pool_pads(x[0], a, 0.0)
            return F.avg_pool2d(h, a['kernel_shape'], a.get('strides', a['kernel_shape']), pad,
                                ceil_mode=bool(a.get('ceil_mode', 0)), count_include_pad=bool(a.get('count_include_pad', 0)))
        if op in ('GlobalAveragePool', 'ReduceMean'):
            return x[0].mean(dim=(2, 3), keepdim=True)
        if op == 'GlobalMaxPool':
            return torch.amax(x[0], dim=(2, 3), keepdim=True)
        if op == 'Add':
            return x[0] + x[1]
        if op == 'Sub':
            return x[0] - x[1]
        if op == 'Mul':
            return x[0] * x[1]
        if op == 'Div':
            return x[0] / x[1]
        if op == 'Concat':
            return torch.cat(x, a.get('axis', 1))
        if op == 'Flatten':
            return x[0].flatten(a.get('axis', 1))
        if op == 'Reshape':
            shape = [int(s) for s in x[1].tolist()]
            shape = [x[0].shape[k] if s == 0 else s for k, s in enumerate(shape)]
            if -1 not in shape:
                shape[0] = -1  # the export's batch of 1
            return x[0].reshape(shape)
        if op == 'Gemm':
            aa = x[0].t() if a.get('transA', 0) else x[0]
            w = x[1] if a.get('transB', 0) else x[1].t()  # F.linear takes [out, in]
            y = F.linear(aa, w)
            if a.get('alpha', 1.0) != 1.0:
                y = y * a['alpha']
            if len(x) > 2 and x[2] is not None:
                y = y + a.get('beta', 1.0) * x[2]
            return y
        if op == 'MatMul':
            return x[0] @ x[1]
        if op in ('Dropout', 'Identity'):
            return x[0]
        if op == 'Softmax':
            return torch.softmax(x[0], a.get('axis', -1))
        if op == 'Pad':
            p = [int(v) for v in (x[1].tolist() if len(x) > 1 and x[1] is not None else a['pads'])]
            n = len(p) // 2
            tp = []
            for d in reversed(range(n)):
                tp += [p[d], p[d + n]]
            value = float(x[2]) if len(x) > 2 and x[2] is not None else a.get('value', 0.0)
            mode = a.get('mode', 'constant')
            while len(tp) > 4 and tp[-1] == 0 and tp[-2] == 0:
                tp = tp[:-2]  # torch pads only the trailing dims for reflect/replicate
            return F.pad(x[0], tp, mode=mode, value=value) if mode == 'constant' else F.pad(x[0], tp, mode=mode)
        raise SystemExit('onnx_peer.py: op %s is not supported' % op)


# ---- stages ----

def _setup(a):
    import torch
    torch.set_num_threads(a['threads'])
    torch.manual_seed(a.get('seed', 0))
    net = OnnxNet(a['model'])
    for t in net.consts.values():
        t.requires_grad_(False)
    return torch, net


def _noise(torch, n, shape, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randn((n,) + tuple(shape), generator=g)


def check(a):
    """Logits of the inputs atlas4j saved, for the same-weights check."""
    torch, net = _setup(a)
    x = torch.from_numpy(np.load(a['inputs']))
    with torch.no_grad():
        logits, = net.run(x, [net.outputs[0]])
    return {'logits': logits.numpy().astype(float).tolist()}


def collect(a):
    """Forward to the layer and the logits (what collect needs), batch by batch; the first round warms up."""
    torch, net = _setup(a)
    n, b = a['images'], a['batch']
    x = _noise(torch, n, a['shape'], 1)
    targets = [a['tensor'], net.outputs[0]]
    plan = net.plan(targets)
    with torch.no_grad():
        net.run(x[:b], targets, plan)  # warm-up
        t0 = time.perf_counter()
        for s in range(0, n, b):
            act, logits = net.run(x[s:s + b], targets, plan)
            torch.softmax(logits, 1).argmax(1)
        secs = time.perf_counter() - t0
    return {'images_per_second': n / secs, 'seconds': secs}


def _maps_per_second(maps, x, n, b):
    """Times maps() over n images in batches of b after one untimed warm-up batch."""
    maps(x[:b])  # warm-up
    t0 = time.perf_counter()
    for s in range(0, n, b):
        maps(x[s:s + b])
    secs = time.perf_counter() - t0
    return {'maps_per_second': n / secs, 'seconds': secs}


def gradcam(a):
    """Grad-CAM: forward to the logits keeping the layer, ∂(top-1 score)/∂layer through the part after it only
    (weights need no gradient), channel weights = the gradient's spatial mean, ReLU of the weighted sum, upsampled."""
    import torch.nn.functional as F
    torch, net = _setup(a)
    n, b = a['images'], a['batch']
    x = _noise(torch, n, a['shape'], 2)
    targets = [a['tensor'], net.outputs[0]]
    plan = net.plan(targets)
    plan_head = [nd for nd in plan if nd not in net.plan([a['tensor']])]

    def maps(xb):
        with torch.no_grad():
            act, = net.run(xb, [a['tensor']])
        act.requires_grad_(True)
        env = dict(net.consts)
        env[a['tensor']] = act
        for op, ins, outs, at in plan_head:
            env[outs[0]] = net.op(op, [env[i] if i else None for i in ins], at)
        logits = env[net.outputs[0]]
        cls = logits.argmax(1)
        score = logits.gather(1, cls[:, None]).sum()
        g, = torch.autograd.grad(score, act)
        with torch.no_grad():
            w = g.mean(dim=(2, 3), keepdim=True)
            cam = F.relu((w * act).sum(1, keepdim=True))
            return F.interpolate(cam, size=tuple(a['shape'][1:]), mode='bilinear', align_corners=False)

    return _maps_per_second(maps, x, n, b)


def saliency(a):
    """Gradient saliency: ∂(top-1 score)/∂input through the whole network, max |·| over channels."""
    torch, net = _setup(a)
    n, b = a['images'], a['batch']
    x = _noise(torch, n, a['shape'], 4)
    plan = net.plan([net.outputs[0]])

    def maps(xb):
        xb = xb.clone().requires_grad_(True)
        logits, = net.run(xb, [net.outputs[0]], plan)
        cls = logits.argmax(1)
        g, = torch.autograd.grad(logits.gather(1, cls[:, None]).sum(), xb)
        return g.abs().amax(1)

    return _maps_per_second(maps, x, n, b)


def render(a):
    """Feature visualization as atlas4j's render does it: Fourier-parameterized image (colour-decorrelated for RGB),
    sigmoid, random pad/jitter/scale/rotate as one bilinear resample, objective dot(a, v)·cos^4 at the centre of the
    layer's map, Adam 0.05; the network up to the layer only. One warm-up step is not timed."""
    import torch.nn.functional as F
    torch, net = _setup(a)
    k, steps = a['icons'], a['steps']
    c, size = a['shape'][0], a['shape'][1]
    plan = net.plan([a['tensor']])
    dirs = torch.from_numpy(np.load(a['directions'])[:k])
    freq_h = torch.fft.fftfreq(size)[:, None]
    freq_w = torch.fft.rfftfreq(size)[None, :]
    scale = 1.0 / torch.maximum(torch.sqrt(freq_h ** 2 + freq_w ** 2), torch.tensor(1.0 / size))
    colour = torch.tensor([[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]]) if c == 3 else None
    spectrum = (torch.randn(k, c, size, size // 2 + 1, 2) * 0.01).requires_grad_(True)
    opt = torch.optim.Adam([spectrum], lr=0.05)

    def step():
        opt.zero_grad()
        img = torch.fft.irfft2(torch.view_as_complex(spectrum) * scale, s=(size, size), norm='ortho')
        if colour is not None:
            img = torch.einsum('ij,bjhw->bihw', colour, img)
        img = torch.sigmoid(img * 4)
        ang = (torch.rand(k) - 0.5) * (10 * math.pi / 180)
        sc = 1 + (torch.rand(k) - 0.5) * 0.1
        tx, ty = (torch.rand(k) - 0.5) * 0.2, (torch.rand(k) - 0.5) * 0.2
        theta = torch.stack([torch.stack([sc * torch.cos(ang), -sc * torch.sin(ang), tx], 1),
                             torch.stack([sc * torch.sin(ang), sc * torch.cos(ang), ty], 1)], 1)
        grid = F.affine_grid(theta, img.shape, align_corners=False)
        xin = F.grid_sample(F.pad(img, (4, 4, 4, 4), mode='replicate'), grid, align_corners=False)
        act, = net.run(xin, [a['tensor']], plan)
        centre = act[:, :, act.shape[2] // 2, act.shape[3] // 2]
        dot = (centre * dirs).sum(1)
        cos = dot / (centre.norm(dim=1) * dirs.norm(dim=1) + 1e-8)
        loss = -(dot * torch.clamp(cos, min=0.1) ** 4).sum()
        loss.backward()
        opt.step()
        return -loss.item() / k

    step()  # warm-up
    if a.get('profile'):
        with torch.autograd.profiler.profile() as prof:
            step()
        return {'profile': prof.key_averages().table(sort_by='self_cpu_time_total', row_limit=14)}
    t0 = time.perf_counter()
    for _ in range(steps):
        objective = step()
    secs = time.perf_counter() - t0
    return {'icon_steps_per_second': k * steps / secs, 'seconds': secs, 'objective': objective}


if __name__ == '__main__':
    args = json.loads(sys.argv[2])
    result = {'check': check, 'collect': collect, 'render': render, 'gradcam': gradcam,
              'saliency': saliency}[sys.argv[1]](args)
    # VmHWM, not getrusage's ru_maxrss: Linux carries ru_maxrss across fork and exec, so it would report the JVM's
    # resident set at the moment it started this process
    with open('/proc/self/status') as f:
        hwm = [l for l in f if l.startswith('VmHWM:')]
    if hwm:
        result['max_rss_mb'] = int(hwm[0].split()[1]) / 1024.0
    print(json.dumps(result))
