#!/usr/bin/python3
"""Make the training goldens runtime/train and internal/dataset are tested against.

usage: /usr/bin/python3 tools/make_train_goldens.py

Needs Debian's torch 1.13 (python3-torch), torchvision 0.14, numpy and Pillow. Writes

    runtime/train/testdata/torch_train.json   optimizers, schedules, clipping, init, loss, BN
    runtime/train/testdata/bn_state.safetensors  a BatchNorm2d's state_dict (num_batches_tracked
                                               as I64) written by tools/st.py, for a byte check
    internal/dataset/testdata/augment.json    RandomResizedCrop's parameters and pixels
    internal/dataset/testdata/augment.png     the image those pixels come from

Every float that torch computes in float32 is written as the float64 holding that float32
exactly, so the Go side compares bits. Everything is seeded, so a re-run writes the same files
(on the same CPU capability: torch's AVX2 kernels compute add(alpha=) and addcmul as fused
multiply-adds, which the Go side reproduces; `torch.__config__.show()` says which one runs).
"""
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRAIN_DIR = os.path.join(REPO, "runtime", "train", "testdata")
DATA_DIR = os.path.join(REPO, "internal", "dataset", "testdata")
STEPS = 6


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def fixed(shape, seed, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(*shape, generator=g) * scale).to(torch.float32)


def grads_for(step):
    """Gradients of step: magnitudes from 1e-3 to 3 so rounding is exercised."""
    return fixed((3, 4), 100 + step, 10 ** (step % 4 - 2) * 3), fixed((5,), 200 + step, 0.5)


def run_optimizer(name, make, sched=None):
    w = torch.nn.Parameter(fixed((3, 4), 1))
    b = torch.nn.Parameter(fixed((5,), 2))
    opt = make([{"params": [w]}, {"params": [b], "weight_decay": 0.0}])
    s = sched(opt) if sched else None
    steps = []
    for k in range(STEPS):
        gw, gb = grads_for(k)
        w.grad, b.grad = gw.clone(), gb.clone()
        lr = opt.param_groups[0]["lr"]
        mom = opt.param_groups[0].get("momentum", opt.param_groups[0].get("betas", (None,))[0])
        opt.step()
        if s:
            s.step()
        steps.append({"lr": lr, "momentum": mom, "w": flat(w), "b": flat(b)})
    return {"name": name, "w0": flat(fixed((3, 4), 1)), "b0": flat(fixed((5,), 2)),
            "grads": [{"w": flat(grads_for(k)[0]), "b": flat(grads_for(k)[1])} for k in range(STEPS)],
            "steps": steps}


def optimizers():
    O = torch.optim
    onecycle = lambda o: O.lr_scheduler.OneCycleLR(o, max_lr=0.1, total_steps=STEPS)  # noqa: E731
    cases = [
        ("sgd", lambda p: O.SGD(p, lr=0.1)),
        ("sgd_momentum", lambda p: O.SGD(p, lr=0.1, momentum=0.9, dampening=0.1, weight_decay=1e-2)),
        ("sgd_nesterov", lambda p: O.SGD(p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4)),
        ("adam", lambda p: O.Adam(p, lr=1e-3)),
        ("adam_wd_amsgrad", lambda p: O.Adam(p, lr=1e-2, betas=(0.8, 0.99), eps=1e-6, weight_decay=1e-2, amsgrad=True)),
        ("adamw", lambda p: O.AdamW(p, lr=1e-3)),
        ("adamw_amsgrad", lambda p: O.AdamW(p, lr=3e-3, betas=(0.85, 0.995), weight_decay=0.1, amsgrad=True)),
    ]
    out = [run_optimizer(n, m) for n, m in cases]
    out.append(run_optimizer("sgd_nesterov_onecycle",
                             lambda p: O.SGD(p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4), onecycle))
    out.append(run_optimizer("sgd_nomomentum_onecycle", lambda p: O.SGD(p, lr=0.05), onecycle))
    out.append(run_optimizer("adam_onecycle", lambda p: O.Adam(p, lr=1e-3, weight_decay=1e-3), onecycle))
    return out


