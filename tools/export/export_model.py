"""Export a PyTorch diffusion UNet or image classifier to ONNX (opset 17, dynamic batch) plus a densepure manifest,
and verify the ONNX graph against PyTorch with onnxruntime-node (tools/export/verify_onnx.mjs, atol = rtol = 1e-4).

Interpreter: /usr/bin/python3 with Debian's python3-torch (1.13) and python3-onnx. Offline: nothing is downloaded;
torchvision / timm / improved-diffusion / guided-diffusion are imported only when asked for, from your installation
or your clone on PYTHONPATH. Run from the repository root; see tools/export/README.md.

  denoiser  --module pkg.mod:Class [--kwargs JSON] [--checkpoint F [--state-key K]] ...   any nn.Module forward(x, t)
  improved-diffusion --checkpoint F --flags "--image_size 32 ..."                           openai/improved-diffusion
  guided-diffusion   --checkpoint F --flags "--image_size 256 ..."                          openai/guided-diffusion
  classifier (--module pkg.mod:Class | --torchvision NAME | --timm NAME) [--checkpoint F] --image-size S ...

Traps handled (see README): timesteps rescaled to t * 1000 / T inside the graph for models trained with
rescale_timesteps (improved-diffusion's default); guided-diffusion's attention calls its gradient-checkpoint helper
unconditionally (an autograd.Function ONNX cannot trace): the helper is replaced by a plain call; fp16 weights or
use_fp16 models are exported in float32.
"""
import argparse
import importlib
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
OPSET = 17
TOLERANCE = 1e-4


# ----------------------------------------------------------------------------------------------------------------
# Loading
# ----------------------------------------------------------------------------------------------------------------
def import_object(path):
    """'package.module:Name' -> the object. The repository root is importable (e.g. tools.train.common:UNet)."""
    if ":" not in path:
        raise SystemExit(f"--module must look like 'package.module:ClassName', got '{path}'")
    mod, name = path.split(":", 1)
    if REPO_ROOT not in sys.path:
        sys.path.insert(0, REPO_ROOT)
    try:
        obj = importlib.import_module(mod)
    except ImportError as e:
        raise SystemExit(f"cannot import {mod} ({e}); put its folder on PYTHONPATH")
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


def load_state_dict(path, key=None):
    """A checkpoint's state dict: the file itself, or its entry `key` (e.g. 'ema', 'model', 'state_dict')."""
    sd = torch.load(path, map_location="cpu")
    if key is not None:
        if not isinstance(sd, dict) or key not in sd:
            keys = list(sd.keys())[:10] if isinstance(sd, dict) else type(sd).__name__
            raise SystemExit(f"checkpoint {path} has no entry '{key}' (top-level keys: {keys})")
        sd = sd[key]
    if isinstance(sd, nn.Module):
        sd = sd.state_dict()
    # Weights saved from DataParallel / DDP carry a 'module.' prefix.
    if sd and all(k.startswith("module.") for k in sd):
        sd = {k[len("module."):]: v for k, v in sd.items()}
    return sd


def to_float32_state(sd):
    """fp16 (or bf16) tensors -> float32: ONNX export and onnxruntime's CPU kernels run the model in float32."""
    return {k: (v.float() if torch.is_tensor(v) and v.is_floating_point() else v) for k, v in sd.items()}


def force_float32(model):
    """A model built with use_fp16 keeps converting its blocks to fp16: undo it and pin its working dtype."""
    if hasattr(model, "convert_to_fp32"):
        model.convert_to_fp32()
    if getattr(model, "dtype", None) == torch.float16:
        model.dtype = torch.float32
    if getattr(model, "use_fp16", False):
        model.use_fp16 = False
    return model.float()


def patch_gradient_checkpointing(prefixes=("guided_diffusion", "improved_diffusion")):
    """guided-diffusion's AttentionBlock calls checkpoint(self._forward, (x,), params, True) whatever use_checkpoint says;
    its CheckpointFunction is an autograd.Function that torch.onnx cannot trace. Replace every loaded `checkpoint`
    helper of those packages by a plain call. Returns the patched module names."""
    def plain(func, inputs, params, flag):
        return func(*inputs)

    patched = []
    for name, mod in list(sys.modules.items()):
        if mod is not None and name.split(".")[0] in prefixes and callable(getattr(mod, "checkpoint", None)):
            mod.checkpoint = plain
            patched.append(name)
    return sorted(patched)


