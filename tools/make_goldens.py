#!/usr/bin/python3
"""Make the golden logits of cnngen's built-in networks with PyTorch.

usage: /usr/bin/python3 tools/make_goldens.py [--out DIR] [--debug DIR] [name ...]

For each network: build it with torch (tools/models.py), eval(), overwrite
every float tensor of its state_dict with the seeded rule (tools/seedweights.py,
twin of internal/seedweights), convert to float64, run the seeded input batch
and write

    DIR/<name>.f32   raw little-endian float32 logits, batch x classes
    DIR/meta.json    per-network metadata (merged with the existing file)

DIR defaults to internal/goldens/data. With --debug DIR2 each network's seeded
state_dict is also written to DIR2/<name>.safetensors (hand-written format; for
debugging only, never committed). Output is deterministic.
"""
import argparse
import json
import os
import struct
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import seedweights  # noqa: E402
import models  # noqa: E402
import torchvision  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(REPO, "internal", "goldens", "data")


def seed_state_dict(model):
    """Overwrite every float tensor of model's state_dict with the seeded rule.
    Returns {key: numpy array} of the generated float32 values (plus the I64
    num_batches_tracked buffers, untouched)."""
    arrays = {}
    with torch.no_grad():
        for key, t in model.state_dict().items():
            if t.dtype == torch.int64:
                assert key.endswith(".num_batches_tracked"), key
                arrays[key] = t.numpy().copy()
                continue
            assert t.dtype == torch.float32, (key, t.dtype)
            v = seedweights.values(key, tuple(t.shape))
            t.copy_(torch.from_numpy(v))
            arrays[key] = v
    return arrays


def write_safetensors(path, arrays):
    """Minimal safetensors writer: u64 LE header length, JSON header, raw data."""
    header = {}
    blobs = []
    off = 0
    for key in sorted(arrays):
        shape = list(np.shape(arrays[key]))  # before ascontiguousarray, which makes 0-dim 1-dim
        a = np.ascontiguousarray(arrays[key])
        if a.dtype == np.float32:
            dt = "F32"
            b = a.astype("<f4").tobytes()
        elif a.dtype == np.int64:
            dt = "I64"
            b = a.astype("<i8").tobytes()
        else:
            raise ValueError("unsupported dtype %s for %s" % (a.dtype, key))
        header[key] = {"dtype": dt, "shape": shape, "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":"), sort_keys=True).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)  # pad so that the data starts 8-aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def top5(row):
    """Indices of the 5 largest values, descending; ties broken by lower index."""
    order = sorted(range(len(row)), key=lambda i: (-float(row[i]), i))
    return order[:5]


def logits_of(y):
    if not torch.is_tensor(y):  # GoogLeNetOutputs (training mode only)
        y = y[0]
    return y.numpy()


def make(name, out_dir, debug_dir):
    t0 = time.time()
    torch.manual_seed(0)  # only affects the (overwritten) default init
    model, shape, batch = models.build(name)
    model.eval()
    params, train_params = models.param_counts(model)
    want = models.KNOWN_PARAMS[name]
    assert (params, train_params) == want, "%s: params %d/%d, want %d/%d" % (
        name, params, train_params, want[0], want[1])
    arrays = seed_state_dict(model)
    if debug_dir:
        write_safetensors(os.path.join(debug_dir, name + ".safetensors"), arrays)
    x = seedweights.input_batch(batch, shape)

    # float32 run first (diagnostic only: how far a float32 implementation is
    # expected to be from the float64 golden), then the float64 golden.
    with torch.no_grad():
        y_f32 = logits_of(model(torch.from_numpy(x))).astype(np.float64)
    model.double()
    with torch.no_grad():
        y = logits_of(model(torch.from_numpy(x).double()))
    assert y.dtype == np.float64 and y.shape[0] == batch, (y.dtype, y.shape)
    assert np.all(np.isfinite(y)), name
    classes = y.shape[1]

    y32 = y.astype("<f4")

    # recorded as the float32 value so that it equals max|logit| of the .f32 file
    max_abs = float(np.max(np.abs(y32)))
    t5 = [top5(row) for row in y]
    t5_32 = [top5(row) for row in y32]
    assert t5 == t5_32, "%s: float32 rounding changes the top-5" % name
    # separation of the top-5: smallest gap between neighbours, relative to max|logit|
    gap = min(float(row[a] - row[b]) for row, t in zip(y, t5) for a, b in zip(t, t[1:])) / max_abs
    meta = {
        "batch": batch,
        "input": list(shape),
        "classes": classes,
        "params": params,
        "train_params": train_params,
        "max_abs_logit": max_abs,
        "top5": t5,
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
    }
    f32err = float(np.max(np.abs(y_f32 - y))) / max_abs
    # input sensitivity: how much the two images' logits differ (relative)
    sens = float(np.max(np.abs(y[0] - y[1]))) / max_abs if batch > 1 else float("nan")
    print("%-16s params %11d (train %11d)  batch %d  max|logit| %10.4g  min top5 gap %.3g*max  "
          "torch-f32 err %.2g*max  img0-img1 %.3g*max  top5 %s  %.1fs"
          % (name, params, train_params, batch, max_abs, gap, f32err, sens, t5, time.time() - t0), flush=True)
    assert 1 <= max_abs <= 1e4, "%s: max|logit| %g out of range" % (name, max_abs)
    assert gap > 1e-3, "%s: top-5 not separated (gap %g*max)" % (name, gap)
    assert f32err < 1e-5, "%s: float32 torch differs from float64 by %g*max" % (name, f32err)
    with open(os.path.join(out_dir, name + ".f32"), "wb") as f:
        f.write(y32.tobytes())
    return meta


def write_meta(path, meta):
    """meta.json with one line per network (diff-friendly, deterministic)."""
    lines = ['  "%s": %s' % (k, json.dumps(meta[k], sort_keys=True)) for k in sorted(meta)]
    with open(path, "w") as f:
        f.write("{\n" + ",\n".join(lines) + "\n}\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=DEFAULT_OUT, help="output directory (default internal/goldens/data)")
    ap.add_argument("--debug", default="", help="also write <name>.safetensors of the seeded weights here")
    ap.add_argument("names", nargs="*", help="networks (default: all)")
    args = ap.parse_args()
    names = args.names or list(models.MODELS)
    for n in names:
        if n not in models.MODELS:
            ap.error("unknown network %r (have %s)" % (n, ", ".join(models.MODELS)))
    os.makedirs(args.out, exist_ok=True)
    if args.debug:
        os.makedirs(args.debug, exist_ok=True)
    torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))

    meta_path = os.path.join(args.out, "meta.json")
    meta = {}
    if os.path.exists(meta_path):
        with open(meta_path) as f:
            meta = json.load(f)
    t0 = time.time()
    for n in names:
        meta[n] = make(n, args.out, args.debug)
        write_meta(meta_path, meta)
    print("done: %d networks in %.1fs -> %s" % (len(names), time.time() - t0, args.out), flush=True)


if __name__ == "__main__":
    main()