def schedule(name, make, steps, opt="sgd"):
    p = [torch.nn.Parameter(torch.zeros(1))]
    o = torch.optim.SGD(p, lr=0.1, momentum=0.9) if opt == "sgd" else torch.optim.Adam(p, lr=0.1)
    s = make(o)
    lrs, moms = [], []
    for _ in range(steps + 1):
        g = o.param_groups[0]
        lrs.append(s.get_last_lr()[0])
        moms.append(g["momentum"] if opt == "sgd" else g["betas"][0])
        o.step()
        if len(lrs) <= steps:
            s.step()
    return {"name": name, "optimizer": opt, "lr": lrs, "momentum": moms}


def schedules():
    S = torch.optim.lr_scheduler
    return [
        schedule("step", lambda o: S.StepLR(o, step_size=3, gamma=0.1), 20),
        schedule("step_gamma07", lambda o: S.StepLR(o, step_size=1, gamma=0.7), 40),
        schedule("cosine", lambda o: S.CosineAnnealingLR(o, T_max=10, eta_min=0.001), 35),
        schedule("cosine_long", lambda o: S.CosineAnnealingLR(o, T_max=200), 200),
        schedule("onecycle_default", lambda o: S.OneCycleLR(o, max_lr=0.1, total_steps=100), 100),
        schedule("onecycle_adam", lambda o: S.OneCycleLR(o, max_lr=0.01, total_steps=50), 50, "adam"),
        schedule("onecycle_three_linear", lambda o: S.OneCycleLR(
            o, max_lr=0.2, epochs=3, steps_per_epoch=17, three_phase=True, anneal_strategy="linear",
            base_momentum=0.8, max_momentum=0.9), 51),
        # tools/train_lenet5.py's schedule, over 1000 steps instead of 11,256.
        schedule("onecycle_lenet5", lambda o: S.OneCycleLR(
            o, max_lr=0.05, total_steps=1000, pct_start=0.15, anneal_strategy="cos", div_factor=10.0,
            final_div_factor=100.0, cycle_momentum=False), 1000),
    ]


def clipping():
    gs = [fixed((3, 4), 7, 0.8), fixed((5,), 8, 0.05), fixed((2, 2, 3), 9, 2.0)]
    out = []
    for name, max_norm, norm_type in [("l2_clips", 1.0, 2.0), ("l2_no_clip", 1e3, 2.0),
                                      ("inf_clips", 0.5, math.inf), ("l2_tiny", 1e-4, 2.0)]:
        ps = [torch.nn.Parameter(torch.zeros_like(g)) for g in gs]
        for p, g in zip(ps, gs):
            p.grad = g.clone()
        total = torch.nn.utils.clip_grad_norm_(ps, max_norm, norm_type)
        out.append({"name": name, "max_norm": max_norm, "norm_type": "inf" if norm_type == math.inf else norm_type,
                    "total": float(total), "grads": [flat(p.grad) for p in ps]})
    ps = [torch.nn.Parameter(torch.zeros_like(g)) for g in gs]
    for p, g in zip(ps, gs):
        p.grad = g.clone()
    torch.nn.utils.clip_grad_value_(ps, 0.3)
    return {"grads": [flat(g) for g in gs], "shapes": [list(g.shape) for g in gs], "norm": out,
            "value": {"clip": 0.3, "grads": [flat(p.grad) for p in ps]}}


