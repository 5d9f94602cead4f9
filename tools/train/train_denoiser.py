"""Train the small MNIST DDPM denoiser (improved-diffusion style, hybrid loss, learned_range variance).

Resumable: rerun the same command; it continues from tools/train/checkpoints/denoiser.pt.
Stops at --steps or when --max-minutes of wall time have been used in this invocation (checkpointing first).
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import CKPT_DIR, Diffusion, UNet, count_params, hybrid_loss, load_mnist, set_threads  # noqa: E402


def sample_t(gen, n, T, focus_hi, focus_frac):
    u = torch.rand(n, generator=gen)
    t_focus = torch.randint(0, focus_hi + 1, (n,), generator=gen)
    t_all = torch.randint(0, T, (n,), generator=gen)
    return torch.where(u < focus_frac, t_focus, t_all)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mnist-dir", default=None)
    ap.add_argument("--steps", type=int, default=2600)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--ema", type=float, default=0.999)
    ap.add_argument("--focus-max-t", type=int, default=500)
    ap.add_argument("--focus-frac", type=float, default=0.9)
    ap.add_argument("--ch", type=int, default=32)
    ap.add_argument("--num-res-blocks", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--ckpt", default=os.path.join(CKPT_DIR, "denoiser.pt"))
    ap.add_argument("--ckpt-every-min", type=float, default=3.0)
    ap.add_argument("--max-minutes", type=float, default=1e9)
    args = ap.parse_args()
    set_threads(args.threads)
    os.makedirs(os.path.dirname(args.ckpt), exist_ok=True)

    trx, _, _, _, info = load_mnist(args.mnist_dir)
    data = torch.from_numpy(trx.astype(np.float32) * 2.0 - 1.0)  # [-1,1]
    n = data.shape[0]
    diff = Diffusion.linear(1000, 1e-4, 2e-2)

    torch.manual_seed(args.seed)
    model = UNet(ch=args.ch, mults=(1, 2, 2), num_res_blocks=args.num_res_blocks, attn_res=(7,))
    ema = UNet(**model.config)
    ema.load_state_dict(model.state_dict())
    for p in ema.parameters():
        p.requires_grad_(False)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.0)
    gen = torch.Generator().manual_seed(args.seed)
    step, wall, losses = 0, 0.0, []
    if os.path.exists(args.ckpt):
        ck = torch.load(args.ckpt)
        model.load_state_dict(ck["model"]); ema.load_state_dict(ck["ema"]); opt.load_state_dict(ck["opt"])
        gen.set_state(ck["gen"]); step = ck["step"]; wall = ck["wall"]; losses = ck["losses"]
        print(f"resumed at step {step}, wall {wall:.0f}s", flush=True)
    print(f"params {count_params(model)} train images {n} config {model.config}", flush=True)

    def save():
        tmp = args.ckpt + ".tmp"
        torch.save({"model": model.state_dict(), "ema": ema.state_dict(), "opt": opt.state_dict(),
                    "gen": gen.get_state(), "step": step, "wall": wall, "losses": losses,
                    "config": model.config, "args": vars(args), "params": count_params(model),
                    "argv": sys.argv, "data": info}, tmp)
        os.replace(tmp, args.ckpt)

    t_inv = time.time()
    t_last_ck = time.time()
    t_prev = time.time()
    run_mse, run_vb, run_l = [], [], []
    model.train()
    while step < args.steps:
        idx = torch.randint(0, n, (args.batch_size,), generator=gen)
        x0 = data[idx]
        t = sample_t(gen, args.batch_size, diff.T, args.focus_max_t, args.focus_frac)
        noise = torch.randn(x0.shape, generator=gen)
        lr = args.lr * min(1.0, (step + 1) / args.warmup)
        for g in opt.param_groups:
            g["lr"] = lr
        loss, mse, vb = hybrid_loss(diff, model, x0, t, noise)
        loss = loss.mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        decay = min(args.ema, (1 + step) / (10 + step))
        with torch.no_grad():
            for pe, pm in zip(ema.parameters(), model.parameters()):
                pe.mul_(decay).add_(pm, alpha=1 - decay)
            for be, bm in zip(ema.buffers(), model.buffers()):
                be.copy_(bm)
        now = time.time()
        wall += now - t_prev
        t_prev = now
        run_l.append(loss.item()); run_mse.append(mse.mean().item()); run_vb.append(vb.mean().item())
        if step % 50 == 0 or step == args.steps:
            rec = {"step": step, "loss": float(np.mean(run_l)), "mse": float(np.mean(run_mse)),
                   "vb": float(np.mean(run_vb)), "wall": round(wall, 1)}
            losses.append(rec)
            run_l, run_mse, run_vb = [], [], []
            print(json.dumps(rec), flush=True)
        if now - t_last_ck > args.ckpt_every_min * 60 or step == args.steps:
            save(); t_last_ck = time.time()
        if now - t_inv > args.max_minutes * 60:
            save(); print("max-minutes reached; rerun to continue", flush=True)
            return
    save()
    print("done", flush=True)


if __name__ == "__main__":
    main()
