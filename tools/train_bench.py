#!/usr/bin/python3
"""Time PyTorch's training steps for the training targets of docs/training.md.

Needs Debian's torch 1.13 and torchvision (python3-torch, python3-torchvision); run with
/usr/bin/python3, in the same session as the Go side (`cnngen train ... -bench-steps N`), so
both see the same machine load:

    /usr/bin/python3 tools/train_bench.py resnet18 --threads 1 --batch 8 --steps 10
    /usr/bin/python3 tools/train_bench.py lenet5 --threads 1 --batch 64 --steps 300

A step is what cnngen's Trainer.Step does: forward in training mode, cross-entropy, backward,
gradient clipping by global norm (1.0), an SGD step with Nesterov momentum and weight decay.
Inputs and labels are random (seeded); one warm-up step is not timed. Prints the median and
fastest step in ms and the images per second.
"""
import argparse
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def model_of(name):
    if name == "lenet5":
        from train_lenet5 import LeNet5
        return LeNet5(), (1, 28, 28), 10
    import torchvision
    return getattr(torchvision.models, name)(), (3, 224, 224), 1000


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("arch", help="lenet5, or a torchvision model name (resnet18)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--seed", type=int, default=1998)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    model, shape, classes = model_of(args.arch)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True, weight_decay=5e-4)
    x = torch.randn(args.batch, *shape)
    y = torch.randint(0, classes, (args.batch,))

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()

    step()
    times = []
    for _ in range(args.steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    times.sort()
    med = times[len(times) // 2]
    print(f"torch {torch.__version__} {args.arch}: batch {args.batch}, {args.threads} thread(s): training step "
          f"median {med * 1e3:.1f} ms (fastest {times[0] * 1e3:.1f} ms) over {args.steps} steps, "
          f"{args.batch / med:.1f} images/s", flush=True)


if __name__ == "__main__":
    main()
