#!/usr/bin/python3
"""Train LeNet-5 on Fashion-MNIST, deterministically, and export weights and test data.

Needs Debian's torch 1.13 (python3-torch), numpy and Pillow; run with /usr/bin/python3:

    /usr/bin/python3 tools/train_lenet5.py

Writes (paths relative to the repository root, or to --out-root):
  generated/lenet5/lenet5.safetensors          state_dict, F32, with metadata
  examples/fashion/testdata/torch_predictions.bin    10,000 x uint8: torch's top-1 class per test image
  examples/fashion/testdata/torch_logits_first64.f32 float32 little-endian logits [64, 10]
  examples/fashion/testdata/samples/NNNNN_<class>.png + samples.json
                                               first two test images of each class (20 PNGs)

The architecture and its parameter names match archspecs/lenet5.yaml and tools/models.py;
the input normalisation x = (pixel/255 - 0.2860) / 0.3530 matches the archspec's preprocess.
Everything is seeded (weights init, shuffling) and torch runs with deterministic algorithms
on a fixed number of CPU threads, so a re-run with the same flags gives the same weights.
See tools/README-training.md.
"""
import argparse
import gzip
import hashlib
import json
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA_DIR = "/usr/share/datasets/fashion-mnist"
MEAN, STD = 0.2860, 0.3530  # archspecs/lenet5.yaml preprocess; keep in sync
CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
SLUGS = ["tshirt-top", "trouser", "pullover", "dress", "coat",
         "sandal", "shirt", "sneaker", "bag", "ankle-boot"]


class LeNet5(nn.Module):
    """Same module as tools/models.py LeNet5 (state_dict keys conv1, conv2, fc1, fc2, fc3)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(400, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


def read_idx(path):
    """Read a gzipped IDX file into a uint8 numpy array of the shape in its header."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    zero, dtype, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file (magic {raw[:4].hex()})")
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise ValueError(f"{path}: {data.size} bytes of data, header says {dims}")
    return data.reshape(dims)


def load_split(split):
    prefix = "train" if split == "train" else "t10k"
    images = read_idx(os.path.join(DATA_DIR, f"{prefix}-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(DATA_DIR, f"{prefix}-labels-idx1-ubyte.gz"))
    assert images.shape[1:] == (28, 28) and len(images) == len(labels)
    return torch.from_numpy(images.copy()), torch.from_numpy(labels.astype(np.int64))


def normalize(pixels_u8):
    """uint8 [N,28,28] -> float32 [N,1,28,28], x = (pixel/255 - MEAN) / STD."""
    x = pixels_u8.to(torch.float32).div(255.0)
    return x.sub(MEAN).div(STD).unsqueeze(1)


@torch.no_grad()
def predict(model, x, batch=1000):
    model.eval()
    return torch.cat([model(x[i:i + batch]) for i in range(0, len(x), batch)])


def topk_accuracy(logits, labels, k):
    top = logits.topk(k, dim=1).indices
    return (top == labels[:, None]).any(dim=1).float().mean().item()


def write_png_gray(path, pixels):
    """Write a 28x28 uint8 array as an 8-bit grayscale PNG (no ancillary chunks, so the file
    depends only on the pixels)."""
    import zlib

    h, w = pixels.shape
    raw = b"".join(b"\x00" + pixels[r].tobytes() for r in range(h))

    def chunk(tag, body):
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body) & 0xFFFFFFFF)

    png = (b"\x89PNG\r\n\x1a\n"
           + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(raw, 9))
           + chunk(b"IEND", b""))
    with open(path, "wb") as f:
        f.write(png)