class TimestepInput(nn.Module):
    """The graph's contract: x [B,C,H,W] float32 and t [B] int64 on the original schedule's 0..T-1. A model trained
    with rescale_timesteps sees t * 1000 / T (float), as improved-diffusion's _WrappedModel feeds it."""

    def __init__(self, model, T, rescale):
        super().__init__()
        self.model = model
        self.scale = 1000.0 / T if rescale else None

    def forward(self, x, t):
        tt = t.to(torch.float32) * self.scale if self.scale is not None else t
        return self.model(x, tt)


class Normalized(nn.Module):
    """(x - mean) / std in the graph, for a classifier that takes images in [0, 1]."""

    def __init__(self, model, mean, std):
        super().__init__()
        self.model = model
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).reshape(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).reshape(1, -1, 1, 1))

    def forward(self, x):
        return self.model((x - self.mean) / self.std)


def openai_model(package, checkpoint, flags):
    """improved-diffusion / guided-diffusion: build the model from the package's own flag defaults, as its
    scripts do, in float32 without gradient checkpointing. Returns (model, facts)."""
    try:
        su = importlib.import_module(f"{package}.script_util")
    except ImportError as e:
        raise SystemExit(f"cannot import {package} ({e}): clone it and put the clone on PYTHONPATH "
                         f"(PYTHONPATH=/path/to/{package.replace('_', '-')})")
    defaults = su.model_and_diffusion_defaults()
    parser = argparse.ArgumentParser(prog=package)
    su.add_dict_to_argparser(parser, defaults)
    args = parser.parse_args(shlex.split(flags))
    kw = su.args_to_dict(args, defaults.keys())
    if kw.get("class_cond"):
        raise SystemExit("class-conditional models are not supported: densepure calls the denoiser with (x, t) only")
    kw["timestep_respacing"] = ""  # export the model on its full schedule; densepure respaces itself
    if "use_checkpoint" in kw:
        kw["use_checkpoint"] = False
    fp16 = bool(kw.get("use_fp16", False))
    if "use_fp16" in kw:
        kw["use_fp16"] = False
    model, diffusion = su.create_model_and_diffusion(**kw)
    patched = patch_gradient_checkpointing()
    if checkpoint:
        model.load_state_dict(to_float32_state(load_state_dict(checkpoint)))
    force_float32(model)
    T = int(diffusion.num_timesteps)
    facts = {"schedule": kw["noise_schedule"], "T": T, "learnedVariance": bool(kw.get("learn_sigma", False)),
             "rescaleTimesteps": bool(getattr(diffusion, "rescale_timesteps", kw.get("rescale_timesteps", False))),
             "imageSize": int(kw["image_size"]), "channels": 3,
             "source": {"package": package, "flags": flags, "checkpoint": os.path.basename(checkpoint) if checkpoint else None,
                        "trainedInFp16": fp16, "checkpointHelperPatchedIn": patched}}
    if kw.get("predict_xstart"):
        raise SystemExit("the model predicts x0 (predict_xstart); densepure's denoisers predict epsilon")
    return model, facts


# ----------------------------------------------------------------------------------------------------------------
# Export and verification
# ----------------------------------------------------------------------------------------------------------------
def write_raw(path, array):
    np.ascontiguousarray(array).tofile(path)
    return os.path.basename(path)


def export_onnx(module, example, path, input_names, output_names):
    import onnx
    module.eval()
    dynamic = {n: {0: "B"} for n in input_names + output_names}
    with torch.no_grad():
        torch.onnx.export(module, example, path, opset_version=OPSET, input_names=input_names, output_names=output_names,
                          dynamic_axes=dynamic, do_constant_folding=True)
    onnx.checker.check_model(onnx.load(path))


