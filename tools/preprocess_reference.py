#!/usr/bin/python3
"""Make the torchvision reference tensors that runtime/image_test.go compares
runtime.Preprocess against.

usage: /usr/bin/python3 tools/preprocess_reference.py [--out DIR]

Draws a few small sample images deterministically with PIL (gradients, shapes,
fine stripes; RGB, palette with transparency, RGBA, grayscale, JPEG; landscape,
portrait, smaller than the crop) and saves them to DIR (default
runtime/testdata/images). Each saved file is then read back with PIL, like a
torchvision dataset does (Image.open(f).convert("RGB"), or convert("L") for
single-channel networks), and put through torchvision transforms for each
mode of MODES. The results are written as

    DIR/<image>.<mode>.f32   raw little-endian float32, CHW
    DIR/reference.json       images, modes (the Preprocess fields) and shapes

Most modes work at a reduced size (Resize(64) + CenterCrop(56)) to keep the
repository small; "imagenet" is the real Resize(256) + CenterCrop(224) of the
ImageNet specs, for one image only (a 3x224x224 float32 tensor is 600 KB).
Tested with Debian's python3-torchvision 0.14 and PIL 9.4. Output is
deterministic.
"""
import argparse
import json
import os

import numpy as np
import torch
from PIL import Image, ImageDraw
from torchvision import transforms as T

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(REPO, "runtime", "testdata", "images")

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]

# Each mode is the runtime.Preprocess it corresponds to. "images" limits a
# mode to some images (default all).
MODES = {
    "bilinear": dict(channels=3, height=56, width=56, resize=64, crop=56,
                     interpolation="bilinear", mean=IMAGENET_MEAN, std=IMAGENET_STD),
    "bicubic": dict(channels=3, height=56, width=56, resize=64, crop=56,
                    interpolation="bicubic", mean=IMAGENET_MEAN, std=IMAGENET_STD),
    "nearest": dict(channels=3, height=56, width=56, resize=64, crop=56,
                    interpolation="nearest", mean=IMAGENET_MEAN, std=IMAGENET_STD),
    # Resize smaller than the crop: torchvision's CenterCrop pads with zeros.
    "pad": dict(channels=3, height=56, width=56, resize=40, crop=56,
                interpolation="bilinear", mean=IMAGENET_MEAN, std=IMAGENET_STD),
    # Resize 0: straight to height x width, ignoring the aspect ratio.
    "stretch": dict(channels=3, height=48, width=56, resize=0, crop=0,
                    interpolation="bicubic", mean=IMAGENET_MEAN, std=IMAGENET_STD),
    # lenet5.yaml: grayscale, Resize(28), no crop. Non-square images come out
    # 28xN of torchvision's Resize(28); Preprocess center-crops them to the
    # 28x28 input, so the reference adds CenterCrop(28).
    "fashion": dict(channels=1, height=28, width=28, resize=28, crop=0, grayscale=True,
                    interpolation="bilinear", mean=[0.2860], std=[0.3530]),
    "imagenet": dict(channels=3, height=224, width=224, resize=256, crop=224,
                     interpolation="bilinear", mean=IMAGENET_MEAN, std=IMAGENET_STD,
                     images=["gradient_300x200.png"]),
}

INTERP = {
    "bilinear": T.InterpolationMode.BILINEAR,
    "bicubic": T.InterpolationMode.BICUBIC,
    "nearest": T.InterpolationMode.NEAREST,
}


def transform(mode):
    ops = []
    interp = INTERP[mode["interpolation"]]
    if mode["resize"] > 0:
        ops.append(T.Resize(mode["resize"], interpolation=interp))
        ops.append(T.CenterCrop(mode["crop"] or (mode["height"], mode["width"])))
    else:
        ops.append(T.Resize((mode["height"], mode["width"]), interpolation=interp))
    ops += [T.ToTensor(), T.Normalize(mode["mean"], mode["std"])]
    return T.Compose(ops)


