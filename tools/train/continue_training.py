"""Continue the training plan where it stopped: one command for every session.

Runs the plan's stages in order, each resumed from its checkpoint; a finished stage is skipped. SIGTERM/SIGINT
make the running stage checkpoint and the command exit (losing at most the step in flight). --max-minutes bounds
this invocation. Start it in the background, stop it with `kill -TERM $(cat /tmp/densepure-train.pid)`:

    setsid nohup nice -n 19 /usr/bin/python3 tools/train/continue_training.py --max-minutes 110 \
        >> tools/train/checkpoints/train.log 2>&1 &

The plan (why these sizes: tools/train/README.md, "Longer runs"):
  fashion-classifier  clean CNN on Fashion-MNIST, 8 epochs
  fashion-denoiser    UNet (as the shipped MNIST one) on Fashion-MNIST, 8,000 steps of batch 128
  mnist-long          the shipped MNIST denoiser (2,150 steps) continued to 8,000 steps in run mnist-long
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train_classifier  # noqa: E402
import train_denoiser  # noqa: E402
from common import CKPT_DIR  # noqa: E402
from control import Stop  # noqa: E402

PLAN = [
    ("fashion-classifier", train_classifier, ["--dataset", "fashion", "--epochs", "8"]),
    ("fashion-denoiser", train_denoiser, ["--dataset", "fashion", "--steps", "8000"]),
    ("mnist-long", train_denoiser, ["--dataset", "mnist", "--run", "mnist-long", "--steps", "8000",
                                    "--init-from", os.path.join(CKPT_DIR, "denoiser.pt")]),
]
PIDFILE = "/tmp/densepure-train.pid"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", choices=[name for name, _, _ in PLAN], action="append",
                    help="run only these stages (repeatable); default: the whole plan in order")
    ap.add_argument("--max-minutes", type=float, default=1e9, help="wall-time bound for this invocation")
    ap.add_argument("--threads", default="1", help="torch threads (1 on a machine whose cores are shared)")
    ap.add_argument("--device", default="cpu", help="where the denoiser stages train: cpu, cuda or cuda:N "
                                                    "(the classifier stage stays on the CPU)")
    ap.add_argument("--pidfile", default=PIDFILE, help="where this process writes its pid (one per running command)")
    args = ap.parse_args()
    stop = Stop().install()
    with open(args.pidfile, "w") as f:
        f.write(str(os.getpid()))
    t0 = time.time()
    try:
        for name, module, stage_argv in PLAN:
            if args.only and name not in args.only:
                continue
            left = args.max_minutes - (time.time() - t0) / 60
            if left <= 0 or stop.requested:
                break
            argv = stage_argv + ["--threads", args.threads] + (["--device", args.device] if module is train_denoiser else [])
            stage_args = module.parser().parse_args(argv)
            stage_args.max_minutes = left  # not part of the recorded command: it bounds this invocation only
            print(f"== {name}: {os.path.basename(module.__file__)} {' '.join(argv)}", flush=True)
            if not module.train(stage_args, stop, [module.__file__, *argv]):
                break
        else:
            print("plan complete", flush=True)
    finally:
        if os.path.exists(args.pidfile):
            os.remove(args.pidfile)


if __name__ == "__main__":
    main()
