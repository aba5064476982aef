#!/usr/bin/python3
"""Export torchvision classifiers to ONNX at several opsets, with a seeded input batch and
PyTorch's logits, for gen/onnx's model tests (internal/onnxtest, TestModels).

usage: /usr/bin/python3 tools/export_torchvision.py OUTDIR [--opsets 9-17] [--batch MODE] NAME[@OPSETS] ...

For each NAME (a torchvision.models builder, or lenet5), at --opsets or the NAME@OPSETS given
(an opset, a range 9-17, or a list 13,17), it writes

    OUTDIR/NAME/input.npy         the input batch, float32 [2, C, H, W]
    OUTDIR/NAME/output.npy        the model's logits, computed in float64, rounded to float32
    OUTDIR/NAME/opK/model.onnx    the export at opset K (with external data beside it when the
                                  model is over 2 GB, as torch.onnx writes it)
    OUTDIR/NAME/opK/skip.txt      instead, when torch.onnx refuses opset K: its message

Files already there are kept (the output is deterministic), so a cache folder can be filled
model by model and opset by opset; every file is written under a temporary name and renamed.

--batch: "dynamic" (dimension 0 named "batch"), "static" (2), or "alternate" (the default:
dynamic at odd opsets, static at even ones, so both forms are covered).

Weights: torchvision's own random init under torch.manual_seed(0), then the tensors that init
leaves trivial are randomized (seed 1), so that the import has to get them right: batch norm
statistics and affine parameters, layer norm affine parameters and ConvNeXt's layer scale
(1e-6 at init, which would hide its blocks). No download: there is no network for weights.
"""
import argparse
import copy
import os
import shutil
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torchvision.models as tvm

BATCH = 2


class LeNet5(nn.Module):
    """LeNet-5 as shared/anchors/export_models.py defines it (the seed's architecture)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = torch.max_pool2d(torch.relu(self.conv1(x)), 2)
        x = torch.max_pool2d(torch.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        x = torch.relu(self.fc1(x))
        x = torch.relu(self.fc2(x))
        return self.fc3(x)


def build(name):
    """The eval-mode model and its per-image input shape."""
    if name == "lenet5":
        return LeNet5(), (1, 28, 28)
    kwargs = {}
    if name in ("googlenet", "inception_v3"):
        kwargs = {"aux_logits": False, "init_weights": True}
    m = getattr(tvm, name)(**kwargs)
    size = 299 if name == "inception_v3" else 224
    return m, (3, size, size)


def randomize(m):
    """Non-trivial values for what init leaves at constants (see the module doc)."""
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, nn.modules.batchnorm._BatchNorm):
                n = mod.num_features
                mod.running_mean.copy_(torch.randn(n, generator=g) * 0.1)
                mod.running_var.copy_(torch.rand(n, generator=g) * 0.5 + 0.75)
                mod.weight.copy_(torch.rand(n, generator=g) * 0.5 + 0.75)
                mod.bias.copy_(torch.randn(n, generator=g) * 0.1)
            elif isinstance(mod, nn.LayerNorm) and mod.elementwise_affine:
                mod.weight.copy_(torch.rand(mod.weight.shape, generator=g) * 0.5 + 0.75)
                mod.bias.copy_(torch.randn(mod.bias.shape, generator=g) * 0.1)
            if hasattr(mod, "layer_scale") and isinstance(mod.layer_scale, nn.Parameter):
                mod.layer_scale.copy_(torch.rand(mod.layer_scale.shape, generator=g) * 0.5 + 0.25)


def opsets(spec):
    out = []
    for part in spec.split(","):
        lo, _, hi = part.partition("-")
        out += range(int(lo), int(hi or lo) + 1)
    return out


def save_npy(path, a):
    tmp = path + ".tmp.npy"
    np.save(tmp, a)
    os.replace(tmp, path)


def export_one(name, out, ops, batch_mode):
    t0 = time.time()
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    torch.manual_seed(0)
    m, shape = build(name)
    m.eval()
    randomize(m)
    x = torch.randn(BATCH, *shape, generator=torch.Generator().manual_seed(42))
    note = ""
    if not os.path.exists(os.path.join(d, "output.npy")):
        with torch.no_grad():
            y64 = copy.deepcopy(m).double()(x.double())
            y32 = m(x)
        save_npy(os.path.join(d, "input.npy"), x.numpy())
        save_npy(os.path.join(d, "output.npy"), y64.numpy().astype(np.float32))
        f32err = float((y32.double() - y64).abs().max() / max(1.0, float(y64.abs().max())))
        note = "max|logit| %.4g  torch f32 vs f64 %.2g*max  " % (float(y64.abs().max()), f32err)
    done = []
    for k in ops:
        od = os.path.join(d, "op%d" % k)
        if os.path.exists(os.path.join(od, "model.onnx")) or os.path.exists(os.path.join(od, "skip.txt")):
            continue
        tmp = od + ".tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        os.makedirs(tmp)
        dynamic = batch_mode == "dynamic" or batch_mode == "alternate" and k % 2 == 1
        axes = {"input": {0: "batch"}, "logits": {0: "batch"}} if dynamic else None
        try:
            torch.onnx.export(m, x, os.path.join(tmp, "model.onnx"), opset_version=k,
                              input_names=["input"], output_names=["logits"], dynamic_axes=axes)
            done.append("%d%s" % (k, "d" if dynamic else "s"))
        except Exception as e:  # the exporter refuses this opset for this model
            shutil.rmtree(tmp)
            os.makedirs(tmp)
            with open(os.path.join(tmp, "skip.txt"), "w") as f:
                f.write("%s: %s\n" % (type(e).__name__, str(e).splitlines()[0] if str(e) else ""))
            done.append("%d:skip" % k)
        os.replace(tmp, od)
    print("%-20s %sopsets %s  %.1fs" % (name, note, " ".join(done) or "cached", time.time() - t0), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--opsets", default="9-17", help="an opset or a range, e.g. 13 or 9-17")
    ap.add_argument("--batch", default="alternate", choices=["dynamic", "static", "alternate"])
    ap.add_argument("names", nargs="+")
    args = ap.parse_args()
    torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))
    import warnings
    warnings.filterwarnings("ignore")
    for spec in args.names:
        name, _, ops = spec.partition("@")
        if name != "lenet5" and not hasattr(tvm, name):
            sys.exit("unknown model %r" % name)
        export_one(name, args.out, opsets(ops or args.opsets), args.batch)


if __name__ == "__main__":
    main()
