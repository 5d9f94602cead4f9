"""Tests of tools/export/export_model.py on the project's own UNet and classifier (tools/train/common.py) and on a
stand-in for guided-diffusion (testdata/fake_openai). Each export is verified with onnxruntime-node against torch at
atol = rtol = 1e-4 (verify_onnx.mjs), batch and batch 1.

Run from the repository root after `pnpm install && pnpm build`:
  /usr/bin/python3 -m unittest tools/export/test_export.py -v
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(REPO_ROOT, "tools", "train"))
import export_model as ex  # noqa: E402
from common import MnistCNN, UNet  # noqa: E402

CLI = os.path.join(REPO_ROOT, "apps", "cli", "dist", "bin.js")
UNET_32 = dict(in_ch=3, ch=8, mults=(1, 2), num_res_blocks=1, attn_res=(16,), heads=2, out_ch=6, image_size=32)


def randomize(model, seed=0, scale=0.2):
    """Random weights everywhere, including the zero-initialised output convs (else every output is 0)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * scale)
    return model.eval()


def load_json(path):
    with open(path) as f:
        return json.load(f)


def densepure_info(path):
    """`densepure info MODEL` on the built CLI: the manifest loads (schema, sha256, graph) and the model runs."""
    if not os.path.exists(CLI):
        return None
    r = subprocess.run(["node", CLI, "info", path, "--json"], capture_output=True, text=True, cwd=REPO_ROOT)
    return r.returncode, r.stdout, r.stderr


class ExportTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        torch.set_num_threads(2)
        cls.dir = tempfile.mkdtemp(prefix="densepure-export-test-")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def check_verified(self, report):
        self.assertTrue(report["ok"], report)
        for o in report["outputs"]:
            self.assertGreater(o["torchMaxAbs"], 0.01, "torch outputs must not be trivially zero")
            self.assertLessEqual(o["toleranceUsed"], 1.0)
        self.assertEqual({o["rows"] for o in report["outputs"]}, {1, 3})

    def check_info(self, path):
        r = densepure_info(path)
        if r is None:
            self.skipTest("apps/cli is not built")
        self.assertEqual(r[0], 0, r[2] + r[1])

    def test_unet_cosine_4000_rescaled_timesteps(self):
        model = randomize(UNet(**UNET_32))
        out = os.path.join(self.dir, "unet.onnx")
        facts = {"schedule": "cosine", "T": 4000, "learnedVariance": True, "rescaleTimesteps": True, "imageSize": 32, "channels": 3}
        manifest_path, report = ex.export_denoiser(model, facts, out)
        self.check_verified(report)
        m = load_json(manifest_path)
        self.assertEqual(m["diffusion"], {"schedule": "cosine", "T": 4000, "prediction": "epsilon", "learnedVariance": True,
                                          "varianceParam": "learned_range"})
        self.assertEqual(m["outputs"][0]["shape"], ["B", 6, 32, 32])
        self.assertEqual(m["file"], "unet.onnx")
        self.assertEqual(m["sha256"], ex.sha256_file(out))
        # The graph takes t on 0..T-1 and feeds the model t * 1000 / T: compare with torch called that way.
        x = torch.randn(2, 3, 32, 32)
        t = torch.tensor([1984, 1158])
        with torch.no_grad():
            direct = model(x, t.float() * 0.25)
            wrapped = ex.TimestepInput(model, 4000, True)(x, t)
            unscaled = model(x, t.float())
        self.assertTrue(torch.allclose(direct, wrapped))
        self.assertGreater((direct - unscaled).abs().max().item(), 1e-3, "rescaling must change the output")
        self.check_info(out)

    def test_mnist_cnn_as_cifar_classifier_normalised_in_graph(self):
        model = randomize(MnistCNN(in_ch=3, num_classes=10), seed=1, scale=0.3)
        out = os.path.join(self.dir, "cnn.onnx")
        mean, std = [0.4914, 0.4822, 0.4465], [0.2471, 0.2435, 0.2616]
        manifest_path, report = ex.export_classifier(model, out, 32, 3, num_classes=10, class_names=[str(i) for i in range(10)],
                                                     mean=mean, std=std, normalize_in_graph=True, resize="bicubic-antialias")
        self.check_verified(report)
        m = load_json(manifest_path)
        self.assertEqual(m["numClasses"], 10)
        self.assertEqual(m["normalization"], {"mean": mean, "std": std, "appliedInGraph": True})
        self.assertEqual(m["resize"], "bicubic-antialias")
        self.check_info(out)

    def test_command_line_module_with_fp16_checkpoint(self):
        """--module + --checkpoint whose weights are fp16 (and wrapped in {'ema': ...}): exported in float32."""
        model = randomize(UNet(**{**UNET_32, "out_ch": 3}), seed=2)
        ckpt = os.path.join(self.dir, "half.pt")
        torch.save({"ema": {k: v.half() for k, v in model.state_dict().items()}}, ckpt)
        out = os.path.join(self.dir, "cli-unet.onnx")
        kwargs = json.dumps({**UNET_32, "out_ch": 3})
        ex.main(["denoiser", "--module", "tools.train.common:UNet", "--kwargs", kwargs, "--checkpoint", ckpt, "--state-key", "ema",
                 "--image-size", "32", "--schedule", "linear", "--T", "1000", "--out", out])
        m = load_json(os.path.splitext(out)[0] + ".json")
        self.assertFalse(m["diffusion"]["learnedVariance"])
        self.check_verified(m["training"]["verification"])
        self.check_info(out)

    def test_guided_diffusion_traps(self):
        """The stand-in calls its autograd.Function checkpoint unconditionally and was trained in fp16."""
        sys.path.insert(0, os.path.join(HERE, "testdata", "fake_openai"))
        try:
            from guided_diffusion import script_util
            from guided_diffusion.unet import UNetModel
            raw, _ = script_util.create_model_and_diffusion(**{**script_util.model_and_diffusion_defaults(), "learn_sigma": True})
            randomize(raw, seed=3)
            ckpt = os.path.join(self.dir, "guided.pt")
            torch.save({k: v.half() for k, v in raw.state_dict().items()}, ckpt)
            # Unpatched, torch.onnx cannot export the checkpointed attention (or exports an op onnxruntime lacks).
            broken = os.path.join(self.dir, "broken.onnx")
            plain = UNetModel(32, 8, 6).eval()
            failed = False
            try:
                ex.export_onnx(ex.TimestepInput(plain, 1000, False), (torch.randn(1, 3, 32, 32), torch.tensor([5])), broken, ["x", "t"], ["out"])
                import onnx
                failed = any(n.op_type not in ("Constant",) and n.domain not in ("", "ai.onnx") for n in onnx.load(broken).graph.node)
            except Exception:
                failed = True
            self.assertTrue(failed, "the stand-in must reproduce the checkpoint trap")
            out = os.path.join(self.dir, "guided.onnx")
            ex.main(["guided-diffusion", "--checkpoint", ckpt, "--out", out, "--flags",
                     "--image_size 32 --num_channels 8 --learn_sigma True --use_fp16 True --use_checkpoint True "
                     "--diffusion_steps 1000 --noise_schedule linear"])
            m = load_json(os.path.splitext(out)[0] + ".json")
            self.check_verified(m["training"]["verification"])
            self.assertEqual(m["diffusion"]["T"], 1000)
            self.assertTrue(m["diffusion"]["learnedVariance"])
            src = m["training"]["source"]
            self.assertTrue(src["trainedInFp16"])
            self.assertIn("guided_diffusion.unet", src["checkpointHelperPatchedIn"])
            self.assertFalse(m["training"]["rescaleTimestepsInGraph"])
            self.check_info(out)
        finally:
            sys.path.remove(os.path.join(HERE, "testdata", "fake_openai"))
            for name in [n for n in sys.modules if n.split(".")[0] == "guided_diffusion"]:
                del sys.modules[name]


if __name__ == "__main__":
    unittest.main()
