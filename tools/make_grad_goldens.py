#!/usr/bin/python3
"""Make the gradient goldens of cnngen's training reference (gen/interp.Train) with torch autograd.

usage: /usr/bin/python3 tools/make_grad_goldens.py [--out DIR] [--ops] [--optim] [name ...]

Writes, in float64 (DIR defaults to internal/goldens/grad/data):

    DIR/ops.json, DIR/ops.f64   per-op cases (tools/grad_cases.py): every gradient in full
    DIR/optim.json              SGD (momentum, dampening, nesterov, weight decay) and
                                clip_grad_norm_ over three steps
    DIR/train/<name>.json       one training step of a built-in network: loss, per-tensor gradient
                                norms and samples, the SGD step's update, running statistics

With no argument it makes everything; --ops, --optim and network names select. Weights and inputs
are never written: both sides regenerate them from seeds (tools/README.md, "Gradient goldens").
"""
import argparse
import json
import math
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import seedweights  # noqa: E402
import models  # noqa: E402
import grad_cases  # noqa: E402
from make_goldens import seed_state_dict  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(REPO, "internal", "goldens", "grad", "data")


def t64(a):
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float64))


def case_input(c):
    """The input rule: scale*(2u-1), u of the tensor named <case>/input, rounded to a multiple of
    quantum (half to even) when quantum > 0."""
    n = c.batch * int(np.prod(c.input))
    v = c.scale * (2.0 * seedweights.uniforms(c.name + "/input", n) - 1.0)
    if c.quantum > 0:
        v = np.round(v / c.quantum) * c.quantum
    return v.reshape([c.batch] + c.input)


def labels(name, batch, classes):
    """Seeded labels: floor(u_b * classes), u of the tensor named name."""
    return [int(math.floor(u * classes)) for u in seedweights.uniforms(name, batch)]


class Blob:
    """float64 arrays appended to one little-endian file; JSON refers to them by [offset, count]."""

    def __init__(self):
        self.parts, self.n = [], 0

    def add(self, a):
        a = np.asarray(a, dtype="<f8").reshape(-1)
        self.parts.append(a.tobytes())
        self.n += a.size
        return [self.n - a.size, int(a.size)]


def make_ops(out_dir):
    blob, cases = Blob(), []
    for c in grad_cases.CASES:
        P = {k: t64(seedweights.values(c.name + "/" + k, shape)).requires_grad_(not k.endswith(("running_mean", "running_var")))
             for k, shape in c.params}
        x = t64(case_input(c)).requires_grad_()
        tensors = {}
        if c.loss:
            main, aux = c.fn(x, P, c)
            lab = labels(c.name + "/labels", c.batch, main.shape[1])
            target = torch.tensor(lab)
            loss = F.cross_entropy(main, target, label_smoothing=c.label_smoothing)
            for a in aux:
                loss = loss + c.aux_weight * F.cross_entropy(a, target, label_smoothing=c.label_smoothing)
            tensors["output"] = blob.add(main.detach().numpy())
        else:
            y = c.fn(x, P, c)
            up = t64(2.0 * seedweights.uniforms(c.name + "/upstream", y.numel()) - 1.0).reshape(y.shape)
            loss = (y * up).sum()
            tensors["output"] = blob.add(y.detach().numpy())
        loss.backward()
        tensors["input_grad"] = blob.add(x.grad.numpy())
        for k, _ in c.params:
            if P[k].requires_grad:
                tensors["grad/" + k] = blob.add(P[k].grad.numpy())
            else:  # running statistics, updated in place by F.batch_norm
                tensors["running/" + k] = blob.add(P[k].detach().numpy())
        if c.name == "hardsigmoid":  # the float32 1/6 of torch's own backward (grad_cases.hardsigmoid)
            xx = t64(case_input(c)).requires_grad_()
            (F.hardsigmoid(xx) * up).sum().backward()
            assert torch.allclose(xx.grad, x.grad, rtol=1e-7, atol=0), "hardsigmoid: torch's backward moved"
        cases.append({
            "name": c.name, "spec": c.spec(), "batch": c.batch, "input": c.input,
            "input_scale": c.scale, "input_quantum": c.quantum, "loss_mode": c.loss,
            "label_smoothing": c.label_smoothing, "aux_weight": c.aux_weight,
            "bn_momentum": c.bn_momentum, "dropout_seed": c.dropout_seed,
            "loss": float(loss), "tensors": tensors,
        })
    with open(os.path.join(out_dir, "ops.f64"), "wb") as f:
        f.write(b"".join(blob.parts))
    write_json(os.path.join(out_dir, "ops.json"), {"torch": torch.__version__, "cases": cases})
    print("ops: %d cases, %d values" % (len(cases), blob.n))