def init_cases():
    I = torch.nn.init
    out = []
    cases = [
        ("kaiming_uniform", [256, 128, 3, 3], dict(a=0, mode="fan_in", nonlinearity="relu")),
        ("kaiming_uniform", [512, 256], dict(a=0.2, mode="fan_out", nonlinearity="leaky_relu")),
        ("kaiming_normal", [128, 64, 5, 5], dict(a=0, mode="fan_out", nonlinearity="relu")),
        ("kaiming_normal", [1000, 512], dict(a=0, mode="fan_in", nonlinearity="leaky_relu")),
        ("xavier_uniform", [300, 200], dict(gain=1.0)),
        ("xavier_normal", [64, 32, 3, 3], dict(gain=I.calculate_gain("tanh"))),
        ("default_conv", [64, 32, 3, 3], {}),
        ("default_linear", [1000, 512], {}),
    ]
    torch.manual_seed(5)
    for kind, shape, kw in cases:
        t = torch.empty(*shape)
        bias = None
        fan_in, fan_out = I._calculate_fan_in_and_fan_out(t)
        if kind.startswith("kaiming"):
            fan = I._calculate_correct_fan(t, kw["mode"])
            gain = I.calculate_gain(kw["nonlinearity"], kw["a"])
            std = gain / math.sqrt(fan)
            bound = math.sqrt(3.0) * std
            getattr(I, kind + "_")(t, **kw)
        elif kind.startswith("xavier"):
            std = kw["gain"] * math.sqrt(2.0 / float(fan_in + fan_out))
            bound = math.sqrt(3.0) * std
            getattr(I, kind + "_")(t, **kw)
        else:
            # torch.nn.Conv2d / Linear reset_parameters.
            gain = I.calculate_gain("leaky_relu", math.sqrt(5))
            std = gain / math.sqrt(fan_in)
            bound = math.sqrt(3.0) * std
            I.kaiming_uniform_(t, a=math.sqrt(5))
            bias = torch.empty(shape[0])
            bb = 1 / math.sqrt(fan_in)
            I.uniform_(bias, -bb, bb)
        x = t.double()
        out.append({"kind": kind, "shape": shape, "args": {k: v for k, v in kw.items()},
                    "fan_in": fan_in, "fan_out": fan_out, "std": std, "bound": bound,
                    "sample_mean": float(x.mean()), "sample_std": float(x.std()),
                    "sample_maxabs": float(x.abs().max()),
                    "bias_maxabs": None if bias is None else float(bias.abs().max())})
    gains = []
    for nl, a in [("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None), ("relu", None),
                  ("leaky_relu", None), ("leaky_relu", 0.2), ("leaky_relu", math.sqrt(5)), ("selu", None)]:
        gains.append({"nonlinearity": nl, "param": a, "gain": I.calculate_gain(nl, a)})
    return {"cases": out, "gains": gains}


def loss_cases():
    out = []
    logits = fixed((6, 10), 11, 3.0)
    logits[2, 4] = 40.0  # a confident logit: log-softmax must not lose it
    labels = torch.tensor([3, 0, 4, 9, 4, 7])
    for smoothing in (0.0, 0.1):
        x = logits.clone().requires_grad_(True)
        loss = F.cross_entropy(x, labels, label_smoothing=smoothing)
        loss.backward()
        out.append({"smoothing": smoothing, "logits": flat(logits), "labels": labels.tolist(),
                    "classes": 10, "loss": float(loss), "grad": flat(x.grad)})
    return out


def batchnorm():
    torch.manual_seed(3)
    bn = torch.nn.BatchNorm2d(3)
    xs = [fixed((8, 3, 5, 5), 30 + k, 2.0) + 1.0 for k in range(2)]
    steps = []
    for x in xs:
        bn(x)
        steps.append({"running_mean": flat(bn.running_mean), "running_var": flat(bn.running_var),
                      "num_batches_tracked": int(bn.num_batches_tracked)})
    sd = {"bn." + k: v for k, v in bn.state_dict().items()}
    st.save(os.path.join(TRAIN_DIR, "bn_state.safetensors"), sd, {"note": "train goldens"})
    return {"inputs": [flat(x) for x in xs], "shape": [8, 3, 5, 5], "momentum": 0.1, "steps": steps}


def augment():
    """RandomResizedCrop: the fallback box, the box statistics, and resized_crop's pixels."""
    from PIL import Image
    import torchvision.transforms as T
    import torchvision.transforms.functional as TF

    out = {"fallback": [], "stats": [], "crops": []}
    scale, ratio = (0.08, 1.0), (3.0 / 4.0, 4.0 / 3.0)
    # Sizes no attempt can fit (a crop of at least 8% of the area with a ratio in [3/4, 4/3]),
    # so get_params always takes the center-crop fallback.
    for w, h in [(1000, 10), (10, 1000), (301, 7)]:
        img = Image.new("RGB", (w, h))
        i, j, hh, ww = T.RandomResizedCrop.get_params(img, scale, ratio)
        out["fallback"].append({"w": w, "h": h, "box": [i, j, hh, ww]})
    torch.manual_seed(9)
    n = 40000
    for w, h in [(64, 48), (500, 375), (40, 300)]:
        img = Image.new("RGB", (w, h))
        area, logr, xs, ys, fb = [], [], [], [], 0
        for _ in range(n):
            i, j, hh, ww = T.RandomResizedCrop.get_params(img, scale, ratio)
            area.append(hh * ww / (w * h))
            logr.append(math.log(ww / hh))
            xs.append((j + ww / 2) / w)
            ys.append((i + hh / 2) / h)
        out["stats"].append({"w": w, "h": h, "n": n, "area_mean": float(np.mean(area)),
                             "area_std": float(np.std(area)), "logratio_mean": float(np.mean(logr)),
                             "logratio_std": float(np.std(logr)), "cx_mean": float(np.mean(xs)),
                             "cy_mean": float(np.mean(ys))})
    # An image with edges and gradients, saved losslessly.
    W, H = 45, 31
    yy, xx = np.mgrid[0:H, 0:W]
    pix = np.stack([(xx * 255 // (W - 1)), (yy * 255 // (H - 1)), ((xx // 4 + yy // 3) % 2) * 200 + 20], -1)
    img = Image.fromarray(pix.astype(np.uint8), "RGB")
    img.save(os.path.join(DATA_DIR, "augment.png"), optimize=False)
    img = Image.open(os.path.join(DATA_DIR, "augment.png")).convert("RGB")
    mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
    norm = T.Compose([T.ToTensor(), T.Normalize(mean, std)])
    for box, size, flip in [((3, 5, 20, 30), 16, False), ((0, 0, 31, 45), 24, True),
                            ((10, 2, 7, 9), 20, False), ((4, 11, 25, 19), 12, True)]:
        i, j, h, w = box
        c = TF.resized_crop(img, i, j, h, w, [size, size], T.InterpolationMode.BILINEAR)
        if flip:
            c = TF.hflip(c)
        out["crops"].append({"box": list(box), "size": size, "flip": flip, "pixels": flat(norm(c))})
    out["mean"], out["std"] = mean, std
    return out


def main():
    os.makedirs(TRAIN_DIR, exist_ok=True)
    os.makedirs(DATA_DIR, exist_ok=True)
    torch.set_num_threads(1)
    cfg = torch.__config__.show()
    cap = [line.strip() for line in cfg.splitlines() if "CPU capability" in line]
    train = {"torch": torch.__version__, "cpu_capability": cap[0] if cap else "",
             "optimizers": optimizers(), "schedules": schedules(), "clip": clipping(),
             "init": init_cases(), "loss": loss_cases(), "batchnorm": batchnorm()}
    with open(os.path.join(TRAIN_DIR, "torch_train.json"), "w") as f:
        json.dump(train, f, indent=0)
        f.write("\n")
    with open(os.path.join(DATA_DIR, "augment.json"), "w") as f:
        json.dump(augment(), f, indent=0)
        f.write("\n")
    print("wrote", TRAIN_DIR, DATA_DIR)


if __name__ == "__main__":
    main()
