"""Reference values for packages/core/src/timestep-rules.ts, straight from the papers' code.

DensePure (runners/diffpure_ddpm_densepure.py, CIFAR-10, cosine): t = T*(1-(2*1.008*asin(sin(pi/(2*1.008))/(1+(2 sigma)**2)**0.5))/pi),
its respaced chain starts at round(t). Carlini et al. (diffusion denoised smoothing): t = 0; while b/a < 2 sigma: t += 1.
Schedules as improved-diffusion's get_named_beta_schedule. Run: python3 tools/reference/core/timestep_rules.py
(numpy only) > tools/reference/core/timestep-rules.json
"""
import json
import math

import numpy as np


def betas(name, T):
    if name == "linear":
        scale = 1000 / T
        return np.linspace(scale * 0.0001, scale * 0.02, T, dtype=np.float64)
    f = lambda u: math.cos((u + 0.008) / 1.008 * math.pi / 2) ** 2
    return np.array([min(1 - f((i + 1) / T) / f(i / T), 0.999) for i in range(T)], dtype=np.float64)


def densepure_t(sigma, T):
    s = sigma * 2
    return T * (1 - (2 * 1.008 * math.asin(math.sin(math.pi / (2 * 1.008)) / (1 + s ** 2) ** 0.5)) / math.pi)


def dds_t(sigma, ac):
    a, b = np.sqrt(ac), np.sqrt(1.0 - ac)
    t, real = 0, 0.0
    while real < 2 * sigma:
        t += 1
        real = b[t] / a[t]
    return t


def nearest_t(sigma, ac):
    return int(np.argmin(np.abs(np.sqrt(1.0 / ac - 1.0) - 2 * sigma)))


cases = []
for name, T in (("cosine", 4000), ("cosine", 1000), ("linear", 1000)):
    ac = np.cumprod(1.0 - betas(name, T))
    for sigma in (0.12, 0.25, 0.5, 1.0):
        row = {"schedule": name, "T": T, "sigma": sigma, "dds": dds_t(sigma, ac), "nearest": nearest_t(sigma, ac)}
        if name == "cosine":
            t = densepure_t(sigma, T)
            row.update({"densepureFloat": t, "densepure": round(t)})
        cases.append(row)
print(json.dumps({"generator": "tools/reference/core/timestep_rules.py", "numpy": np.__version__, "cases": cases}, indent=1))