def verify(onnx_path, inputs, outputs, keep_dir=None):
    """Writes the inputs and PyTorch outputs as raw little-endian tensors and runs verify_onnx.mjs (onnxruntime-node)
    on them. Returns the verification report (dict) or raises SystemExit when the graph disagrees with torch."""
    work = keep_dir or tempfile.mkdtemp(prefix="densepure-export-")
    os.makedirs(work, exist_ok=True)
    spec = {"model": os.path.abspath(onnx_path), "atol": TOLERANCE, "rtol": TOLERANCE, "inputs": [], "outputs": []}
    for name, arr in inputs:
        spec["inputs"].append({"name": name, "dtype": str(arr.dtype), "shape": list(arr.shape),
                               "file": write_raw(os.path.join(work, f"in-{name}.bin"), arr)})
    for name, arr in outputs:
        spec["outputs"].append({"name": name, "dtype": "float32", "shape": list(arr.shape),
                                "file": write_raw(os.path.join(work, f"out-{name}.bin"), arr.astype(np.float32))})
    with open(os.path.join(work, "verify.json"), "w") as f:
        json.dump(spec, f, indent=1)
    r = subprocess.run(["node", os.path.join(HERE, "verify_onnx.mjs"), os.path.join(work, "verify.json")],
                       capture_output=True, text=True, cwd=REPO_ROOT)
    if r.returncode != 0 and not r.stdout.strip().startswith("{"):
        raise SystemExit(f"verify_onnx.mjs failed to run: {r.stderr.strip() or r.stdout.strip()} "
                         "(run `pnpm install && pnpm build` in the repository first)")
    report = json.loads(r.stdout)
    if not keep_dir:
        for fn in os.listdir(work):
            os.remove(os.path.join(work, fn))
        os.rmdir(work)
    if all(o["torchMaxAbs"] == 0 for o in report["outputs"]):
        print("warning: torch's outputs are all zero (zero-initialised output layer, no checkpoint?): the comparison "
              "shows nothing", file=sys.stderr)
    if not report["ok"]:
        raise SystemExit(f"ONNX outputs differ from torch beyond atol = rtol = {TOLERANCE}: {json.dumps(report)}")
    return report


def sha256_file(path):
    import hashlib
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_manifest(onnx_path, manifest):
    """The manifest beside the model (<stem>.json), with the file's sha256 and size; fields as @densepure/backend's schema."""
    manifest = {"schemaVersion": 1, **manifest, "format": "onnx", "file": os.path.basename(onnx_path),
                "sha256": sha256_file(onnx_path), "sizeBytes": os.path.getsize(onnx_path)}
    path = os.path.splitext(onnx_path)[0] + ".json"
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)
    return path


def export_denoiser(model, facts, out, name=None, batch=3, seed=0, keep_verify=None, value_range=(-1.0, 1.0)):
    """model(x, t') with t' = t or t * 1000 / T (facts['rescaleTimesteps']); writes out (.onnx) and its manifest."""
    c, s, T = facts["channels"], facts["imageSize"], facts["T"]
    wrapped = TimestepInput(model.eval(), T, facts["rescaleTimesteps"]).eval()
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, c, s, s, generator=g).clamp(-3, 3)
    t = torch.randint(0, T, (batch,), generator=g, dtype=torch.int64)
    export_onnx(wrapped, (x, t), out, ["x", "t"], ["out"])
    with torch.no_grad():
        y = wrapped(x, t).float()
    out_c = y.shape[1]
    if out_c != (2 * c if facts["learnedVariance"] else c):
        raise SystemExit(f"the model outputs {out_c} channels; with learned variance {facts['learnedVariance']} densepure "
                         f"expects {2 * c if facts['learnedVariance'] else c} (eps{' and v' if facts['learnedVariance'] else ''})")
    report = verify(out, [("x", x.numpy()), ("t", t.numpy())], [("out", y.numpy())], keep_verify)
    diffusion = {"schedule": facts["schedule"], "T": T, "prediction": "epsilon", "learnedVariance": facts["learnedVariance"]}
    if facts["learnedVariance"]:
        diffusion["varianceParam"] = "learned_range"
    for k in ("betaStart", "betaEnd"):
        if facts.get(k) is not None:
            diffusion[k] = facts[k]
    manifest = {"kind": "denoiser", "name": name or os.path.splitext(os.path.basename(out))[0],
                "inputs": [{"name": "x", "dtype": "float32", "shape": ["B", c, s, s]},
                           {"name": "t", "dtype": "int64", "shape": ["B"]}],
                "outputs": [{"name": "out", "dtype": "float32", "shape": ["B", out_c, s, s]}],
                "imageSize": s, "channels": c, "valueRange": list(value_range), "diffusion": diffusion,
                "training": {"exportedWith": f"torch {torch.__version__}, opset {OPSET}, tools/export/export_model.py",
                             "rescaleTimestepsInGraph": facts["rescaleTimesteps"], "verification": report,
                             **({"source": facts["source"]} if "source" in facts else {})}}
    return write_manifest(out, manifest), report