# The optimizer cases: two tensors (5 and 3 values), three steps, each clip_grad_norm_ then step.
OPTIM = [
    ("sgd_plain", dict(lr=0.1), 100.0),
    ("sgd_momentum", dict(lr=0.05, momentum=0.9), 100.0),
    ("sgd_nesterov_wd_clip", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-2), 0.5),
    ("sgd_dampening_wd_clip", dict(lr=0.1, momentum=0.8, dampening=0.3, weight_decay=1e-3), 1.0),
]
OPTIM_SIZES, OPTIM_STEPS = [5, 3], 3


def make_optim(out_dir):
    """Weights w<t>_i = 2u-1 (u of <case>/w<t>); step s's gradients 3*(2u-1) (u of <case>/g<t>@<s>)."""
    cases = []
    for name, kw, max_norm in OPTIM:
        ps = [nn.Parameter(t64(2.0 * seedweights.uniforms("%s/w%d" % (name, t), n) - 1.0)) for t, n in enumerate(OPTIM_SIZES)]
        opt = torch.optim.SGD(ps, **kw)
        steps = []
        for s in range(OPTIM_STEPS):
            for t, p in enumerate(ps):
                p.grad = t64(3.0 * (2.0 * seedweights.uniforms("%s/g%d@%d" % (name, t, s), p.numel()) - 1.0))
            total = float(torch.nn.utils.clip_grad_norm_(ps, max_norm))
            opt.step()
            steps.append({"total_norm": total, "weights": [p.detach().numpy().tolist() for p in ps]})
        sgd = {"lr": 0.0, "momentum": 0.0, "dampening": 0.0, "weight_decay": 0.0, "nesterov": False}
        sgd.update(kw)
        cases.append({"name": name, "sgd": sgd, "max_norm": max_norm, "sizes": OPTIM_SIZES, "steps": steps})
    write_json(os.path.join(out_dir, "optim.json"), {"torch": torch.__version__, "cases": cases})
    print("optim: %d cases" % len(cases))


# One training step of each built-in network: its input size (reduced where an adaptive or global
# pool makes the network accept it), label smoothing, aux weight, the SGD step.
TRAIN_SIZE = {
    "lenet5": [1, 28, 28], "alexnet2012": [3, 227, 227],  # no adaptive pool: their sizes are fixed
    "alexnet": [3, 64, 64], "vgg16": [3, 32, 32], "vgg19": [3, 32, 32], "googlenet": [3, 64, 64],
    "resnet18": [3, 64, 64], "resnet34": [3, 64, 64], "resnet50": [3, 64, 64], "resnet101": [3, 64, 64],
    "resnet152": [3, 64, 64], "efficientnet_b0": [3, 64, 64],
}
TRAIN_BATCH, LABEL_SMOOTHING, DROPOUT_SEED = 2, 0.1, 1
AUX_WEIGHT = {"googlenet": 0.3}
SGD = dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-4)
MAX_NORM = 1.0
# Dropout modules by torch path -> the IR node names whose masks they apply (in call order; the
# names spec-internal nodes get, e.g. "dropout#13"); modules not listed have the same name in both.
DROPOUT_NAMES = {
    "alexnet2012": {"drop": ["dropout#13", "dropout#15"]},
    "googlenet": {"aux1.dropout": ["aux1.dropout#30"], "aux2.dropout": ["aux2.dropout#56"]},
}


class SeededDropout(nn.Module):
    """nn.Dropout with gen/interp's seeded masks; a module called more than once (AlexNet2012's
    self.drop) applies the masks of one IR node per call."""

    def __init__(self, p, names):
        super().__init__()
        self.p, self.names, self.calls = p, names, 0

    def forward(self, x):
        name = self.names[self.calls % len(self.names)]
        self.calls += 1
        return grad_cases.dropout(x, name, self.p, DROPOUT_SEED)


def prepare(name, model):
    """Seeded dropout for every nn.Dropout; StochasticDepth (EfficientNet) is the identity: the IR
    has no such op. Returns {IR dropout node: torch module path}."""
    used = {}
    for path, m in list(model.named_modules()):
        parent, _, leaf = path.rpartition(".")
        owner = model.get_submodule(parent) if parent else model
        if isinstance(m, nn.Dropout):
            names = DROPOUT_NAMES.get(name, {}).get(path, [path])
            setattr(owner, leaf, SeededDropout(m.p, names))
            used.update({n: path for n in names})
        elif type(m).__name__ == "StochasticDepth":
            setattr(owner, leaf, nn.Identity())
    return used


def r15(v):
    """v to 15 significant digits: far below the tests' 1e-10, a third shorter in JSON."""
    return float("%.15g" % float(v))


def samples(key, a, k=1, last=True):
    """[index, value] of the first element, the last (unless not last) and k seeded ones (u of
    <key>#sample)."""
    a = np.asarray(a).reshape(-1)
    idx = {0} | ({a.size - 1} if last else set()) | {int(u * a.size) for u in seedweights.uniforms(key + "#sample", k)}
    return [[i, r15(a[i])] for i in sorted(idx)]


