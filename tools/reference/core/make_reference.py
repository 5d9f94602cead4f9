#!/usr/bin/env python3
"""Reference values for @densepure/core tests.

Run with the default `python3` (needs numpy and scipy; statsmodels is not needed):

    python3 tools/reference/core/make_reference.py

It writes tools/reference/core/reference.json next to this script. The algorithms below are
small independent ports of the public reference code the TypeScript package follows:

* openai/improved-diffusion: get_named_beta_schedule, betas_for_alpha_bar,
  GaussianDiffusion.__init__ constants, respace.space_timesteps, SpacedDiffusion betas,
  p_mean_variance / p_sample (eps prediction, clip_denoised=True, the three variance types).
* Jayfeather1024/DensePure: t* from sigma (closest sqrt((1-abar)/abar) to 2*sigma) and its
  "use_t_steps" respacing.
* locuslab/smoothing: CERTIFY / PREDICT (Clopper-Pearson via statsmodels' method='beta',
  written here with scipy.stats.beta exactly as statsmodels does it; binom_test -> binomtest).

Non-finite floats are written as the strings "Infinity", "-Infinity", "NaN" (JSON has no
literal for them); the tests decode them.
"""

import json
import math
import os

import numpy as np
from scipy import stats

HERE = os.path.dirname(os.path.abspath(__file__))


# --------------------------------------------------------------------------- helpers

def enc(x):
    """float -> JSON value (non-finite as strings)."""
    x = float(x)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    return x


def enc_list(a):
    return [enc(v) for v in np.asarray(a, dtype=np.float64).ravel()]


# --------------------------------------------------------------------------- schedules

def linear_betas(T):
    scale = 1000 / T
    return np.linspace(scale * 0.0001, scale * 0.02, T, dtype=np.float64)


def cosine_betas(T, max_beta=0.999):
    def alpha_bar(t):
        return math.cos((t + 0.008) / 1.008 * math.pi / 2) ** 2

    betas = []
    for i in range(T):
        t1 = i / T
        t2 = (i + 1) / T
        betas.append(min(1 - alpha_bar(t2) / alpha_bar(t1), max_beta))
    return np.array(betas, dtype=np.float64)


def constants(betas):
    """GaussianDiffusion.__init__ (improved-diffusion), float64.

    Deviation for T == 1 only: improved-diffusion indexes posterior_variance[1], which does not
    exist; we use log(posterior_variance[0]) = log(0) = -inf there (the TS package does the same).
    """
    betas = np.array(betas, dtype=np.float64)
    T = betas.shape[0]
    alphas = 1.0 - betas
    ac = np.cumprod(alphas, axis=0)
    ac_prev = np.append(1.0, ac[:-1])
    ac_next = np.append(ac[1:], 0.0)
    with np.errstate(divide="ignore"):
        post_var = betas * (1.0 - ac_prev) / (1.0 - ac)
        if T > 1:
            plvc = np.log(np.append(post_var[1], post_var[1:]))
        else:
            plvc = np.log(post_var)
        log_one_minus = np.log(1.0 - ac)
    return {
        "betas": betas,
        "alphasCumprod": ac,
        "alphasCumprodPrev": ac_prev,
        "alphasCumprodNext": ac_next,
        "sqrtAlphasCumprod": np.sqrt(ac),
        "sqrtOneMinusAlphasCumprod": np.sqrt(1.0 - ac),
        "logOneMinusAlphasCumprod": log_one_minus,
        "sqrtRecipAlphasCumprod": np.sqrt(1.0 / ac),
        "sqrtRecipm1AlphasCumprod": np.sqrt(1.0 / ac - 1),
        "posteriorVariance": post_var,
        "posteriorLogVarianceClipped": plvc,
        "posteriorMeanCoef1": betas * np.sqrt(ac_prev) / (1.0 - ac),
        "posteriorMeanCoef2": (1.0 - ac_prev) * np.sqrt(alphas) / (1.0 - ac),
    }