def read_png_gray(path):
    from PIL import Image

    with Image.open(path) as im:
        if im.mode != "L":
            raise ValueError(f"{path}: mode {im.mode}, want L")
        return np.asarray(im, dtype=np.uint8).copy()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=1998)
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=0.05, help="peak SGD learning rate (cosine decay)")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (results depend on it)")
    ap.add_argument("--train-limit", type=int, default=0, help="use only the first N training images (for quick determinism checks)")
    ap.add_argument("--out-root", default=REPO, help="directory that generated/ and examples/ are written under")
    ap.add_argument("--no-export", action="store_true", help="train and evaluate only")
    args = ap.parse_args()

    t_start = time.time()
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    torch.backends.cudnn.benchmark = False
    torch.manual_seed(args.seed)
    tty = sys.stdout.isatty()

    train_u8, train_y = load_split("train")
    test_u8, test_y = load_split("test")
    if args.train_limit:
        train_u8, train_y = train_u8[:args.train_limit], train_y[:args.train_limit]
    train_x, test_x = normalize(train_u8), normalize(test_u8)

    model = LeNet5()
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, weight_decay=5e-4, nesterov=True)
    steps_per_epoch = (len(train_x) + args.batch - 1) // args.batch
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=args.lr, epochs=args.epochs, steps_per_epoch=steps_per_epoch,
        pct_start=0.15, anneal_strategy="cos", div_factor=10.0, final_div_factor=100.0,
        cycle_momentum=False)
    gen = torch.Generator().manual_seed(args.seed)

    print(f"LeNet-5 / Fashion-MNIST: {len(train_x)} train, {len(test_x)} test images, "
          f"{sum(p.numel() for p in model.parameters())} params, seed {args.seed}, "
          f"{args.epochs} epochs x {steps_per_epoch} steps of {args.batch}, {args.threads} thread(s), "
          f"torch {torch.__version__}", flush=True)
    for epoch in range(1, args.epochs + 1):
        t0 = time.time()
        model.train()
        perm = torch.randperm(len(train_x), generator=gen)
        loss_sum, correct, seen = 0.0, 0, 0
        for step in range(steps_per_epoch):
            idx = perm[step * args.batch:(step + 1) * args.batch]
            x, y = train_x[idx], train_y[idx]
            out = model(x)
            loss = F.cross_entropy(out, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += loss.item() * len(idx)
            correct += (out.argmax(1) == y).sum().item()
            seen += len(idx)
            if tty and (step % 50 == 0 or step == steps_per_epoch - 1):
                print(f"\r  epoch {epoch}/{args.epochs} step {step + 1}/{steps_per_epoch} "
                      f"loss {loss_sum / seen:.4f}", end="", flush=True)
        logits = predict(model, test_x)
        if tty:
            print("\r", end="")
        print(f"epoch {epoch:2d}/{args.epochs}: train loss {loss_sum / seen:.4f} acc {correct / seen:.4f}  "
              f"test top1 {topk_accuracy(logits, test_y, 1):.4f}  lr {sched.get_last_lr()[0]:.5f}  "
              f"{time.time() - t0:.1f}s", flush=True)

    logits = predict(model, test_x)
    top1 = topk_accuracy(logits, test_y, 1)
    top5 = topk_accuracy(logits, test_y, 5)
    train_secs = time.time() - t_start
    sd = {k: v.detach().to(torch.float32).contiguous() for k, v in model.state_dict().items()}
    h = hashlib.sha256()
    for k in sorted(sd):
        h.update(k.encode() + sd[k].numpy().astype("<f4").tobytes())
    print(f"final: test top-1 {top1 * 100:.2f}%  top-5 {top5 * 100:.2f}%  "
          f"({int(round(top1 * len(test_y)))}/{len(test_y)} correct)  "
          f"weights sha256 {h.hexdigest()[:16]}  {train_secs:.0f}s", flush=True)
    if args.no_export:
        return

    gen_dir = os.path.join(args.out_root, "generated", "lenet5")
    td = os.path.join(args.out_root, "examples", "fashion", "testdata")
    sample_dir = os.path.join(td, "samples")
    for d in (gen_dir, sample_dir):
        os.makedirs(d, exist_ok=True)

    meta = {
        "arch": "lenet5",
        "dataset": "fashion-mnist",
        "test_top1": f"{top1:.4f}",
        "test_top5": f"{top5:.4f}",
        "seed": str(args.seed),
        "torch": torch.__version__,
        "epochs": str(args.epochs),
        "threads": str(args.threads),
        "normalize": f"(pixel/255 - {MEAN:.4f}) / {STD:.4f}",
        "labels": ",".join(CLASSES),
    }
    st_path = os.path.join(gen_dir, "lenet5.safetensors")
    st.save(st_path, sd, meta)
    back = st.load(st_path)
    assert set(back) == set(sd) and all(torch.equal(back[k], sd[k]) for k in sd)

    preds = logits.argmax(1).to(torch.uint8).numpy()
    with open(os.path.join(td, "torch_predictions.bin"), "wb") as f:
        f.write(preds.tobytes())
    with open(os.path.join(td, "torch_logits_first64.f32"), "wb") as f:
        f.write(logits[:64].numpy().astype("<f4").tobytes())

    # Samples: the first two test images of each class, in test-set order.
    picked, per_class = [], [0] * 10
    for i, lab in enumerate(test_y.tolist()):
        if per_class[lab] < 2:
            per_class[lab] += 1
            picked.append(i)
        if len(picked) == 20:
            break
    for name in os.listdir(sample_dir):  # drop stale PNGs from earlier runs
        if name.endswith(".png"):
            os.remove(os.path.join(sample_dir, name))
    files = []
    for i in picked:
        fn = f"{i:05d}_{SLUGS[test_y[i].item()]}.png"
        write_png_gray(os.path.join(sample_dir, fn), test_u8[i].numpy())
        files.append(fn)
    # Predict from the PNG pixels as written (lossless, so identical to the IDX data).
    png_u8 = torch.from_numpy(np.stack([read_png_gray(os.path.join(sample_dir, fn)) for fn in files]))
    assert torch.equal(png_u8, test_u8[picked]), "PNG round trip changed pixels"
    png_logits = predict(model, normalize(png_u8))
    probs = torch.softmax(png_logits, dim=1)
    samples = []
    for j, (fn, i) in enumerate(zip(files, picked)):
        p5, c5 = probs[j].topk(5)
        samples.append({
            "file": fn,
            "index": i,
            "label": test_y[i].item(),
            "label_name": CLASSES[test_y[i].item()],
            "top1": c5[0].item(),
            "top1_name": CLASSES[c5[0].item()],
            "top5": c5.tolist(),
            "top5_probs": [float(v) for v in p5.tolist()],
            "probs": [float(v) for v in probs[j].tolist()],
        })
    with open(os.path.join(sample_dir, "samples.json"), "w") as f:
        json.dump({
            "dataset": "fashion-mnist test set (t10k)",
            "model": "generated/lenet5/lenet5.safetensors",
            "preprocess": f"x = (pixel/255 - {MEAN:.4f}) / {STD:.4f}, 1x28x28 grayscale",
            "classes": CLASSES,
            "samples": samples,
        }, f, indent=1)
        f.write("\n")

    print(f"wrote {os.path.relpath(st_path, args.out_root)} ({os.path.getsize(st_path)} bytes), "
          f"{os.path.relpath(td, args.out_root)}/torch_predictions.bin, torch_logits_first64.f32, "
          f"samples/ ({len(files)} PNGs + samples.json)  total {time.time() - t_start:.0f}s", flush=True)


if __name__ == "__main__":
    main()
