"""Train the small DDPM denoiser (improved-diffusion style, hybrid loss, learned_range variance) on a dataset.

Resumable: rerun the same command; it continues from the run's checkpoint (model, EMA, optimiser, RNG state = data
order, loss and evaluation curves). Checkpoints every --ckpt-every-min minutes and on SIGTERM/SIGINT; stops at
--steps or after --max-minutes of wall time in this invocation (checkpointing first).

Runs live in tools/train/checkpoints/<run>/ (default run: the dataset's name): denoiser.pt, loss.jsonl (every 50
steps) and curve.jsonl (evaluate.py's measures every --eval-every-min minutes of training, against training wall
time). --init-from starts a new run from another checkpoint's full state (e.g. continue the shipped MNIST model,
tools/train/checkpoints/denoiser.pt, in a run of its own so the shipped one stays reproducible).
"""
import argparse
import json
import os
import shutil
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import CKPT_DIR, Diffusion, UNet, count_params, hybrid_loss, pick_device, set_threads, to_cpu  # noqa: E402
from control import Every, Stop, atomic_save, lock_run, progress, write_jsonl  # noqa: E402
from datasets import DATASETS  # noqa: E402


def sample_t(gen, n, T, focus_hi, focus_frac):
    u = torch.rand(n, generator=gen)
    t_focus = torch.randint(0, focus_hi + 1, (n,), generator=gen)
    t_all = torch.randint(0, T, (n,), generator=gen)
    return torch.where(u < focus_frac, t_focus, t_all)


def parser():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", default="mnist", choices=sorted(DATASETS))
    ap.add_argument("--data-dir", "--mnist-dir", dest="data_dir", default=None)
    ap.add_argument("--run", default=None, help="checkpoint directory name under tools/train/checkpoints "
                                                "(default: the dataset's name)")
    ap.add_argument("--ckpt", default=None, help="explicit checkpoint path (overrides --run), e.g. the shipped "
                                                 "MNIST model's tools/train/checkpoints/denoiser.pt")
    ap.add_argument("--init-from", default=None, help="checkpoint to start from when the run has none yet")
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
    ap.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N: where the model trains; batches, noise and "
                                                    "timesteps are still drawn on the CPU, so the data order is the same")
    ap.add_argument("--ckpt-every-min", type=float, default=3.0)
    ap.add_argument("--eval-every-min", type=float, default=20.0,
                    help="evaluate (curve.jsonl) after this much training wall time; 0 = never")
    ap.add_argument("--max-minutes", type=float, default=1e9)
    return ap