def sample_indices(T):
    if T <= 10:
        return list(range(T))
    cand = [0, 1, 2, 3, 7, 123, T // 4, T // 2 - 1, T // 2, (3 * T) // 4, T - 3, T - 2, T - 1]
    return sorted(set(i for i in cand if 0 <= i < T))


# --------------------------------------------------------------------------- respacing

def space_timesteps(num_timesteps, section_counts):
    """Port of improved_diffusion.respace.space_timesteps (returns a sorted list)."""
    if isinstance(section_counts, str):
        if section_counts.startswith("ddim"):
            desired_count = int(section_counts[len("ddim"):])
            for i in range(1, num_timesteps):
                if len(range(0, num_timesteps, i)) == desired_count:
                    return sorted(set(range(0, num_timesteps, i)))
            raise ValueError(f"cannot create exactly {desired_count} steps with an integer stride")
        section_counts = [int(x) for x in section_counts.split(",")]
    size_per = num_timesteps // len(section_counts)
    extra = num_timesteps % len(section_counts)
    start_idx = 0
    all_steps = []
    for i, section_count in enumerate(section_counts):
        size = size_per + (1 if i < extra else 0)
        if size < section_count:
            raise ValueError(f"cannot divide section of {size} steps into {section_count}")
        if section_count <= 1:
            frac_stride = 1
        else:
            frac_stride = (size - 1) / (section_count - 1)
        cur_idx = 0.0
        taken_steps = []
        for _ in range(section_count):
            taken_steps.append(start_idx + round(cur_idx))
            cur_idx += frac_stride
        all_steps += taken_steps
        start_idx += size
    return sorted(set(all_steps))


def respaced_betas(alphas_cumprod, kept):
    """SpacedDiffusion.__init__ betas."""
    kept = set(kept)
    last = 1.0
    out = []
    for i, a in enumerate(alphas_cumprod):
        if i in kept:
            out.append(1 - a / last)
            last = a
    return np.array(out, dtype=np.float64)


# --------------------------------------------------------------------------- t* from sigma

def sigma_to_timestep(sigma, alphas_cumprod):
    """DensePure (runners/diffpure_guided_densepure.py) rule: the index t whose
    sqrt(1/abar_t - 1) is closest to 2*sigma, ties to the smaller t (np.argmin takes the first).
    Differs from DensePure only where DensePure has a bug (2*sigma below the first step gives
    T-1 there; 0 here) and beyond the schedule (an error here)."""
    s = np.sqrt(1.0 / alphas_cumprod - 1)
    target = 2 * sigma
    if target > s[-1]:
        return None
    t = int(np.argmin(np.abs(s - target)))
    return {
        "t": t,
        "scale": float(np.sqrt(alphas_cumprod[t])),
        "residual": float(s[t] / 2 - sigma),
        "sigmaAtT": float(s[t] / 2),
    }


def densepure_guided_t(sigma, alphas_cumprod):
    """Literal port of DensePure's loop (for a cross-check of the rule in the common range)."""
    s = np.sqrt(1.0 / alphas_cumprod - 1)
    sigma = sigma * 2
    t_out = None
    for t in range(len(s) - 1):
        if s[t] < sigma and s[t + 1] >= sigma:
            if sigma - s[t] > s[t + 1] - sigma:
                t_out = t + 1
                break
            else:
                t_out = t
                break
        t_out = len(alphas_cumprod) - 1
    return t_out


def carlini_t(sigma, alphas_cumprod):
    """ethz-spylab/diffusion_denoised_smoothing certify.py: first t>=1 with ratio >= 2 sigma."""
    target = sigma * 2
    real = 0
    t = 0
    while real < target:
        t += 1
        real = math.sqrt(1 - alphas_cumprod[t]) / math.sqrt(alphas_cumprod[t])
    return t


# --------------------------------------------------------------------------- statistics

def clopper_pearson(k, n, alpha):
    """statsmodels proportion_confint(k, n, alpha, method='beta')."""
    a2 = alpha * 0.5
    lo = 0.0 if k == 0 else stats.beta.ppf(a2, k, n - k + 1)
    hi = 1.0 if k == n else stats.beta.isf(a2, k + 1, n - k)
    return float(lo), float(hi)


def clopper_pearson_lower(k, n, alpha):
    """locuslab/smoothing _lower_confidence_bound: proportion_confint(k, n, 2*alpha, 'beta')[0]."""
    return clopper_pearson(k, n, 2 * alpha)[0]


# --------------------------------------------------------------------------- reverse step

def reverse_step(c, t, x, eps, v, noise, variance):
    """improved-diffusion p_sample with eps prediction and clip_denoised=True, float64."""
    x0 = c["sqrtRecipAlphasCumprod"][t] * x - c["sqrtRecipm1AlphasCumprod"][t] * eps
    x0 = np.clip(x0, -1, 1)
    mean = c["posteriorMeanCoef1"][t] * x0 + c["posteriorMeanCoef2"][t] * x
    betas = c["betas"]
    if variance == "learned-range":
        min_log = c["posteriorLogVarianceClipped"][t]
        max_log = np.log(betas)[t]
        frac = (v + 1) / 2
        logvar = frac * max_log + (1 - frac) * min_log
    elif variance == "fixed-small":
        logvar = np.full_like(x, c["posteriorLogVarianceClipped"][t])
    elif variance == "fixed-large":
        fl = np.log(np.append(c["posteriorVariance"][1], betas[1:]))
        logvar = np.full_like(x, fl[t])
    else:
        raise ValueError(variance)
    mask = 0.0 if t == 0 else 1.0
    return mean + mask * np.exp(0.5 * logvar) * noise, x0


def f32(a):
    """Round to float32 values (the TS side stores inputs in Float32Array)."""
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def plan_coefficients(c, t):
    fl = np.log(np.append(c["posteriorVariance"][1], c["betas"][1:])) if len(c["betas"]) > 1 else None
    return {
        "posteriorMeanCoef1": enc(c["posteriorMeanCoef1"][t]),
        "posteriorMeanCoef2": enc(c["posteriorMeanCoef2"][t]),
        "posteriorVariance": enc(c["posteriorVariance"][t]),
        "posteriorLogVarianceClipped": enc(c["posteriorLogVarianceClipped"][t]),
        "logBeta": enc(np.log(c["betas"][t])),
        "fixedLargeLogVariance": enc(fl[t]) if fl is not None else enc(np.log(c["betas"][t])),
        "sqrtRecipAlphasCumprod": enc(c["sqrtRecipAlphasCumprod"][t]),
        "sqrtRecipm1AlphasCumprod": enc(c["sqrtRecipm1AlphasCumprod"][t]),
    }


def py_round(x):
    return round(x)  # Python 3 round: half to even, as in improved-diffusion / DensePure


# --------------------------------------------------------------------------- main

def main():
    out = {"generator": "tools/reference/core/make_reference.py",
           "numpy": np.__version__, "scipy": __import__("scipy").__version__}

    # Schedules and constants.
    sched = []
    for name, fn in (("linear", linear_betas), ("cosine", cosine_betas)):
        for T in (1, 10, 1000, 4000):
            betas = fn(T)
            idx = sample_indices(T)
            if not ((betas > 0).all() and (betas <= 1).all()):
                # improved-diffusion asserts 0 < beta <= 1 (linear with T < 20 has betas > 1).
                sched.append({"schedule": name, "T": T, "indices": idx, "constantsError": True,
                              "fields": {"betas": enc_list(betas[idx])}})
                continue
            c = constants(betas)
            sched.append({
                "schedule": name, "T": T, "indices": idx,
                "fields": {k: enc_list(v[idx]) for k, v in c.items()},
            })
    out["schedules"] = sched

    # space_timesteps.
    specs = [(1000, "ddim50"), (1000, "ddim100"), (1000, "ddim1000"), (1000, "10"), (1000, "250"),
             (1000, "10,15,20"), (300, "10,15,20"), (4000, "ddim25"), (4000, "100"), (10, "5"),
             (10, "3,3"), (10, "1"), (7, "2,1,2"), (100, "ddim7"), (11, "4"), (501, "10"),
             (10, "20"), (100, "ddim30"), (5, "2,2,2")]
    st = []
    for T, spec in specs:
        try:
            st.append({"T": T, "spec": spec, "kept": space_timesteps(T, spec)})
        except ValueError as e:
            st.append({"T": T, "spec": spec, "error": str(e)})
    out["spaceTimesteps"] = st

    # Respaced betas.
    rb = []
    for name, fn, T, spec in (("linear", linear_betas, 1000, "ddim50"), ("linear", linear_betas, 1000, "10,15,20"),
                              ("cosine", cosine_betas, 4000, "ddim25"), ("cosine", cosine_betas, 4000, "100")):
        ac = constants(fn(T))["alphasCumprod"]
        kept = space_timesteps(T, spec)
        rb.append({"schedule": name, "T": T, "spec": spec, "kept": kept,
                   "betas": enc_list(respaced_betas(ac, kept))})
    out["respacedBetas"] = rb

    # sigma -> t*.
    s2t = []
    for name, fn, T in (("linear", linear_betas, 1000), ("cosine", cosine_betas, 1000),
                        ("cosine", cosine_betas, 4000), ("cosine", cosine_betas, 10)):
        ac = constants(fn(T))["alphasCumprod"]
        max_sigma = float(np.sqrt(1.0 / ac[-1] - 1) / 2)
        rows = []
        for sigma in (0.0, 0.12, 0.25, 0.5, 1.0):
            r = sigma_to_timestep(sigma, ac)
            if r is None:
                rows.append({"sigma": sigma, "error": True})
                continue
            r["sigma"] = sigma
            if sigma > 0 and 2 * sigma > np.sqrt(1.0 / ac[0] - 1):
                assert densepure_guided_t(sigma, ac) == r["t"], (name, T, sigma)
                r["carliniT"] = carlini_t(sigma, ac)
            rows.append(r)
        rows.append({"sigma": max_sigma * 1.01, "error": True})
        rows.append({"sigma": max_sigma, **sigma_to_timestep(max_sigma, ac)})
        s2t.append({"schedule": name, "T": T, "maxSigma": max_sigma, "rows": rows})
    out["sigmaToTimestep"] = s2t

    # Clopper-Pearson.
    kn = [(0, 1), (1, 1), (0, 10), (1, 10), (5, 10), (9, 10), (10, 10), (0, 100), (50, 100), (99, 100),
          (100, 100), (990, 1000), (500, 1000), (9990, 10000), (1, 100000), (0, 100000), (99000, 100000),
          (100000, 100000)]
    cp = []
    for k, n in kn:
        for alpha in (1e-10, 0.001, 0.05):
            lo, hi = clopper_pearson(k, n, alpha)
            cp.append({"k": k, "n": n, "alpha": alpha, "lower": lo, "upper": hi,
                       "oneSidedLower": clopper_pearson_lower(k, n, alpha)})
    out["clopperPearson"] = cp

    # Normal quantile / cdf.
    out["normalQuantile"] = [{"p": p, "x": enc(stats.norm.ppf(p))}
                             for p in (1e-300, 1e-15, 1e-10, 0.001, 0.025, 0.5, 0.6, 0.975, 0.999, 1 - 1e-10, 0.0, 1.0)]
    out["normalCdf"] = [{"x": x, "p": enc(stats.norm.cdf(x))}
                        for x in (-40.0, -10.0, -5.0, -1.0, 0.0, 0.5, 1.0, 3.0, 8.0, 40.0)]

    # Binomial test p-values (two-sided).
    bt = []
    for k, n, p in ((7, 10, 0.5), (3, 10, 0.5), (5, 10, 0.5), (0, 10, 0.5), (10, 10, 0.5), (0, 1, 0.5), (1, 1, 0.5),
                    (60, 100, 0.5), (40, 100, 0.5), (100, 200, 0.5), (950, 1000, 0.5), (9000, 10000, 0.5),
                    (10, 100, 0.3), (45, 100, 0.3), (30, 100, 0.3), (3, 1000, 0.001), (52, 100, 0.5),
                    (527, 1000, 0.5), (100, 100, 0.5), (1, 2, 0.5)):
        bt.append({"k": k, "n": n, "p": p, "pValue": float(stats.binomtest(k, n, p).pvalue)})
    out["binomialTest"] = bt

    # CERTIFY / PREDICT examples (counts fixed).
    cert = []
    for sigma, n0, n, alpha, sel, est in (
        (0.5, 100, 100000, 0.001, [2, 90, 8, 0], [3000, 95000, 2000, 0]),
        (0.25, 100, 10000, 0.001, [10, 10, 80, 0], [4000, 1000, 5000, 0]),
        (1.0, 10, 100, 0.05, [0, 0, 0, 10], [0, 0, 0, 100]),
        (0.12, 100, 1000, 0.001, [40, 60, 0, 0], [480, 520, 0, 0]),
    ):
        c_hat = int(np.argmax(sel))  # numpy: first maximal index = smallest label
        nA = est[c_hat]
        pA = clopper_pearson_lower(nA, n, alpha)
        row = {"sigma": sigma, "n0": n0, "n": n, "alpha": alpha, "selection": sel, "estimation": est,
               "label": c_hat, "nA": nA, "pA": pA}
        if pA > 0.5:
            row["radius"] = float(sigma * stats.norm.ppf(pA))
        cert.append(row)
    out["certify"] = cert
    pred = []
    for n, alpha, counts in ((100, 0.001, [5, 90, 5, 0]), (100, 0.001, [45, 55, 0, 0]), (1000, 0.05, [0, 470, 530, 0])):
        order = sorted(range(len(counts)), key=lambda i: (-counts[i], i))
        a, b = order[0], order[1]
        pv = float(stats.binomtest(counts[a], counts[a] + counts[b], 0.5).pvalue)
        pred.append({"n": n, "alpha": alpha, "counts": counts, "label": a, "pValue": pv, "predicted": pv <= alpha})
    out["predict"] = pred

    # Reverse steps (full chain constants): improved-diffusion p_sample.
    rng = np.random.default_rng(20230123)
    P = 6
    rs = []
    for name, fn, T, ts in (("linear", linear_betas, 1000, (0, 1, 2, 500, 999)),
                            ("cosine", cosine_betas, 4000, (0, 1, 1234, 3999))):
        c = constants(fn(T))
        for t in ts:
            x = f32(rng.normal(size=P) * 1.5)
            eps = f32(rng.normal(size=P))
            v = f32(rng.uniform(-1, 1, size=P))
            noise = f32(rng.normal(size=P))
            row = {"schedule": name, "T": T, "t": t, "xt": enc_list(x), "eps": enc_list(eps), "v": enc_list(v),
                   "noise": enc_list(noise), "coefficients": plan_coefficients(c, t)}
            for var in ("learned-range", "fixed-small", "fixed-large"):
                xp, x0 = reverse_step(c, t, x, eps, v, noise, var)
                row[var] = enc_list(xp)
                row["x0"] = enc_list(x0)
            rs.append(row)
    out["reverseStep"] = rs

    # Respaced plans.
    plans = []
    for name, fn, T, t_star, b in (("linear", linear_betas, 1000, 200, 10), ("cosine", cosine_betas, 4000, 1300, 7),
                                   ("linear", linear_betas, 1000, 37, 5)):
        ac = constants(fn(T))["alphasCumprod"]
        # uniform: space_timesteps over [0, t*], SpacedDiffusion betas.
        kept = space_timesteps(t_star + 1, str(b))
        rc = constants(respaced_betas(ac, kept))
        steps = []
        for j in range(len(kept) - 1, -1, -1):
            d = plan_coefficients(rc, j)
            d["modelTimestep"] = kept[j]
            d["respacedIndex"] = j
            steps.append(d)
        # densepure: indices round(t - i*t/b), i < b, betas against [0] + reversed, clipped at 0.999.
        inter = t_star / b
        q = [py_round(t_star - i * inter) for i in range(b)]
        chain = [0] + q[::-1]
        dbetas = np.array([min(1 - ac[chain[i + 1]] / ac[chain[i]], 0.999) for i in range(len(chain) - 1)])
        dc = constants(dbetas)
        dsteps = []
        for i in range(b):
            j = b - 1 - i
            d = plan_coefficients(dc, j)
            d["modelTimestep"] = q[i]
            d["respacedIndex"] = j
            dsteps.append(d)
        plans.append({"schedule": name, "T": T, "tStar": t_star, "steps": b, "uniform": steps, "densepure": dsteps})
    out["respacedPlans"] = plans

    # One-shot (Carlini): x0 = sqrt(1/abar) x_t - sqrt(1/abar - 1) eps, clipped.
    c = constants(linear_betas(1000))
    x = f32(rng.normal(size=P) * 0.5)
    eps = f32(rng.normal(size=P))
    t = 300
    x0 = np.clip(c["sqrtRecipAlphasCumprod"][t] * x - c["sqrtRecipm1AlphasCumprod"][t] * eps, -1, 1)
    out["oneShot"] = {"schedule": "linear", "T": 1000, "t": t, "xt": enc_list(x), "eps": enc_list(eps), "x0": enc_list(x0)}

    path = os.path.join(HERE, "reference.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1, allow_nan=False)
        f.write("\n")
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")


if __name__ == "__main__":
    main()