def export_classifier(model, out, image_size, channels=3, num_classes=None, class_names=None, mean=None, std=None,
                      normalize_in_graph=False, resize=None, name=None, batch=3, seed=0, keep_verify=None, source=None):
    """Classifier on images in [0, 1]; mean/std are recorded (applied in the graph with normalize_in_graph)."""
    model = model.eval()
    if normalize_in_graph:
        if mean is None or std is None:
            raise SystemExit("normalising in the graph needs --mean and --std")
        model = Normalized(model, mean, std).eval()
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(batch, channels, image_size, image_size, generator=g)
    export_onnx(model, (x,), out, ["x"], ["logits"])
    with torch.no_grad():
        y = model(x).float()
    if y.dim() != 2:
        raise SystemExit(f"the classifier outputs shape {list(y.shape)}; densepure expects logits [B, classes]")
    k = int(y.shape[1])
    if num_classes is not None and num_classes != k:
        raise SystemExit(f"{num_classes} classes were declared but the model outputs {k} logits")
    if class_names is not None and len(class_names) != k:
        raise SystemExit(f"{len(class_names)} class names were given but the model outputs {k} logits")
    report = verify(out, [("x", x.numpy())], [("logits", y.numpy())], keep_verify)
    manifest = {"kind": "classifier", "name": name or os.path.splitext(os.path.basename(out))[0],
                "inputs": [{"name": "x", "dtype": "float32", "shape": ["B", channels, image_size, image_size]}],
                "outputs": [{"name": "logits", "dtype": "float32", "shape": ["B", k]}],
                "imageSize": image_size, "channels": channels, "valueRange": [0, 1], "numClasses": k}
    if class_names is not None:
        manifest["classNames"] = list(class_names)
    if mean is not None and std is not None:
        manifest["normalization"] = {"mean": list(mean), "std": list(std), "appliedInGraph": bool(normalize_in_graph)}
    if resize is not None:
        manifest["resize"] = resize
    manifest["training"] = {"exportedWith": f"torch {torch.__version__}, opset {OPSET}, tools/export/export_model.py",
                            "verification": report, **({"source": source} if source else {})}
    return write_manifest(out, manifest), report


