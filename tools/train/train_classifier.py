"""Train the small MNIST CNN on the clean training part (random shift/rotation augmentation).

Resumable per epoch: rerun the same command; state in tools/train/checkpoints/classifier.pt.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import CKPT_DIR, MnistCNN, count_params, load_mnist, set_threads  # noqa: E402


def augment(x, gen, max_shift=2, max_rot_deg=10.0):
    b = x.shape[0]
    ang = (torch.rand(b, generator=gen) * 2 - 1) * max_rot_deg * np.pi / 180
    sh = (torch.randint(-max_shift, max_shift + 1, (b, 2), generator=gen).float()) * (2.0 / 28)
    cos, sin = torch.cos(ang), torch.sin(ang)
    theta = torch.stack([torch.stack([cos, -sin, sh[:, 0]], 1), torch.stack([sin, cos, sh[:, 1]], 1)], 1)
    grid = F.affine_grid(theta, x.shape, align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


@torch.no_grad()
def accuracy(model, x, y, bs=500):
    model.eval()
    correct = 0
    for i in range(0, x.shape[0], bs):
        correct += (model(x[i:i + bs]).argmax(1) == y[i:i + bs]).sum().item()
    return correct / x.shape[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mnist-dir", default=None)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--ckpt", default=os.path.join(CKPT_DIR, "classifier.pt"))
    args = ap.parse_args()
    set_threads(args.threads)
    os.makedirs(os.path.dirname(args.ckpt), exist_ok=True)
    trx, trY, tex, teY, info = load_mnist(args.mnist_dir)
    xtr = torch.from_numpy(trx.astype(np.float32)); ytr = torch.from_numpy(trY)
    xte = torch.from_numpy(tex.astype(np.float32)); yte = torch.from_numpy(teY)
    torch.manual_seed(args.seed)
    model = MnistCNN()
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=5e-4)
    steps_per_epoch = (xtr.shape[0] + args.batch_size - 1) // args.batch_size
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=args.epochs * steps_per_epoch)
    gen = torch.Generator().manual_seed(args.seed)
    epoch, wall, hist, step = 0, 0.0, [], 0
    if os.path.exists(args.ckpt):
        ck = torch.load(args.ckpt)
        model.load_state_dict(ck["model"]); opt.load_state_dict(ck["opt"]); sched.load_state_dict(ck["sched"])
        gen.set_state(ck["gen"]); epoch = ck["epoch"]; wall = ck["wall"]; hist = ck["hist"]; step = ck["step"]
        print(f"resumed at epoch {epoch}", flush=True)
    print(f"params {count_params(model)} train {xtr.shape[0]} test {xte.shape[0]}", flush=True)
    while epoch < args.epochs:
        t0 = time.time()
        model.train()
        perm = torch.randperm(xtr.shape[0], generator=gen)
        tot = 0.0
        for i in range(steps_per_epoch):
            idx = perm[i * args.batch_size:(i + 1) * args.batch_size]
            xb = augment(xtr[idx], gen)
            loss = F.cross_entropy(model(xb), ytr[idx], label_smoothing=0.05)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step(); sched.step(); step += 1
            tot += loss.item() * idx.numel()
        epoch += 1
        wall += time.time() - t0
        rec = {"epoch": epoch, "loss": tot / xtr.shape[0], "testAcc": accuracy(model, xte, yte),
               "wall": round(wall, 1)}
        hist.append(rec)
        print(json.dumps(rec), flush=True)
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(),
                    "gen": gen.get_state(), "epoch": epoch, "wall": wall, "hist": hist, "step": step,
                    "params": count_params(model), "args": vars(args), "argv": sys.argv, "data": info},
                   args.ckpt)
    print("done; clean held-out accuracy", hist[-1]["testAcc"], flush=True)


if __name__ == "__main__":
    main()
