"""Fit an exact-score model of MNIST: a Gaussian mixture with low-rank-plus-isotropic covariances.

Data: the MNIST training part of tools/train's split (8,004 digits; the held-out test part is never read), in
model units x = scale * (2 p - 1) with p in [0, 1]. scale < 1 keeps the mixture's mass inside [-1, 1], where the
pipeline clips its predictions of x0 (with scale 1 half of every background pixel's Gaussian would lie below -1).

Per class: k-means (k components, k-means++ start, seeded) in the class's top-50 PCA space, then per cluster the
covariance's top-q eigenvectors (the directions, orthonormal) with their eigenvalues (the variances along them),
and a fixed isotropic floor std^2 elsewhere. The floor is a modelling choice, not a fit: the maximum-likelihood
floor (the mean of the discarded eigenvalues) is 0.045 here (std 0.21 in model units), which would cover every
sample with visible grain and push background pixels out of [-1, 1]; std 0.05 keeps samples digit-like. Weights: cluster size / class size * 1/10 per class (classes equally likely).

Writes the mixture file (@densepure/ground-truth mixture-file.ts format: JSON header + base64 float32 vectors).
Deterministic for a seed. ~1 minute on one core.

  /usr/bin/python3 tools/ground-truth/fit_mnist_mixture.py --out packages/ground-truth/models/mnist-gmm/mnist-gmm.mixture.json
"""
import argparse
import base64
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "train"))
from common import CLASS_NAMES, SPLIT_RULE, load_mnist  # noqa: E402


def kmeans(z, k, rng, iters=50):
    """Lloyd's k-means with k-means++ seeding; returns labels."""
    n = z.shape[0]
    centres = [z[rng.integers(n)]]
    for _ in range(1, k):
        d2 = np.min([((z - c) ** 2).sum(1) for c in centres], axis=0)
        centres.append(z[rng.choice(n, p=d2 / d2.sum())])
    c = np.stack(centres)
    lab = np.zeros(n, dtype=int)
    for _ in range(iters):
        d2 = ((z[:, None, :] - c[None]) ** 2).sum(2)
        new = d2.argmin(1)
        if _ > 0 and (new == lab).all():
            break
        lab = new
        c = np.stack([z[lab == j].mean(0) if (lab == j).any() else c[j] for j in range(k)])
    return lab


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mnist-dir", default=None)
    ap.add_argument("--out", required=True)
    ap.add_argument("--components", type=int, default=3, help="components per class")
    ap.add_argument("--rank", type=int, default=10, help="directions per component")
    ap.add_argument("--floor", type=float, default=0.05, help="isotropic std in model units")
    ap.add_argument("--scale", type=float, default=0.8, help="model units = scale * (2 p - 1)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    trx, try_, _tex, _tey, info = load_mnist(args.mnist_dir)
    x = args.scale * (2.0 * trx.reshape(trx.shape[0], -1).astype(np.float64) - 1.0)
    d = x.shape[1]
    comps = []
    vectors = []
    discarded = []
    for c in range(10):
        xc = x[try_ == c]
        xc_mean = xc.mean(0)
        ev, evec = np.linalg.eigh(np.cov(xc - xc_mean, rowvar=False))
        lab = kmeans((xc - xc_mean) @ evec[:, np.argsort(ev)[::-1][:50]], args.components, rng)
        for j in range(args.components):
            xj = xc[lab == j]
            mu = xj.mean(0)
            cov = np.cov(xj - mu, rowvar=False)
            evals, evecs = np.linalg.eigh(cov)
            order = np.argsort(evals)[::-1]
            evals, evecs = evals[order], evecs[:, order]
            q = args.rank
            along = np.maximum(evals[:q], args.floor ** 2 * 1.0001)
            dirs = evecs[:, :q].T
            # Orthonormal in float32 too: re-orthonormalise after rounding.
            dirs32 = np.linalg.qr(dirs.astype(np.float32).astype(np.float64).T)[0].T
            dirs32 = dirs32 * np.sign((dirs32 * dirs).sum(1))[:, None]
            discarded.append(float(evals[q:].mean()))
            comps.append({"weight": 0.1 * xj.shape[0] / xc.shape[0], "std": args.floor, "label": c, "rank": q})
            vectors += [mu, dirs32.ravel(), along]
    data = np.concatenate(vectors).astype("<f4").tobytes()
    header = {
        "format": "densepure-gaussian-mixture",
        "version": 1,
        "shape": [1, 28, 28],
        "classNames": CLASS_NAMES,
        "components": comps,
        "data": base64.b64encode(data).decode("ascii"),
        "fit": {
            "tool": "tools/ground-truth/fit_mnist_mixture.py",
            "data": f"MNIST training part ({x.shape[0]} digits, {SPLIT_RULE}) from {info['package']}@{info['version']}",
            "modelUnits": f"x = {args.scale} * (2 p - 1)",
            "componentsPerClass": args.components,
            "rank": args.rank,
            "floorStd": args.floor,
            "seed": args.seed,
            "method": "per class: k-means in top-50 PCA space; per cluster: top-rank eigenvectors of the sample covariance, isotropic floor",
            "meanDiscardedEigenvalue": float(np.mean(discarded)),
        },
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(header, f)
        f.write("\n")
    print(json.dumps({"out": args.out, "components": len(comps), "bytes": os.path.getsize(args.out),
                      "meanDiscardedEigenvalue": float(np.mean(discarded)),
                      "weights": [round(cp["weight"], 4) for cp in comps]}))


if __name__ == "__main__":
    main()
