#!/usr/bin/python3
"""Export small PyTorch models that exercise the ONNX front end's ops and opset differences,
with a fixed input and torch's output, for gen/onnx's tests (Debian's python3-torch 1.13).

usage: /usr/bin/python3 export_ops.py OUTDIR
writes NAME.onnx, NAME.input.npy, NAME.output.npy for each model and opset, and prints NAME.
"""
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class ViewFlat(nn.Module):
    """Conv, BN not next to a conv (so the exporter keeps it), ceil-mode pooling,
    x.view(x.size(0), -1) (Shape, Gather, Unsqueeze, Concat, Reshape), log-softmax."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.fc = nn.Linear(8 * 4 * 4, 10)
        self.bn1d = nn.BatchNorm1d(10)

    def forward(self, x):
        x = self.bn(torch.relu(self.conv(x)))
        x = F.max_pool2d(x, 3, 2, ceil_mode=True)
        x = x.view(x.size(0), -1)
        return F.log_softmax(self.bn1d(self.fc(x)), dim=1)


class Mix(nn.Module):
    """Explicit padding folded into a conv, activations (relu6, clamp, hardswish,
    hardsigmoid, SiLU, tanh), squeeze-and-excitation, constant normalization, concat,
    average pooling without the padding, a matmul with a bias, softmax."""

    def __init__(self):
        super().__init__()
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))
        self.conv1 = nn.Conv2d(3, 8, 3)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1, groups=4, bias=False)
        self.conv3 = nn.Conv2d(8, 8, 1, dilation=1)
        self.se1 = nn.Conv2d(16, 4, 1)
        self.se2 = nn.Conv2d(4, 16, 1)
        self.w = nn.Parameter(torch.randn(16, 6) * 0.3)
        self.b = nn.Parameter(torch.randn(6) * 0.1)

    def forward(self, x):
        x = (x - self.mean) / self.std
        x = self.conv1(F.pad(x, (1, 2, 1, 0)))
        a = F.relu6(x) + torch.clamp(x, -0.5, 0.5) * 2
        b = F.hardswish(self.conv2(F.silu(a)))
        c = torch.tanh(self.conv3(F.hardsigmoid(b)))
        x = torch.cat([b, c], 1)
        s = torch.sigmoid(self.se2(F.silu(self.se1(F.adaptive_avg_pool2d(x, 1)))))
        x = x * s
        x = F.avg_pool2d(x, 3, 2, padding=1, ceil_mode=True, count_include_pad=False)
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return torch.softmax(x @ self.w + self.b, dim=1)


class ChannelSoftmax(nn.Module):
    """Softmax over channels of a feature map (axis 1 of 4), then global pooling."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 5, 3, stride=2, padding=1)

    def forward(self, x):
        return torch.flatten(F.adaptive_max_pool2d(torch.softmax(self.conv(x), dim=1), 1), 1)


class ConvNeXtBlock(nn.Module):
    """ConvNeXt's block and LayerNorm2d: permute to channels-last, LayerNorm, Linear, GELU
    (exact or tanh), Linear, permute back, layer scale, residual; LayerNorm is one operator
    from opset 17 and written out before."""

    def __init__(self, approximate="none"):
        super().__init__()
        self.dw = nn.Conv2d(8, 8, 3, padding=1, groups=8)
        self.norm = nn.LayerNorm(8, eps=1e-6)
        self.fc1 = nn.Linear(8, 32)
        self.fc2 = nn.Linear(32, 8)
        self.gelu = nn.GELU(approximate=approximate)
        self.scale = nn.Parameter(torch.rand(8, 1, 1) + 0.5)
        self.norm2d = nn.LayerNorm(8)
        with torch.no_grad():
            for n in (self.norm, self.norm2d):
                n.weight.copy_(torch.rand(8) + 0.5)
                n.bias.copy_(torch.randn(8) * 0.1)

    def forward(self, x):
        y = self.dw(x).permute(0, 2, 3, 1)
        y = self.fc2(self.gelu(self.fc1(self.norm(y)))).permute(0, 3, 1, 2)
        x = x + self.scale * y
        return self.norm2d(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class ShuffleAndPools(nn.Module):
    """ShuffleNet's chunk, concat and channel shuffle; reflection and replication padding;
    dilated max pooling; reductions over the channels and over H and W."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(8, 4, 1)

    def forward(self, x):
        a, b = x.chunk(2, dim=1)
        x = torch.cat([a, torch.relu(self.conv(x))], 1)
        n, c, h, w = x.shape
        x = x.view(n, 2, c // 2, h, w).transpose(1, 2).reshape(n, c, h, w)
        x = F.pad(x, (1, 2, 2, 1), mode="reflect") + F.pad(x, (2, 1, 1, 2), mode="replicate")
        x = F.max_pool2d(x, 3, stride=2, padding=1, dilation=2)
        x = torch.cat([x, x.mean(dim=1, keepdim=True), x.sum(dim=1, keepdim=True), x.norm(dim=1, keepdim=True)], 1)
        return x.amax(dim=(2, 3))


def randomize_bn(m):
    g = torch.Generator().manual_seed(1)
    for mod in m.modules():
        if isinstance(mod, (nn.BatchNorm2d, nn.BatchNorm1d)):
            mod.running_mean.copy_(torch.randn(mod.num_features, generator=g) * 0.1)
            mod.running_var.copy_(torch.rand(mod.num_features, generator=g) * 0.5 + 0.75)
            mod.weight.data.copy_(torch.rand(mod.num_features, generator=g) * 0.5 + 0.75)
            mod.bias.data.copy_(torch.randn(mod.num_features, generator=g) * 0.1)


CASES = [
    # name, model, input shape, opsets, dynamic batch
    ("viewflat", ViewFlat, (3, 8, 8), (9, 11, 13, 17), True),
    ("viewflat_static", ViewFlat, (3, 8, 8), (13,), False),
    ("mix", Mix, (3, 12, 12), (11, 13, 14, 17), True),
    ("chansoftmax", ChannelSoftmax, (3, 9, 9), (13,), True),
    ("convnext", ConvNeXtBlock, (8, 5, 5), (9, 13, 16, 17), True),
    ("convnext_tanh", lambda: ConvNeXtBlock("tanh"), (8, 5, 5), (13, 17), True),
    ("shuffle", ShuffleAndPools, (8, 9, 9), (10, 11, 13, 17), True),
    ("shuffle_static", ShuffleAndPools, (8, 9, 9), (10, 12), False),  # dilated pooling needs opset 10
]


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, ctor, shape, opsets, dynamic in CASES:
        torch.manual_seed(0)
        m = ctor().eval()
        randomize_bn(m)
        x = torch.randn(2, *shape, generator=torch.Generator().manual_seed(42))
        with torch.no_grad():
            y = m(x)
        for opset in opsets:
            full = "%s_op%d" % (name, opset)
            kw = {}
            if dynamic:
                kw["dynamic_axes"] = {"input": {0: "batch"}, "output": {0: "batch"}}
            else:
                x1, y1 = x[:1], m(x[:1]).detach()
            torch.onnx.export(m, x if dynamic else x1, os.path.join(out, full + ".onnx"), opset_version=opset,
                              input_names=["input"], output_names=["output"], **kw)
            np.save(os.path.join(out, full + ".input.npy"), (x if dynamic else x1).numpy())
            np.save(os.path.join(out, full + ".output.npy"), (y if dynamic else y1).numpy())
            print(full, flush=True)


if __name__ == "__main__":
    main()
