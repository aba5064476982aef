#!/usr/bin/python3
"""PyTorch checkpoints for the tests of cnngen's .pth reader (runtime/pth*.go).

    /usr/bin/python3 tools/make_pth_testdata.py                 # -> runtime/testdata/pth (committed)
    /usr/bin/python3 tools/make_pth_testdata.py --resnet18 DIR  # -> DIR (cmd/cnngen's test, at test time)

The committed files (Debian's torch 1.13; remake them only if the format or the cases change):

  lenet5_{f32,f16,bf16}.pth         the trained LeNet-5 of generated/lenet5/lenet5.safetensors as a
                                    state_dict of that dtype, in the zip format torch.save writes
  lenet5_{f32,f16,bf16}_legacy.pth  the same in the legacy format (_use_new_zipfile_serialization=False)
  tiny.pth, tiny_legacy.pth         a few odd tensors: float64, a 0-d scalar, an empty tensor, two
                                    tensors sharing one storage at different offsets, a transpose and
                                    a channels_last tensor (strides that are not row-major),
                                    BatchNorm's num_batches_tracked (int64), float16/bfloat16 edge values
  tiny.safetensors                  every float tensor of tiny.pth as torch's .float() of it (F32),
                                    so the tests check Go's widening bit for bit against torch's
  checkpoint.pth, checkpoint_legacy.pth
                                    a training checkpoint as torchvision's reference scripts save one
                                    (the model's state_dict under "model" beside "model_ema", the
                                    optimizer's and scheduler's state, the epoch and a float), without
                                    their argparse "args"; checkpoint.safetensors holds its "model"
  lightning.pth                     PyTorch Lightning's layout: the state_dict under "state_dict", its
                                    names behind the LightningModule's attribute ("model."), beside
                                    the epoch, the step and a version string

--resnet18 DIR writes a seeded torchvision ResNet-18 (random BatchNorm statistics too) as
resnet18.pth, resnet18_legacy.pth, resnet18_channels_last.pth (the model in channels_last
memory format) and resnet18_f16.pth, and the same weights as safetensors
(resnet18.safetensors; resnet18_f16.safetensors holds the float16 weights widened by torch), for
cmd/cnngen's TestPthResNet18, which compares the logits of both ways in bit for bit.
"""
import argparse
import copy
import os
import sys
from collections import OrderedDict

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DTYPES = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}


def save_both(sd, out, stem):
    """Write sd as OUT/STEM.pth (zip) and OUT/STEM_legacy.pth."""
    torch.save(sd, os.path.join(out, stem + ".pth"))
    torch.save(sd, os.path.join(out, stem + "_legacy.pth"), _use_new_zipfile_serialization=False)


def lenet5(out):
    import models  # noqa: E402 (tools/models.py: torch definitions of the built-in networks)

    model, _, _ = models.build("lenet5")
    model.load_state_dict(st.load(os.path.join(ROOT, "generated", "lenet5", "lenet5.safetensors")))
    for name, dt in DTYPES.items():  # each from float32: Module.to converts in place
        save_both(copy.deepcopy(model).to(dt).state_dict(), out, "lenet5_" + name)


def tiny(out):
    g = torch.Generator().manual_seed(1)
    bn = torch.nn.BatchNorm2d(3)
    bn.running_mean.normal_(generator=g)
    bn.num_batches_tracked += 7
    base = torch.randn(10, generator=g)
    sd = OrderedDict()
    for k, v in bn.state_dict().items():
        sd["bn." + k] = v
    sd["f64"] = torch.randn(2, 3, generator=g, dtype=torch.float64)
    sd["scalar"] = torch.tensor(2.5)
    sd["empty"] = torch.zeros(0, 4)
    sd["shared.a"] = base[2:8].view(2, 3)  # one storage, two offsets
    sd["shared.b"] = base[5:]
    sd["transposed"] = torch.randn(3, 4, generator=g).t()  # strides (1, 4)
    sd["channels_last"] = torch.randn(2, 3, 2, 2, generator=g).to(memory_format=torch.channels_last)
    # Half-precision edge values: zeros, subnormals, the extremes, infinities (no NaN: bit
    # patterns of NaN are not compared by torch.equal) and rounding cases.
    edge = torch.tensor([0.0, -0.0, 1.0, -2.5, 6e-8, -6e-8, 1e-5, 65504.0, -65504.0,
                         float("inf"), float("-inf"), 1.0 / 3, 3.14159], dtype=torch.float32)
    sd["half"] = edge.half()
    sd["bfloat"] = torch.cat([edge, torch.tensor([1e38, -1e-39])]).bfloat16()
    save_both(sd, out, "tiny")
    st.save(os.path.join(out, "tiny.safetensors"),
            {k: v.float().contiguous() for k, v in sd.items() if v.is_floating_point()})


