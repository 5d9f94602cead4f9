"""Write a dataset's held-out test part into its zoo: packages/zoo-<x>/data/<x>-test.bin (+ .json).

`--dataset mnist` (default) writes packages/zoo-mnist/data/mnist-test.bin; `--dataset fashion` writes
packages/zoo-fashion/data/fashion-test.bin.

Format (DPDS v1): 32-byte header: b"DPDS", then little-endian u32 version=1, N, C, H, W, numClasses, dtype
(1 = uint8 value/255, 2 = float32 LE); then N uint8 labels; then N*C*H*W pixels (NCHW row-major).
dtype 1 is used only if every value in the package equals round(v*255)/255 within 1e-7.
"""
import argparse
import json
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import read_dpds, sha256_file  # noqa: E402
from datasets import DATASETS  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", default="mnist", choices=sorted(DATASETS))
    ap.add_argument("--data-dir", "--mnist-dir", dest="data_dir", default=None)
    ap.add_argument("--out-dir", default=None, help="default: the dataset's zoo, data/")
    args = ap.parse_args()
    ds = DATASETS[args.dataset]
    out_dir = args.out_dir or os.path.join(ds.zoo_dir, "data")
    trx, try_, tex, tey, info = ds.load(args.data_dir)
    allv = np.concatenate([trx.ravel(), tex.ravel()])
    byte_exact = bool(np.all(np.abs(np.round(allv * 255) / 255 - allv) <= 1e-7))
    dtype = 1 if byte_exact else 2
    n = tex.shape[0]
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, ds.test_file)
    with open(path, "wb") as f:
        f.write(b"DPDS" + struct.pack("<7I", 1, n, 1, 28, 28, 10, dtype))
        f.write(tey.astype(np.uint8).tobytes())
        if dtype == 1:
            f.write(np.round(tex * 255).astype(np.uint8).tobytes())
        else:
            f.write(tex.astype("<f4").tobytes())
    x, y = read_dpds(path)
    assert (y == tey).all() and np.abs(x - tex).max() < 1e-6
    distinct = np.unique(allv)
    meta = {
        "format": "DPDS",
        "formatVersion": 1,
        "file": ds.test_file,
        "count": int(n),
        "channels": 1, "height": 28, "width": 28, "numClasses": 10,
        "dtype": "float32" if dtype == 2 else "uint8",
        "dtypeCode": dtype,
        "valueRange": [0, 1],
        "sha256": sha256_file(path),
        "sizeBytes": os.path.getsize(path),
        "split": ds.split_rule,
        "classCounts": {k: v["test"] for k, v in info["counts"].items()},
        "source": {"package": info["package"], "version": info["version"],
                   "note": ("values in the package are decimals with 3 significant digits (e.g. 0.624), "
                            f"{distinct.size} distinct values; not exactly byte/255, hence float32")
                   if dtype == 2 else "values are exactly byte/255"},
        "classNames": ds.class_names,
        "licence": ds.licence,
    }
    with open(os.path.join(out_dir, ds.test_file.replace(".bin", ".json")), "w") as f:
        json.dump(meta, f, indent=2)
    print(json.dumps({k: meta[k] for k in ("count", "dtype", "sha256", "sizeBytes", "classCounts")}))
    print("train", trx.shape[0], "test", n)


if __name__ == "__main__":
    main()
