"""The training curve's evaluation of a denoiser (EMA weights) against its dataset's clean classifier.

- oneShot[sigma]: DDS one-shot accuracy on a fixed held-out subset (the first `per_class` test images of each class),
  one fixed Gaussian draw per image (seed 1234), reference-report conventions:
  x_t* = sqrt(abar_t*) (2x - 1 + 2 sigma n), x0 = clip(pred_x0, -1, 1), classifier((x0 + 1) / 2).
- samples: `n_samples` unconditional samples (x_T ~ N(0, I), seed 4321) by ancestral sampling with learned variances
  respaced to `sample_steps` steps; quality = the clean classifier's mean max-softmax confidence on them
  (`sampleConfidence`) and the Frechet distance between the classifier's 128-d pooled features of the samples and of
  the same number of held-out images (`sampleFrechet`, "FCD"; biased at this n, so comparable only at equal n).
Run alone: `/usr/bin/python3 tools/train/evaluate.py --dataset mnist --ckpt tools/train/checkpoints/denoiser.pt`.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import Diffusion, UNet, respaced, reverse_chain, set_threads  # noqa: E402
from datasets import DATASETS, eval_subset  # noqa: E402

SIGMAS = (0.5, 1.0)


def features(clf, x):
    return torch.flatten(clf.features((x - clf.mean) / clf.std), 1)


def frechet(a, b):
    """Frechet distance between Gaussians fitted to the rows of a and b (numpy only: no scipy here)."""
    mu = a.mean(0) - b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    w, v = np.linalg.eigh(s1)
    s1h = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    cross = np.sqrt(np.clip(np.linalg.eigvalsh(s1h @ s2 @ s1h), 0, None)).sum()
    return float(mu @ mu + np.trace(s1) + np.trace(s2) - 2 * cross)


class Evaluator:
    def __init__(self, dataset, data, clf, per_class=50, n_samples=200, sample_steps=25, batch=100):
        _, _, tex, tey, _ = data
        idx = eval_subset(tey, per_class)
        self.dataset = dataset
        self.x = torch.from_numpy(tex[idx].astype(np.float32))
        self.y = torch.from_numpy(tey[idx])
        self.noise = torch.randn(self.x.shape, generator=torch.Generator().manual_seed(1234))
        self.clf = clf.eval()
        self.n_samples, self.sample_steps, self.batch = n_samples, sample_steps, batch
        self.diff = Diffusion.linear(1000, 1e-4, 2e-2)
        with torch.no_grad():
            self.ref_feats = features(self.clf, self.x[:n_samples]).numpy().astype(np.float64)
        self.settings = {"subset": f"first {per_class} held-out images per class ({len(idx)})", "sigmas": SIGMAS,
                         "noiseSeed": 1234, "samples": n_samples, "sampleSteps": sample_steps, "sampleSeed": 4321}

    @torch.no_grad()
    def one_shot(self, model, sigma):
        d = self.diff
        ts = d.t_star(sigma)
        dev = device_of(model)
        correct = 0
        for i in range(0, len(self.y), self.batch):
            x, n = self.x[i:i + self.batch].to(dev), self.noise[i:i + self.batch].to(dev)
            t = torch.full((x.shape[0],), ts, dtype=torch.int64, device=dev)
            xt = float(d.sqrt_abar[ts]) * (2 * x - 1 + 2 * sigma * n)
            x0 = d.pred_x0(xt, t, model(xt, t)[:, :1]).clamp(-1, 1)
            correct += (self.clf((x0 + 1) / 2).argmax(1).cpu() == self.y[i:i + self.batch]).sum().item()
        return correct / len(self.y)

    @torch.no_grad()
    def samples(self, model):
        use = np.unique(np.round(np.linspace(0, self.diff.T - 1, self.sample_steps)).astype(np.int64))
        rd = respaced(self.diff, use)
        gen = torch.Generator().manual_seed(4321)
        out = []
        for i in range(0, self.n_samples, self.batch):
            b = min(self.batch, self.n_samples - i)
            xT = torch.randn((b, 1, 28, 28), generator=gen).to(device_of(model))
            out.append(reverse_chain(model, rd, xT, rd.T - 1, gen, rd.timestep_map).clamp(-1, 1))
        return (torch.cat(out) + 1) / 2

    @torch.no_grad()
    def __call__(self, model):
        t0 = time.time()
        model.eval()
        self.clf.to(device_of(model))
        rec = {f"oneShot{s}": self.one_shot(model, s) for s in SIGMAS}
        s = self.samples(model)
        conf = torch.softmax(self.clf(s), 1).max(1).values.mean().item()
        rec["sampleConfidence"] = round(conf, 4)
        rec["sampleFrechet"] = round(frechet(features(self.clf, s).cpu().numpy().astype(np.float64), self.ref_feats), 4)
        rec["evalSeconds"] = round(time.time() - t0, 1)
        return rec


def device_of(model):
    return next(model.parameters()).device


def main():
    from train_classifier import load_classifier
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", default="mnist", choices=sorted(DATASETS))
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    set_threads(args.threads)
    ds = DATASETS[args.dataset]
    ck = torch.load(args.ckpt, map_location="cpu")
    model = UNet(**ck["config"]); model.load_state_dict(ck["ema"])
    ev = Evaluator(args.dataset, ds.load(args.data_dir), load_classifier(ds.classifier_ckpt))
    print(json.dumps({"step": ck["step"], "trainWall": round(ck["wall"], 1), **ev(model), **ev.settings}))


if __name__ == "__main__":
    main()
