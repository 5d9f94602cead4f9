"""Run control shared by the training loops: stop on SIGTERM/SIGINT, periodic atomic checkpoints, progress + ETA."""
import fcntl
import json
import os
import signal
import time

import torch


class Stop:
    """Set by SIGTERM / SIGINT; loops poll it between steps, checkpoint and return."""

    def __init__(self):
        self.requested = False
        self.signal = None

    def install(self):
        def handler(signum, _frame):
            self.requested = True
            self.signal = signal.Signals(signum).name

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)
        return self


def atomic_save(obj, path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    torch.save(obj, tmp)
    os.replace(tmp, path)


class Every:
    """True once per `minutes` of wall time (the first call after construction counts from construction)."""

    def __init__(self, minutes):
        self.period = minutes * 60.0
        self.last = time.time()

    def due(self):
        if time.time() - self.last >= self.period:
            self.last = time.time()
            return True
        return False


def fmt_s(s):
    s = int(max(0, s))
    return f"{s // 3600}h{(s % 3600) // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


def progress(done, total, wall_run, done_at_start, extra):
    """One JSON progress line with rate and ETA measured over this invocation (so it follows the current load)."""
    rate = (done - done_at_start) / wall_run if wall_run > 0 and done > done_at_start else 0.0
    eta = (total - done) / rate if rate > 0 else float("nan")
    rec = {**extra, "of": total, "perSecond": round(rate, 4), "eta": fmt_s(eta) if rate > 0 else "?"}
    print(json.dumps(rec), flush=True)


def write_jsonl(path, recs):
    """Rewritten whole from the checkpoint's records at each save, so the file always matches the checkpoint."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.writelines(json.dumps(r) + "\n" for r in recs)
    os.replace(tmp, path)


def lock_run(ckpt):
    """Holds an exclusive lock beside a checkpoint for this process's life: two trainers never share a run."""
    os.makedirs(os.path.dirname(ckpt), exist_ok=True)
    f = open(ckpt + ".lock", "w")
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise SystemExit(f"{ckpt} is being trained by another process (lock {ckpt}.lock); stop that one first")
    return f
