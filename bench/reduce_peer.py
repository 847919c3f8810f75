"""umap-learn's side of `./atlas bench --synthetic-reduce N --vs-peers`: the same activations (.npy written by atlas4j),
the same UMAP settings (cosine, n_neighbors 20, min_dist 0.01, default epochs), in umap-learn's parallel mode (no
random_state, so numba runs NN-descent and the epochs on every core). Prints one JSON object per call.
Needs Debian's umap-learn and python3-sklearn; downloads nothing."""
import json
import resource
import sys
import time

import numpy as np


def umap_layout(a):
    t0 = time.perf_counter()
    import umap
    x = np.load(a['activations'], mmap_mode='r')
    x = np.ascontiguousarray(x, dtype=np.float32)
    t1 = time.perf_counter()
    emb = umap.UMAP(n_neighbors=20, min_dist=0.01, metric='cosine', n_jobs=a['threads']).fit_transform(x)
    secs = time.perf_counter() - t1
    np.save(a['out'], emb.astype(np.float32))
    return {'seconds': secs, 'import_and_load_seconds': t1 - t0, 'samples': int(x.shape[0]),
            'peak_rss_bytes': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}


def trust(a):
    from sklearn.manifold import trustworthiness
    x = np.load(a['activations'], mmap_mode='r')
    rng = np.random.default_rng(a['seed'])
    idx = np.sort(rng.choice(x.shape[0], size=min(a['subset'], x.shape[0]), replace=False))
    xs = np.asarray(x[idx], dtype=np.float64)
    xs = xs / (np.linalg.norm(xs, axis=1, keepdims=True) + 1e-12)  # cosine geometry, as both layouts used
    return {name: float(trustworthiness(xs, np.load(path)[idx], n_neighbors=a['k'])) for name, path in a['layouts'].items()}


if __name__ == '__main__':
    args = json.loads(sys.argv[2])
    print(json.dumps({'umap': umap_layout, 'trust': trust}[sys.argv[1]](args)))