# ----------------------------------------------------------------------------------------------------------------
# Command line
# ----------------------------------------------------------------------------------------------------------------
def floats(text):
    return [float(v) for v in text.split(",")] if text else None


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="what", required=True)

    def common(p):
        p.add_argument("--out", required=True, help="output .onnx path; the manifest is written beside it")
        p.add_argument("--name", default=None)
        p.add_argument("--threads", type=int, default=2)
        p.add_argument("--keep-verify", default=None, help="keep the verification tensors in this folder")

    d = sub.add_parser("denoiser", help="any nn.Module with forward(x, t) returning eps (or eps and v)")
    common(d)
    d.add_argument("--module", required=True, help="package.module:Class, e.g. tools.train.common:UNet")
    d.add_argument("--kwargs", default="{}", help="constructor arguments as JSON")
    d.add_argument("--checkpoint", default=None)
    d.add_argument("--state-key", default=None, help="entry of the checkpoint holding the state dict (e.g. ema)")
    d.add_argument("--image-size", type=int, required=True)
    d.add_argument("--channels", type=int, default=3)
    d.add_argument("--schedule", choices=["linear", "cosine"], required=True)
    d.add_argument("--T", type=int, required=True)
    d.add_argument("--beta-start", type=float, default=None)
    d.add_argument("--beta-end", type=float, default=None)
    d.add_argument("--learned-variance", action="store_true", help="the output holds eps and v (2C channels)")
    d.add_argument("--rescale-timesteps", action="store_true", help="the model was trained on t * 1000 / T")

    for pkg in ("improved-diffusion", "guided-diffusion"):
        p = sub.add_parser(pkg, help=f"an openai/{pkg} checkpoint (your clone on PYTHONPATH)")
        common(p)
        p.add_argument("--checkpoint", required=True)
        p.add_argument("--flags", required=True, help="the MODEL_FLAGS and DIFFUSION_FLAGS it was trained with, one string")

    c = sub.add_parser("classifier", help="a classifier on images in [0, 1]")
    common(c)
    src = c.add_mutually_exclusive_group(required=True)
    src.add_argument("--module", help="package.module:Class")
    src.add_argument("--torchvision", help="torchvision.models name, e.g. resnet50 (weights from --checkpoint)")
    src.add_argument("--timm", help="timm model name, e.g. vit_base_patch16_224 (weights from --checkpoint)")
    c.add_argument("--kwargs", default="{}")
    c.add_argument("--checkpoint", default=None)
    c.add_argument("--state-key", default=None)
    c.add_argument("--image-size", type=int, required=True)
    c.add_argument("--channels", type=int, default=3)
    c.add_argument("--num-classes", type=int, default=None)
    c.add_argument("--classes", default=None, help="file with one class name per line")
    c.add_argument("--mean", default=None, help="per-channel mean, e.g. 0.485,0.456,0.406")
    c.add_argument("--std", default=None)
    c.add_argument("--normalize-in-graph", action="store_true")
    c.add_argument("--resize", choices=["bilinear", "bicubic-antialias"], default=None)
    args = ap.parse_args(argv)

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    started = time.time()
    if args.what == "classifier":
        kwargs = json.loads(args.kwargs)
        if args.module:
            model, source = import_object(args.module)(**kwargs), {"module": args.module, "kwargs": kwargs}
        elif args.torchvision:
            tv = importlib.import_module("torchvision.models")
            model, source = getattr(tv, args.torchvision)(**kwargs), {"torchvision": args.torchvision, "kwargs": kwargs}
        else:
            timm = importlib.import_module("timm")
            model, source = timm.create_model(args.timm, pretrained=False, **kwargs), {"timm": args.timm, "kwargs": kwargs}
        if args.checkpoint:
            model.load_state_dict(to_float32_state(load_state_dict(args.checkpoint, args.state_key)))
            source["checkpoint"] = os.path.basename(args.checkpoint)
        model = force_float32(model)
        names = None
        if args.classes:
            with open(args.classes) as f:
                names = [l.strip() for l in f if l.strip()]
        path, report = export_classifier(model, args.out, args.image_size, args.channels, args.num_classes, names,
                                         floats(args.mean), floats(args.std), args.normalize_in_graph, args.resize,
                                         args.name, keep_verify=args.keep_verify, source=source)
    else:
        if args.what == "denoiser":
            kwargs = json.loads(args.kwargs)
            model = import_object(args.module)(**kwargs)
            if args.checkpoint:
                model.load_state_dict(to_float32_state(load_state_dict(args.checkpoint, args.state_key)))
            model = force_float32(model)
            facts = {"schedule": args.schedule, "T": args.T, "learnedVariance": args.learned_variance,
                     "rescaleTimesteps": args.rescale_timesteps, "imageSize": args.image_size, "channels": args.channels,
                     "betaStart": args.beta_start, "betaEnd": args.beta_end,
                     "source": {"module": args.module, "kwargs": kwargs,
                                "checkpoint": os.path.basename(args.checkpoint) if args.checkpoint else None}}
        else:
            model, facts = openai_model(args.what.replace("-", "_"), args.checkpoint, args.flags)
        path, report = export_denoiser(model, facts, args.out, args.name, keep_verify=args.keep_verify)
    print(json.dumps({"onnx": args.out, "manifest": path, "verification": report,
                      "seconds": round(time.time() - started, 1)}))


if __name__ == "__main__":
    main()
