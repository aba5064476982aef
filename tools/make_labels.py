#!/usr/bin/python3
"""Write the label sets that runtime.Labels embeds.

usage: /usr/bin/python3 tools/make_labels.py [--out DIR]

DIR (default runtime/labels) gets one UTF-8 file per label set, one class
name a line, in class order:

    imagenet.txt        the 1000 ImageNet-1k classes of torchvision's
                        pretrained weights, from torchvision 0.14's
                        torchvision.models._meta._IMAGENET_CATEGORIES
    fashion-mnist.txt   the 10 Fashion-MNIST classes, as torchvision's
                        datasets.FashionMNIST.classes

Output is deterministic.
"""
import argparse
import os

from torchvision.datasets import FashionMNIST
from torchvision.models._meta import _IMAGENET_CATEGORIES

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(REPO, "runtime", "labels")

FASHION_MNIST = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                 "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def write(path, labels):
    for label in labels:
        assert label and label == label.strip() and "\n" not in label, repr(label)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(labels) + "\n")
    print(f"{path}: {len(labels)} labels")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT)
    args = ap.parse_args()
    assert len(_IMAGENET_CATEGORIES) == 1000
    assert FashionMNIST.classes == FASHION_MNIST, FashionMNIST.classes
    os.makedirs(args.out, exist_ok=True)
    write(os.path.join(args.out, "imagenet.txt"), list(_IMAGENET_CATEGORIES))
    write(os.path.join(args.out, "fashion-mnist.txt"), FASHION_MNIST)


if __name__ == "__main__":
    main()
