#!/usr/bin/python3
"""Export this repository's trained LeNet-5 (generated/lenet5/lenet5.safetensors, the
Fashion-MNIST weights tools/train_lenet5.py wrote) to ONNX: tools/models.py's LeNet5 with the
weights loaded through tools/st.py, opset 13, dynamic batch, input "input" [N 1 28 28] (images
normalized as generated/lenet5's DefaultPreprocess does), output "logits" [N 10].

usage: /usr/bin/python3 gen/onnx/testdata/export_trained_lenet5.py OUT.onnx [WEIGHTS.safetensors]

internal/onnxtest's TestTrainedLeNet5 runs it and checks that the imported model predicts what
generated/lenet5 predicts. Needs Debian's python3-torch, python3-torchvision and python3-onnx.
"""
import os
import sys

import torch

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import models  # noqa: E402
import st  # noqa: E402


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    out = sys.argv[1]
    weights = sys.argv[2] if len(sys.argv) == 3 else os.path.join(ROOT, "generated", "lenet5", "lenet5.safetensors")
    m = models.LeNet5().eval()
    state = {k: v.to(torch.float32) for k, v in st.load(weights).items()}
    m.load_state_dict(state, strict=True)  # every key, no extra: the same network as generated/lenet5
    x = torch.zeros(1, 1, 28, 28)
    torch.onnx.export(m, x, out, opset_version=13, input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    print(out, sum(p.numel() for p in m.parameters()), "parameters")


if __name__ == "__main__":
    main()