def make_train(name, out_dir):
    t0 = time.time()
    torch.manual_seed(0)
    model, _, _ = models.build(name)
    seed_state_dict(model)
    dropouts = prepare(name, model)
    model.double().train()
    shape = TRAIN_SIZE[name]
    x = t64(seedweights.input_batch(TRAIN_BATCH, shape)).requires_grad_()
    # The aux heads' logits, taken from the heads themselves: torchvision 0.14's GoogLeNetOutputs
    # names them the other way round (its aux_logits1 is aux2's).
    aux_out = {}
    for head in ("aux1", "aux2"):
        if getattr(model, head, None) is not None:
            getattr(model, head).register_forward_hook(lambda m, i, o, head=head: aux_out.__setitem__(head, o))
    out = model(x)
    outs = [out.logits if hasattr(out, "logits") else out] + [aux_out[h] for h in sorted(aux_out)]
    classes = outs[0].shape[1]
    lab = labels("labels", TRAIN_BATCH, classes)
    target = torch.tensor(lab)
    heads = [F.cross_entropy(o, target, label_smoothing=LABEL_SMOOTHING) for o in outs]
    aux = AUX_WEIGHT.get(name, 0.0)
    loss = heads[0] + sum(aux * h for h in heads[1:])
    loss.backward()
    head_loss = {"main": float(heads[0])}
    if len(heads) > 1:
        head_loss.update({"aux1.fc2": float(heads[1]), "aux2.fc2": float(heads[2])})

    params = dict(model.named_parameters())
    before = {k: p.detach().clone() for k, p in params.items()}
    entries = {}
    for k, p in params.items():
        entries[k] = {"grad_norm": r15(p.grad.norm()), "grad": samples(k, p.grad.numpy())}
    total = float(torch.nn.utils.clip_grad_norm_(model.parameters(), MAX_NORM))
    torch.optim.SGD(model.parameters(), **SGD).step()
    for k, p in params.items():
        e = entries[k]
        e["update_norm"] = r15((p.detach() - before[k]).norm())
        e["updated"] = [[i, r15(p.detach().reshape(-1)[i])] for i, _ in e["grad"]]
    running = {}
    for k, b in model.state_dict().items():
        if k.endswith(("running_mean", "running_var")):
            running[k] = {"norm": r15(b.norm()), "samples": samples(k, b.numpy(), last=False)}
    doc = {
        "name": name, "input": shape, "batch": TRAIN_BATCH, "labels": lab,
        "label_smoothing": LABEL_SMOOTHING, "aux_weight": aux, "bn_momentum": 0.1, "dropout_seed": DROPOUT_SEED,
        "dropout_nodes": dict(sorted(dropouts.items())),
        "sgd": dict(SGD, max_norm=MAX_NORM, total_norm=total),
        "loss": float(loss), "head_loss": head_loss,
        "input_grad": {"norm": r15(x.grad.norm()), "samples": samples("input", x.grad.numpy(), 6)},
        "params": entries, "running": running,
        "torch": torch.__version__,
    }
    os.makedirs(os.path.join(out_dir, "train"), exist_ok=True)
    write_json(os.path.join(out_dir, "train", name + ".json"), doc)
    print("%-16s input %s  loss %.6f  grad norm %.4g  %d tensors  %.1fs" % (
        name, shape, float(loss), total, len(entries), time.time() - t0), flush=True)


def write_json(path, doc):
    """Deterministic JSON, floats as Python's shortest round-trip repr (Go parses them exactly):
    the top level and its containers one entry per line (a tensor, a case), the rest compact."""
    def dump(v, depth):
        if depth > 1 or not isinstance(v, (dict, list)) or not v:
            return json.dumps(v, sort_keys=True, separators=(", ", ": "))
        pad = " " * (depth + 1)
        if isinstance(v, dict):
            items = ["%s%s: %s" % (pad, json.dumps(k), dump(v[k], depth + 1)) for k in sorted(v)]
            return "{\n" + ",\n".join(items) + "\n" + pad[1:] + "}"
        return "[\n" + ",\n".join(pad + dump(x, depth + 1) for x in v) + "\n" + pad[1:] + "]"
    with open(path, "w") as f:
        f.write(dump(doc, 0) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--ops", action="store_true", help="the per-op cases")
    ap.add_argument("--optim", action="store_true", help="the optimizer cases")
    ap.add_argument("names", nargs="*", help="networks (default with no selection: all)")
    args = ap.parse_args()
    for n in args.names:
        if n not in TRAIN_SIZE:
            ap.error("unknown network %r (have %s)" % (n, ", ".join(TRAIN_SIZE)))
    everything = not (args.ops or args.optim or args.names)
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))
    if args.ops or everything:
        make_ops(args.out)
    if args.optim or everything:
        make_optim(args.out)
    for n in args.names or (list(TRAIN_SIZE) if everything else []):
        make_train(n, args.out)


if __name__ == "__main__":
    main()
