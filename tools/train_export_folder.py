#!/usr/bin/python3
"""Write some Fashion-MNIST classes as an image folder, DIR/CLASS/NNNNN.png, for trying
`cnngen train`'s fine-tuning form (docs/training.md) without downloading anything:

    /usr/bin/python3 tools/train_export_folder.py /tmp/shoes --classes 5,7,9 --per-class 600

Needs numpy and Pillow (/usr/bin/python3). Images are taken in training-set order; the
test set's images of the same classes go to DIR-val/CLASS/ (--val-per-class of them).
"""
import argparse
import os
import sys

from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_lenet5 import SLUGS, read_idx  # noqa: E402

DATA_DIR = "/usr/share/datasets/fashion-mnist"


def export(prefix, out, classes, per_class):
    images = read_idx(os.path.join(DATA_DIR, f"{prefix}-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(DATA_DIR, f"{prefix}-labels-idx1-ubyte.gz"))
    counts = {c: 0 for c in classes}
    for i, lab in enumerate(labels.tolist()):
        if lab in counts and counts[lab] < per_class:
            d = os.path.join(out, SLUGS[lab])
            os.makedirs(d, exist_ok=True)
            Image.fromarray(images[i], mode="L").save(os.path.join(d, f"{i:05d}.png"))
            counts[lab] += 1
    return sum(counts.values())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--classes", default="5,7,9", help="Fashion-MNIST class indices (5 sandal, 7 sneaker, 9 ankle boot)")
    ap.add_argument("--per-class", type=int, default=600)
    ap.add_argument("--val-per-class", type=int, default=200)
    args = ap.parse_args()
    classes = [int(c) for c in args.classes.split(",")]
    n = export("train", args.out, classes, args.per_class)
    v = export("t10k", args.out.rstrip("/") + "-val", classes, args.val_per_class)
    print(f"wrote {n} images to {args.out}/CLASS/ and {v} to {args.out.rstrip('/')}-val/CLASS/")


if __name__ == "__main__":
    main()
