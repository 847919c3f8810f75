#!/usr/bin/env python3
"""The peers of atlas4j's benchmark (`./atlas bench --vs-peers` runs this): PyTorch for forward and gradient ascent,
umap-learn for the layout. Same architecture and weights (exported by atlas4j as .npy), same data, same threads.
Prints one JSON object per call. Needs Debian's python3-torch, umap-learn and python3-sklearn; downloads nothing."""
import gzip, json, math, os, struct, sys, time

import numpy as np


def idx_images(path, n):
    opener = gzip.open if path.endswith('.gz') else open
    with opener(path, 'rb') as f:
        _, count, h, w = struct.unpack('>IIII', f.read(16))
        n = min(n, count)
        return np.frombuffer(f.read(n * h * w), dtype=np.uint8).reshape(n, 1, h, w).astype(np.float32) / 255.0


def model(weights, padding=True):
    import torch
    import torch.nn as nn
    layers = []
    blocks = json.load(open(os.path.join(weights, 'blocks.json')))
    for b in range(blocks['blocks']):
        w = torch.from_numpy(np.load(os.path.join(weights, f'conv{b + 1}_W.npy')))
        conv = nn.Conv2d(w.shape[1], w.shape[0], w.shape[2], padding=w.shape[2] // 2 if padding else 0)
        conv.weight.data = w
        conv.bias.data = torch.from_numpy(np.load(os.path.join(weights, f'conv{b + 1}_b.npy')))
        # BatchNorm at inference is a per-channel affine map; exported as scale/shift (DL4J's own formula)
        bn = nn.BatchNorm2d(w.shape[0], eps=0.0)
        bn.weight.data = torch.from_numpy(np.load(os.path.join(weights, f'bn{b + 1}_scale.npy')))
        bn.bias.data = torch.from_numpy(np.load(os.path.join(weights, f'bn{b + 1}_shift.npy')))
        bn.running_mean.zero_()
        bn.running_var.fill_(1.0)
        layers += [conv, bn, nn.ReLU()]
        if b < blocks['blocks'] - 1:
            layers.append(nn.MaxPool2d(2))
    trunk = nn.Sequential(*layers).eval()
    head = nn.Linear(*np.load(os.path.join(weights, 'out_W.npy')).shape)
    head.weight.data = torch.from_numpy(np.load(os.path.join(weights, 'out_W.npy')).T.copy())
    head.bias.data = torch.from_numpy(np.load(os.path.join(weights, 'out_b.npy')))
    return trunk, head.eval()


def forward(a):
    import torch
    torch.set_num_threads(a['threads'])
    trunk, head = model(a['weights'])
    x = torch.from_numpy(idx_images(a['images'], a['n']))
    with torch.no_grad():
        logits = head(trunk(x[:8]).mean(dim=(2, 3)))
        for rep in range(2):  # the first pass warms up
            t0 = time.perf_counter()
            for s in range(0, x.shape[0], a['batch']):
                trunk(x[s:s + a['batch']])  # up to the atlas layer, as collect does
            secs = time.perf_counter() - t0
    return {'images_per_second': x.shape[0] / secs, 'images': int(x.shape[0]), 'logits8': logits.numpy().tolist()}


def render(a):
    """Feature visualization as atlas4j does it: Fourier-parameterized image, sigmoid, random pad/jitter/scale/rotate
    as one bilinear resample, direction objective dot(a, v)·cos^4 at the centre of the layer, Adam 0.05.
    With 'crop' = [row, rows, col, cols], the network sees only the objective's receptive field (unpadded
    convolutions), as atlas4j's native chain does: the same numbers for less work."""
    import torch
    import torch.nn.functional as F
    torch.set_num_threads(a['threads'])
    torch.manual_seed(0)
    crop = a.get('crop')
    trunk, _ = model(a['weights'], padding=crop is None)
    for p in trunk.parameters():
        p.requires_grad_(False)
    k, size, steps = a['icons'], a['size'], a['steps']
    dirs = torch.from_numpy(np.load(a['directions'])[:k])
    freq_h = torch.fft.fftfreq(size)[:, None]
    freq_w = torch.fft.rfftfreq(size)[None, :]
    scale = 1.0 / torch.maximum(torch.sqrt(freq_h ** 2 + freq_w ** 2), torch.tensor(1.0 / size))
    spectrum = (torch.randn(k, 1, size, size // 2 + 1, 2) * 0.01).requires_grad_(True)
    opt = torch.optim.Adam([spectrum], lr=0.05)
    def step():
        opt.zero_grad()
        coeffs = torch.view_as_complex(spectrum) * scale
        img = torch.sigmoid(torch.fft.irfft2(coeffs, s=(size, size), norm='ortho') * 4)
        ang = (torch.rand(k) - 0.5) * (10 * math.pi / 180)
        sc = 1 + (torch.rand(k) - 0.5) * 0.1
        tx, ty = (torch.rand(k) - 0.5) * 0.2, (torch.rand(k) - 0.5) * 0.2
        theta = torch.stack([torch.stack([sc * torch.cos(ang), -sc * torch.sin(ang), tx], 1),
                             torch.stack([sc * torch.sin(ang), sc * torch.cos(ang), ty], 1)], 1)
        grid = F.affine_grid(theta, img.shape, align_corners=False)
        x = F.grid_sample(F.pad(img, (2, 2, 2, 2), mode='replicate'), grid, align_corners=False)
        if crop is not None:
            x = x[:, :, crop[0]:crop[0] + crop[1], crop[2]:crop[2] + crop[3]]
        act = trunk(x)
        centre = act[:, :, act.shape[2] // 2, act.shape[3] // 2]  # the single position when cropped
        dot = (centre * dirs).sum(1)
        cos = dot / (centre.norm(dim=1) * dirs.norm(dim=1) + 1e-8)
        loss = -(dot * torch.clamp(cos, min=0.1) ** 4).sum()
        loss.backward()
        opt.step()
        return -loss.item() / k
    step()  # warm-up
    t0 = time.perf_counter()
    for _ in range(steps):
        objective = step()
    secs = time.perf_counter() - t0
    return {'icon_steps_per_second': k * steps / secs, 'seconds_per_step': secs / steps, 'objective': objective}


def umap_layout(a):
    import umap
    x = np.load(a['activations']).astype(np.float32)
    t0 = time.perf_counter()
    emb = umap.UMAP(n_neighbors=20, min_dist=0.01, metric='cosine', random_state=a['seed']).fit_transform(x)
    secs = time.perf_counter() - t0
    np.save(a['out'], emb.astype(np.float32))
    return {'seconds': secs, 'samples': int(x.shape[0])}


def trust(a):
    from sklearn.manifold import trustworthiness
    x = np.load(a['activations']).astype(np.float32)
    rng = np.random.default_rng(a['seed'])
    idx = np.sort(rng.choice(x.shape[0], size=min(a['subset'], x.shape[0]), replace=False))
    xs = x[idx] / (np.linalg.norm(x[idx], axis=1, keepdims=True) + 1e-12)  # cosine geometry, as both layouts used
    out = {}
    for name, path in a['layouts'].items():
        out[name] = float(trustworthiness(xs, np.load(path)[idx], n_neighbors=a['k']))
    return out


if __name__ == '__main__':
    args = json.loads(sys.argv[2])
    result = {'forward': forward, 'render': render, 'umap': umap_layout, 'trust': trust}[sys.argv[1]](args)
    print(json.dumps(result))
