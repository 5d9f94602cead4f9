"""Train the small CNN on a dataset's clean training part (random shift, rotation or flip augmentation).

Resumable: rerun the same command; it continues from the checkpoint (model, optimiser, schedule, RNG state, the
epoch's permutation and position in it). Checkpoints every --ckpt-every-min minutes, at each epoch end and on
SIGTERM/SIGINT. Defaults per dataset: mnist -> tools/train/checkpoints/classifier.pt (the shipped one),
fashion -> tools/train/checkpoints/fashion/classifier.pt.
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
from common import MnistCNN, count_params, set_threads  # noqa: E402
from control import Every, Stop, atomic_save, lock_run, progress, write_jsonl  # noqa: E402
from datasets import DATASETS  # noqa: E402


def augment(x, gen, shift=2, rot=10.0, flip=False):
    b = x.shape[0]
    ang = (torch.rand(b, generator=gen) * 2 - 1) * rot * np.pi / 180
    sh = (torch.randint(-shift, shift + 1, (b, 2), generator=gen).float()) * (2.0 / 28)
    cos, sin = torch.cos(ang), torch.sin(ang)
    theta = torch.stack([torch.stack([cos, -sin, sh[:, 0]], 1), torch.stack([sin, cos, sh[:, 1]], 1)], 1)
    if flip:
        sign = torch.where(torch.rand(b, generator=gen) < 0.5, -1.0, 1.0)
        theta[:, :, 0] = theta[:, :, 0] * sign[:, None]  # mirror the x input coordinate
    grid = F.affine_grid(theta, x.shape, align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


@torch.no_grad()
def accuracy(model, x, y, bs=500):
    model.eval()
    correct = 0
    for i in range(0, x.shape[0], bs):
        correct += (model(x[i:i + bs]).argmax(1) == y[i:i + bs]).sum().item()
    return correct / x.shape[0]


def load_classifier(path):
    ck = torch.load(path)
    model = MnistCNN()
    model.load_state_dict(ck["model"])
    return model.eval()


def parser():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", default="mnist", choices=sorted(DATASETS))
    ap.add_argument("--data-dir", "--mnist-dir", dest="data_dir", default=None)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--ckpt", default=None, help="default: the dataset's classifier checkpoint")
    ap.add_argument("--ckpt-every-min", type=float, default=3.0)
    ap.add_argument("--max-minutes", type=float, default=1e9)
    return ap


def train(args, stop, argv=None):
    """Returns True when all epochs are done, False when stopped early (checkpointed)."""
    ds = DATASETS[args.dataset]
    ckpt = args.ckpt or ds.classifier_ckpt
    lock = lock_run(ckpt)  # noqa: F841 (held until this function returns)
    set_threads(args.threads)
    trx, trY, tex, teY, info = ds.load(args.data_dir)
    xtr = torch.from_numpy(trx.astype(np.float32)); ytr = torch.from_numpy(trY)
    xte = torch.from_numpy(tex.astype(np.float32)); yte = torch.from_numpy(teY)
    torch.manual_seed(args.seed)
    model = MnistCNN()
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=5e-4)
    steps_per_epoch = (xtr.shape[0] + args.batch_size - 1) // args.batch_size
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=args.epochs * steps_per_epoch)
    gen = torch.Generator().manual_seed(args.seed)
    epoch, wall, hist, step, pos, perm, tot = 0, 0.0, [], 0, 0, None, 0.0
    if os.path.exists(ckpt):
        ck = torch.load(ckpt)
        model.load_state_dict(ck["model"]); opt.load_state_dict(ck["opt"]); sched.load_state_dict(ck["sched"])
        gen.set_state(ck["gen"]); epoch = ck["epoch"]; wall = ck["wall"]; hist = ck["hist"]; step = ck["step"]
        pos, perm, tot = ck.get("pos", 0), ck.get("perm"), ck.get("epochLossSum", 0.0)
        print(f"{ckpt}: resumed at epoch {epoch} batch {pos}", flush=True)
    print(f"[{args.dataset} classifier] params {count_params(model)} train {xtr.shape[0]} test {xte.shape[0]}",
          flush=True)

    def save():
        atomic_save({"model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(),
                     "gen": gen.get_state(), "epoch": epoch, "wall": wall, "hist": hist, "step": step,
                     "pos": pos, "perm": perm, "epochLossSum": tot, "params": count_params(model),
                     "args": vars(args), "argv": argv or sys.argv, "data": info}, ckpt)
        write_jsonl(os.path.join(os.path.dirname(ckpt), "classifier-curve.jsonl"), hist)

    every = Every(args.ckpt_every_min)
    t_inv = time.time()
    t_prev = time.time()
    step_at_start = step
    total_steps = args.epochs * steps_per_epoch
    while epoch < args.epochs:
        model.train()
        if perm is None:
            perm = torch.randperm(xtr.shape[0], generator=gen)
            pos, tot = 0, 0.0
        while pos < steps_per_epoch:
            idx = perm[pos * args.batch_size:(pos + 1) * args.batch_size]
            xb = augment(xtr[idx], gen, **ds.augment)
            loss = F.cross_entropy(model(xb), ytr[idx], label_smoothing=0.05)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step(); sched.step(); step += 1; pos += 1
            tot += loss.item() * idx.numel()
            now = time.time(); wall += now - t_prev; t_prev = now
            if step % 100 == 0:
                progress(step, total_steps, now - t_inv, step_at_start,
                         {"dataset": args.dataset, "model": "classifier", "epoch": epoch, "step": step})
            if stop.requested or now - t_inv > args.max_minutes * 60:
                save()
                print(f"stopped ({stop.signal or 'max-minutes'}) at epoch {epoch} batch {pos}, checkpointed; "
                      "rerun to continue", flush=True)
                return False
            if every.due():
                save()
        epoch += 1
        rec = {"epoch": epoch, "loss": tot / xtr.shape[0], "testAcc": accuracy(model, xte, yte),
               "wall": round(wall, 1)}
        hist.append(rec)
        perm = None
        print(json.dumps(rec), flush=True)
        save()
    print(f"done; clean held-out accuracy {hist[-1]['testAcc']}", flush=True)
    return True


def main():
    train(parser().parse_args(), Stop().install())


if __name__ == "__main__":
    main()