def checkpoints(out):
    g = torch.Generator().manual_seed(2)
    model = torch.nn.Sequential(OrderedDict(conv=torch.nn.Conv2d(2, 3, 3), bn=torch.nn.BatchNorm2d(3),
                                            fc=torch.nn.Linear(3, 2)))
    for p in model.parameters():
        p.data.normal_(generator=g)
    model.bn.running_mean.normal_(generator=g)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=30, gamma=0.1)
    x = torch.randn(4, 2, 5, 5, generator=g)
    model.fc(model.bn(model.conv(x)).mean(dim=(2, 3))).sum().backward()
    opt.step()
    sched.step()
    ema = copy.deepcopy(model)
    for p in ema.parameters():
        p.data.mul_(0.5)
    ck = {"model": model.state_dict(), "model_ema": ema.state_dict(), "optimizer": opt.state_dict(),
          "lr_scheduler": sched.state_dict(), "epoch": 3, "best_acc1": 0.75}
    save_both(ck, out, "checkpoint")
    st.save(os.path.join(out, "checkpoint.safetensors"),
            {k: v.float() for k, v in model.state_dict().items() if v.is_floating_point()})
    lightning = {"epoch": 3, "global_step": 120, "pytorch-lightning_version": "1.9.0",
                 "state_dict": OrderedDict(("model." + k, v) for k, v in model.state_dict().items())}
    torch.save(lightning, os.path.join(out, "lightning.pth"))


def resnet18(out):
    import torchvision

    torch.manual_seed(0)
    model = torchvision.models.resnet18(weights=None)
    g = torch.Generator().manual_seed(1)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):  # statistics and affine away from 0/1
            m.running_mean.normal_(0, 0.1, generator=g)
            m.running_var.uniform_(0.5, 2, generator=g)
            m.weight.data.uniform_(0.5, 1.5, generator=g)
            m.bias.data.normal_(0, 0.1, generator=g)
    sd = model.state_dict()
    save_both(sd, out, "resnet18")
    st.save(os.path.join(out, "resnet18.safetensors"), dict(sd))
    # As saved by a model trained channels_last: 4-d weights with strides that are not row-major.
    torch.save(copy.deepcopy(model).to(memory_format=torch.channels_last).state_dict(),
               os.path.join(out, "resnet18_channels_last.pth"))
    half = model.half().state_dict()
    torch.save(half, os.path.join(out, "resnet18_f16.pth"))
    st.save(os.path.join(out, "resnet18_f16.safetensors"),
            {k: v.float() if v.is_floating_point() else v for k, v in half.items()})


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--resnet18", metavar="DIR", help="write the ResNet-18 checkpoints to DIR instead")
    ap.add_argument("--out", default=os.path.join(ROOT, "runtime", "testdata", "pth"),
                    help="where the committed test files go (default runtime/testdata/pth)")
    args = ap.parse_args()
    if args.resnet18:
        os.makedirs(args.resnet18, exist_ok=True)
        resnet18(args.resnet18)
        return
    os.makedirs(args.out, exist_ok=True)
    lenet5(args.out)
    tiny(args.out)
    checkpoints(args.out)


if __name__ == "__main__":
    main()