def train(args, stop, argv=None):
    """Returns True when --steps are done, False when stopped early (checkpointed)."""
    from evaluate import Evaluator
    from train_classifier import load_classifier
    ds = DATASETS[args.dataset]
    ckpt = args.ckpt or os.path.join(CKPT_DIR, args.run or args.dataset, "denoiser.pt")
    run_dir = os.path.dirname(ckpt)
    lock = lock_run(ckpt)  # noqa: F841 (held until this function returns)
    set_threads(args.threads)
    device = pick_device(args.device)
    if not os.path.exists(ckpt) and args.init_from:
        os.makedirs(run_dir, exist_ok=True)
        shutil.copyfile(args.init_from, ckpt)
        print(f"{ckpt}: initialised from {args.init_from}", flush=True)

    data_all = ds.load(args.data_dir)
    trx, info = data_all[0], data_all[4]
    data = torch.from_numpy(trx.astype(np.float32) * 2.0 - 1.0)  # [-1,1]
    n = data.shape[0]
    diff = Diffusion.linear(1000, 1e-4, 2e-2)

    torch.manual_seed(args.seed)
    model = UNet(ch=args.ch, mults=(1, 2, 2), num_res_blocks=args.num_res_blocks, attn_res=(7,))
    ema = UNet(**model.config)
    ema.load_state_dict(model.state_dict())
    model.to(device)
    ema.to(device)
    for p in ema.parameters():
        p.requires_grad_(False)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.0)
    gen = torch.Generator().manual_seed(args.seed)
    step, wall, losses, curve, wall_at_eval, ck_eval_settings = 0, 0.0, [], [], None, None
    if os.path.exists(ckpt):
        ck = torch.load(ckpt, map_location="cpu")
        model.load_state_dict(ck["model"]); ema.load_state_dict(ck["ema"]); opt.load_state_dict(ck["opt"])
        gen.set_state(ck["gen"]); step = ck["step"]; wall = ck["wall"]; losses = ck["losses"]
        curve = ck.get("curve", []); wall_at_eval = ck.get("wallAtEval")
        ck_eval_settings = ck.get("evalSettings")
        print(f"{ckpt}: resumed at step {step}, wall {wall:.0f}s", flush=True)
    print(f"[{args.dataset} denoiser] params {count_params(model)} train images {n} config {model.config}",
          flush=True)

    evaluator = None
    probe = Every(1.0)  # how often to look for a finished classifier while there is none

    def classifier_finished():
        if not os.path.exists(ds.classifier_ckpt):
            return False
        ck = torch.load(ds.classifier_ckpt, map_location="cpu")
        return ck["epoch"] >= ck["args"]["epochs"]

    def eval_due(first):
        if args.eval_every_min <= 0:
            return False
        if wall_at_eval is not None:
            return wall - wall_at_eval >= args.eval_every_min * 60 or step == args.steps
        return (first or probe.due()) and classifier_finished()

    def evaluate():
        nonlocal evaluator, wall_at_eval
        if evaluator is None:
            evaluator = Evaluator(args.dataset, data_all, load_classifier(ds.classifier_ckpt))
        rec = {"dataset": args.dataset, "step": step, "trainWall": round(wall, 1), **evaluator(ema)}
        curve.append(rec)
        wall_at_eval = wall
        print(json.dumps({"eval": rec}), flush=True)

    def save():
        atomic_save({"model": to_cpu(model.state_dict()), "ema": to_cpu(ema.state_dict()), "opt": to_cpu(opt.state_dict()),
                     "gen": gen.get_state(), "step": step, "wall": wall, "losses": losses, "curve": curve,
                     "wallAtEval": wall_at_eval, "config": model.config, "args": vars(args),
                     "params": count_params(model), "argv": argv or sys.argv, "data": info,
                     "evalSettings": evaluator.settings if evaluator else ck_eval_settings}, ckpt)
        write_jsonl(os.path.join(run_dir, "loss.jsonl"), losses)
        write_jsonl(os.path.join(run_dir, "curve.jsonl"), curve)

    if eval_due(first=True):
        evaluate()  # the curve's first point: the starting model (or the first once the classifier exists)
        save()
    every = Every(args.ckpt_every_min)
    t_inv = time.time()
    t_prev = time.time()
    step_at_start = step
    run_mse, run_vb, run_l = [], [], []
    model.train()
    while step < args.steps:
        idx = torch.randint(0, n, (args.batch_size,), generator=gen)
        x0 = data[idx]
        t = sample_t(gen, args.batch_size, diff.T, args.focus_max_t, args.focus_frac)
        noise = torch.randn(x0.shape, generator=gen)
        x0, t, noise = x0.to(device), t.to(device), noise.to(device)
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
            progress(step, args.steps, now - t_inv, step_at_start,
                     {"dataset": args.dataset, "model": "denoiser", **rec})
        if eval_due(first=False):
            evaluate()
            save(); every.last = time.time(); t_prev = time.time()  # evaluation time is not training time
        if stop.requested or now - t_inv > args.max_minutes * 60:
            save()
            print(f"stopped ({stop.signal or 'max-minutes'}) at step {step}, checkpointed; rerun to continue",
                  flush=True)
            return False
        if every.due():
            save()
    save()
    print("done", flush=True)
    return True


def main():
    train(parser().parse_args(), Stop().install())


if __name__ == "__main__":
    main()