def gradient(w, h):
    """An RGB gradient: red along x, green along y, blue along the diagonal."""
    x = np.linspace(0, 255, w)[None, :].repeat(h, 0)
    y = np.linspace(0, 255, h)[:, None].repeat(w, 1)
    rgb = np.stack([x, y, (x + y) / 2], axis=2)
    return Image.fromarray(np.round(rgb).astype(np.uint8), "RGB")


def shapes(img, seed):
    """Draws filled shapes, outlines and fine stripes (which alias unless the
    resampler low-pass filters) over img."""
    w, h = img.size
    d = ImageDraw.Draw(img)
    d.ellipse([w // 8, h // 6, w // 2, h * 2 // 3], fill=(230, 40, 60), outline=(10, 10, 10), width=3)
    d.rectangle([w // 2, h // 2, w * 7 // 8, h * 7 // 8], fill=(30, 90, 200))
    d.polygon([(w * 3 // 4, h // 10), (w - 4, h // 3), (w // 2, h // 3)], fill=(250, 220, 20))
    for i in range(0, w // 3, 2 + seed % 2):  # stripes, period 2 or 3 pixels
        d.line([(i, h - h // 6), (i, h - 1)], fill=(255, 255, 255))
    for i in range(5):
        d.line([(0, i * h // 5), (w - 1, h - 1 - i * h // 5)], fill=(0, 0, 0), width=1 + i % 2)
    return img


def make_images(out):
    """Draws the sample images into out and returns their file names."""
    imgs = {}
    imgs["gradient_300x200.png"] = shapes(gradient(300, 200), 0)
    imgs["portrait_200x333.png"] = shapes(gradient(200, 333), 1)
    imgs["small_40x40.png"] = shapes(gradient(40, 40), 0)  # upscaled by every mode

    # Palette image with a transparent entry (PNG tRNS); Go decodes it to
    # image.Paletted of color.NRGBA, PIL's convert("RGB") drops the alpha.
    p = shapes(gradient(150, 100), 1).quantize(colors=32, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    p.info["transparency"] = 3
    imgs["palette_150x100.png"] = p

    # RGBA with transparent and half-transparent areas whose RGB is not
    # black: convert("RGB") keeps that RGB, so Preprocess must too.
    a = shapes(gradient(120, 90), 0)
    alpha = Image.new("L", a.size, 255)
    ImageDraw.Draw(alpha).rectangle([0, 0, 59, 44], fill=0)
    ImageDraw.Draw(alpha).rectangle([60, 45, 119, 89], fill=128)
    a.putalpha(alpha)
    imgs["alpha_120x90.png"] = a

    imgs["gray_90x120.png"] = shapes(gradient(90, 120), 1).convert("L")
    imgs["photo_320x240.jpg"] = shapes(gradient(320, 240), 0)

    os.makedirs(out, exist_ok=True)
    for name, img in imgs.items():
        path = os.path.join(out, name)
        if name.endswith(".jpg"):
            img.save(path, quality=90, subsampling="4:2:0")
        else:
            img.save(path, optimize=True)
    return list(imgs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT)
    args = ap.parse_args()

    names = make_images(args.out)
    ref = {"images": names, "modes": {}}
    total = 0
    for mname, mode in MODES.items():
        m = {k: v for k, v in mode.items() if k != "images"}
        m.setdefault("grayscale", False)
        m["images"] = mode.get("images", names)
        ref["modes"][mname] = m
        t = transform(mode)
        for name in m["images"]:
            with Image.open(os.path.join(args.out, name)) as img:
                img = img.convert("L" if m["grayscale"] else "RGB")
                x = t(img)
            assert x.dtype == torch.float32 and tuple(x.shape) == (m["channels"], m["height"], m["width"]), x.shape
            path = os.path.join(args.out, f"{name}.{mname}.f32")
            data = x.numpy().astype("<f4").tobytes()
            with open(path, "wb") as f:
                f.write(data)
            total += len(data)
    with open(os.path.join(args.out, "reference.json"), "w") as f:
        json.dump(ref, f, indent=1)
        f.write("\n")
    print(f"{len(names)} images, {total} bytes of reference tensors in {args.out}")


if __name__ == "__main__":
    main()
