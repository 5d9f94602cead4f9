"""The CIFAR-shaped test pipeline of apps/cli/src/cifar.e2e.test.ts, made with the exporter: a 32x32x3 denoiser
(tools/train/common.py's UNet, cosine T = 4000, learned variance, trained on t * 1000 / T like improved-diffusion's
CIFAR-10 model) and a 36x36 classifier (common.MnistCNN with in_ch = 3) behind a bicubic-antialias resize, with
mean/std normalisation outside the graph. Both are small and briefly trained on the synthetic colour classes the e2e
test writes as a CIFAR-10 binary batch (same formula: synthetic_batch below and in the test). Deterministic (seed 0).

Run from the repository root after `pnpm install && pnpm build` (about a minute on 2 cores):
  /usr/bin/python3 tools/export/make_cifar_fixture.py
Writes tools/export/fixtures/cifar-tiny/{denoiser,classifier}.{onnx,json}.
"""
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "train"))
import export_model as ex  # noqa: E402
from common import MnistCNN, UNet  # noqa: E402

OUT = os.path.join(HERE, "fixtures", "cifar-tiny")
# Class c: colour COLORS[c] shaded top (x0.55) to bottom (x1.0), plus uniform noise of +-NOISE. Kept in step with
# apps/cli/src/cifar.e2e.test.ts.
COLORS = [[0.9, 0.1, 0.1], [0.1, 0.9, 0.1], [0.1, 0.1, 0.9], [0.9, 0.9, 0.1], [0.9, 0.1, 0.9],
          [0.1, 0.9, 0.9], [0.9, 0.9, 0.9], [0.5, 0.5, 0.5], [0.1, 0.1, 0.1], [0.9, 0.5, 0.1]]
NOISE = 0.08
MEAN, STD = [0.5, 0.5, 0.5], [0.3, 0.3, 0.3]
CLASSIFIER_SIZE = 36
SIGMA_TRAIN = 0.25
UNET = dict(in_ch=3, ch=8, mults=(1, 2), num_res_blocks=1, attn_res=(16,), heads=2, out_ch=6, image_size=32)


def synthetic_batch(labels, rng):
    n = len(labels)
    shade = 0.55 + 0.45 * (np.arange(32, dtype=np.float32) / 31.0)
    base = np.asarray(COLORS, dtype=np.float32)[labels][:, :, None, None] * shade[None, None, :, None]
    x = base + rng.uniform(-NOISE, NOISE, size=(n, 3, 32, 32)).astype(np.float32)
    return np.clip(np.round(np.clip(x, 0, 1) * 255) / 255, 0, 1).astype(np.float32)  # uint8 like CIFAR


def cosine_alphas_cumprod(T):
    f = lambda u: math.cos((u + 0.008) / 1.008 * math.pi / 2) ** 2
    betas = np.array([min(1 - f((i + 1) / T) / f(i / T), 0.999) for i in range(T)])
    return np.cumprod(1 - betas)


def train_classifier(rng, steps=150):
    torch.manual_seed(0)
    model = MnistCNN(in_ch=3, num_classes=10)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    mean, std = torch.tensor(MEAN).reshape(1, 3, 1, 1), torch.tensor(STD).reshape(1, 3, 1, 1)
    model.train()
    for step in range(steps):
        y = rng.integers(0, 10, 32)
        x = torch.from_numpy(synthetic_batch(y, rng))
        # what DDS hands the classifier: a noisy (sigma up to 2 x 0.25), roughly denoised image, resized
        x = x + torch.randn_like(x) * SIGMA_TRAIN * float(rng.uniform(0, 2))
        x = F.interpolate(x, size=(CLASSIFIER_SIZE, CLASSIFIER_SIZE), mode="bicubic", antialias=True, align_corners=False)
        loss = F.cross_entropy(model((x - mean) / std), torch.from_numpy(y))
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 25 == 0:
            print(f"classifier step {step} loss {float(loss):.4f}", file=sys.stderr, flush=True)
    return model.eval(), float(loss)


def train_denoiser(rng, T=4000, steps=120):
    """A hundred-odd steps of eps-prediction (MSE) on the synthetic classes at t around DensePure's t* for sigma 0.25..0.5;
    the v channels stay near 0 (learned range halfway). Enough to denoise these images, not to generate anything."""
    torch.manual_seed(1)
    model = UNet(**UNET)
    ac = torch.from_numpy(cosine_alphas_cumprod(T)).float()
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3)
    model.train()
    for step in range(steps):
        y = rng.integers(0, 10, 16)
        x0 = torch.from_numpy(synthetic_batch(y, rng)) * 2 - 1
        t = torch.from_numpy(rng.integers(200, 2400, 16)).long()
        noise = torch.randn_like(x0)
        a = ac[t].reshape(-1, 1, 1, 1)
        xt = a.sqrt() * x0 + (1 - a).sqrt() * noise
        out = model(xt, t.float() * (1000.0 / T))  # trained on rescaled timesteps, as improved-diffusion
        loss = ((out[:, :3] - noise) ** 2).mean() + 0.01 * (out[:, 3:] ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 20 == 0:
            print(f"denoiser step {step} loss {float(loss):.4f}", file=sys.stderr, flush=True)
    return model.eval(), float(loss)


def main():
    torch.set_num_threads(2)
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(0)
    started = time.time()
    clf, clf_loss = train_classifier(rng)
    den, den_loss = train_denoiser(rng)
    T = 4000
    facts = {"schedule": "cosine", "T": T, "learnedVariance": True, "rescaleTimesteps": True, "imageSize": 32, "channels": 3,
             "source": {"module": "tools.train.common:UNet", "kwargs": UNET, "checkpoint": None,
                        "note": f"trained 120 steps of batch 16 (MSE on eps) by tools/export/make_cifar_fixture.py, final loss {den_loss:.4f}"}}
    _, den_report = ex.export_denoiser(den, facts, os.path.join(OUT, "denoiser.onnx"), name="cifar-tiny-ddpm")
    _, clf_report = ex.export_classifier(clf, os.path.join(OUT, "classifier.onnx"), CLASSIFIER_SIZE, 3, num_classes=10,
                                         mean=MEAN, std=STD, normalize_in_graph=False, resize="bicubic-antialias",
                                         name="cifar-tiny-cnn",
                                         source={"module": "tools.train.common:MnistCNN", "kwargs": {"in_ch": 3, "num_classes": 10},
                                                 "note": f"trained 150 steps of batch 32 by tools/export/make_cifar_fixture.py, final loss {clf_loss:.4f}"})
    print(json.dumps({"seconds": round(time.time() - started, 1), "denoiserLoss": den_loss, "classifierLoss": clf_loss,
                      "denoiser": den_report, "classifier": clf_report}))


if __name__ == "__main__":
    main()
