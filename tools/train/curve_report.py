"""Print a run's evaluation curve as a markdown table with the gain per training hour between points.

    /usr/bin/python3 tools/train/curve_report.py fashion mnist-long

Reads tools/train/checkpoints/<run>/curve.jsonl (written by train_denoiser.py); training hours exclude evaluation.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import CKPT_DIR  # noqa: E402

COLUMNS = [("oneShot1.0", "one-shot acc. sigma 1.0"), ("oneShot0.5", "sigma 0.5"),
           ("sampleConfidence", "sample confidence"), ("sampleFrechet", "sample FCD")]


def table(run):
    path = os.path.join(CKPT_DIR, run, "curve.jsonl")
    if not os.path.exists(path):
        return f"## {run}\n\nno curve yet ({path} is missing: the run has not been evaluated)\n"
    with open(path) as f:
        recs = [json.loads(line) for line in f if line.strip()]
    head = ["step", "training h"] + [name for _, name in COLUMNS] + ["sigma 1.0 gain / h"]
    lines = [f"## {run}", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    prev = None
    for r in recs:
        hours = r["trainWall"] / 3600
        gain = ""
        if prev is not None and hours > prev[0]:
            gain = f"{(r['oneShot1.0'] - prev[1]) / (hours - prev[0]) * 100:+.1f} points"
        cells = [str(r["step"]), f"{hours:.2f}"] + [f"{r[k]:.3f}" for k, _ in COLUMNS] + [gain]
        lines.append("| " + " | ".join(cells) + " |")
        prev = (hours, r["oneShot1.0"])
    return "\n".join(lines) + "\n"


def main():
    runs = sys.argv[1:] or sorted(d for d in os.listdir(CKPT_DIR) if os.path.isdir(os.path.join(CKPT_DIR, d)))
    print("\n".join(table(r) for r in runs))


if __name__ == "__main__":
    main()
