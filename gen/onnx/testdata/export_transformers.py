#!/usr/bin/python3
"""Export tiny vision transformers built from torchvision's own classes (ViT, Swin, MaxViT),
which gen/onnx does not support, for TestTorchTransformersRefused: importing them must fail
with errors naming the nodes, never panic or mislead.

usage: /usr/bin/python3 export_transformers.py OUTDIR
writes NAME_opK.onnx for each model at opsets 13 and 17, and prints NAME_opK.
Models a torchvision lacks (MaxViT came with 0.15; Debian's 0.14.1a0 has it) are left out.
"""
import os
import sys
import warnings

import torch

warnings.filterwarnings("ignore")


def models():
    from torchvision.models.vision_transformer import VisionTransformer
    from torchvision.models.swin_transformer import SwinTransformer
    yield "vit", lambda: VisionTransformer(image_size=32, patch_size=16, num_layers=1, num_heads=2,
                                           hidden_dim=8, mlp_dim=16, num_classes=10), 32
    yield "swin", lambda: SwinTransformer(patch_size=[4, 4], embed_dim=8, depths=[1, 1], num_heads=[1, 1],
                                          window_size=[2, 2], num_classes=10), 32
    try:
        from torchvision.models.maxvit import MaxVit
    except ImportError:
        return
    yield "maxvit", lambda: MaxVit(input_size=(32, 32), stem_channels=8, partition_size=2, block_channels=[8],
                                   block_layers=[1], head_dim=4, stochastic_depth_prob=0.0, num_classes=10), 32


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, ctor, size in models():
        torch.manual_seed(0)
        m = ctor().eval()
        x = torch.randn(2, 3, size, size)
        for opset in (13, 17):
            full = "%s_op%d" % (name, opset)
            torch.onnx.export(m, x, os.path.join(out, full + ".onnx"), opset_version=opset,
                              input_names=["input"], output_names=["logits"],
                              dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
            print(full, flush=True)


if __name__ == "__main__":
    main()
