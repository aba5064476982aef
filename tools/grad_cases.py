"""The per-op cases of the gradient goldens (tools/make_grad_goldens.py).

Each case is a tiny network written twice: as a cnngen spec (the layers the Go test parses) and
as a torch function of the input and the weights. make_grad_goldens.py seeds both alike, runs
torch autograd in float64 and records the gradients; internal/goldens/grad serves them to the
interpreter's tests. A case whose two descriptions disagree fails there, which is the point.

Fields of Case:
  name      the case's name; it also prefixes the names the tensors are seeded from
  input     per-image input shape
  layers    the spec's layers, one YAML item per string
  fn        fn(x, P, o) -> output (upstream mode) or (main logits, [aux logits...]) (loss mode);
            P maps weight keys to float64 tensors, o is the Case (its options)
  params    [(key, shape)] of every weight the spec has, in any order
  batch     images
  scale, quantum   the input rule: scale*(2u-1), rounded to a multiple of quantum when quantum > 0
            (so that ties of maxima and the kinks of relu6, clip, hardswish... occur exactly)
  loss      cross-entropy over seeded labels instead of an upstream gradient
  options   label_smoothing, aux_weight, bn_momentum (0: torch's 0.1), dropout_seed
"""
import numpy as np
import torch
import torch.nn.functional as F

import seedweights


class Case:
    def __init__(self, name, input, layers, fn, params=(), batch=2, scale=2.4, quantum=0.0, loss=False,
                 label_smoothing=0.0, aux_weight=0.0, bn_momentum=0.0, dropout_seed=0):
        self.name, self.input, self.layers, self.fn = name, list(input), list(layers), fn
        self.params, self.batch, self.scale, self.quantum, self.loss = list(params), batch, scale, quantum, loss
        self.label_smoothing, self.aux_weight = label_smoothing, aux_weight
        self.bn_momentum, self.dropout_seed = bn_momentum, dropout_seed

    def momentum(self):
        return self.bn_momentum or 0.1

    def spec(self):
        return "name: %s\ninput: [%s]\nlayers:\n%s" % (
            self.name, ", ".join(str(d) for d in self.input), "".join("  %s\n" % l for l in self.layers))


def dropout(x, name, p, seed):
    """The seeded dropout of gen/interp (DropoutKeep): element i of the batch-major tensor is kept
    when u_i >= p, u_i the weight rule's uniform of the tensor named name@seed, and scaled by
    1/(1-p)."""
    u = seedweights.uniforms("%s@%d" % (name, seed), x.numel())
    keep = torch.from_numpy((u >= p).astype(np.float64)).reshape(x.shape)
    return x * keep * (1.0 / (1.0 - p) if p < 1 else 0.0)


def lrn(x, size, alpha, beta, k, lo):
    """x / (k + alpha/size * sum of x^2 over channels [c-lo, c-lo+size)) ** beta, written out so
    that ONNX's window start (lo = (size-1)/2) is expressible; nn.LocalResponseNorm is lo = size/2."""
    sq, C = x * x, x.shape[1]
    sums = [sum(sq[:, j] for j in range(max(0, c - lo), min(C - 1, c - lo + size - 1) + 1)) for c in range(C)]
    return x / (k + alpha / size * torch.stack(sums, 1)) ** beta


def hardsigmoid(x):
    """nn.Hardsigmoid with an exact 1/6 slope. torch 1.13's hardsigmoid_backward multiplies by a
    float32 1/6 even in float64 (a 3e-8 relative error); the interpreter uses 1/6. The kinks stay
    torch's: zero gradient at -3 and 3. make_grad_goldens.py checks that F.hardsigmoid agrees with
    this to 1e-7."""
    inside = (x > -3) & (x < 3)
    return torch.where(inside, x / 6 + 0.5, F.hardsigmoid(x).detach())


def conv(x, P, key, stride=1, pad=0, dilation=1, groups=1, bias=True):
    """F.conv2d; pad [top, left, bottom, right] pads explicitly (torch's conv pads symmetrically)."""
    if isinstance(pad, list):
        x, pad = F.pad(x, (pad[1], pad[3], pad[0], pad[2])), 0
    return F.conv2d(x, P[key + ".weight"], P[key + ".bias"] if bias else None, stride, pad, dilation, groups)


def linear(x, P, key, alpha=1.0, beta=1.0, transposed=False, bias=True):
    w = P[key + ".weight"]
    y = alpha * (x @ w if transposed else x @ w.t())
    return y + beta * P[key + ".bias"] if bias else y


def bn(x, P, key, o, eps=1e-5):
    return F.batch_norm(x, P[key + ".running_mean"], P[key + ".running_var"], P[key + ".weight"], P[key + ".bias"],
                        training=True, momentum=o.momentum(), eps=eps)


def bn_params(key, c):
    return [(key + "." + r, [c]) for r in ("weight", "bias", "running_mean", "running_var")]


def chan(v):
    return torch.tensor(v, dtype=torch.float64).view(1, -1, 1, 1)


ACT = [4, 5, 6]  # activation inputs: 240 values per batch of 2 on a grid of 0.5 over [-7, 7], every kink hit


def aux_net(x, P, o):
    y = F.relu(bn(F.conv2d(x, P["c.weight"], P["c.bias"]), P, "bn", o))
    a = torch.flatten(F.adaptive_avg_pool2d(y, 1), 1)
    a = linear(dropout(a, "a.d", 0.5, o.dropout_seed), P, "a.fc")
    m = linear(dropout(torch.flatten(F.max_pool2d(y, 2), 1), "d", 0.3, o.dropout_seed), P, "fc")
    return m, [a]


def mini_net(x, P, o):
    """A small CNN of the built-in networks' pieces: conv-bn-relu, maxpool (ceil), an inception-like
    concat, squeeze-excitation, a residual add, global pooling, dropout, linear."""
    y = F.relu(bn(conv(x, P, "stem", stride=2, pad=1, bias=False), P, "bns", o))
    y = F.max_pool2d(y, 3, 2, ceil_mode=True)
    y = torch.cat([F.relu(conv(y, P, "b1")), F.relu6(conv(y, P, "b2", pad=1)),
                   conv(F.max_pool2d(y, 3, 1, 1, ceil_mode=True), P, "b3")], 1)
    s = torch.sigmoid(conv(F.silu(conv(F.adaptive_avg_pool2d(y, 1), P, "se1")), P, "se2"))
    y = F.relu(y * s + bn(conv(y, P, "dw", pad=1, groups=7, bias=False), P, "bnd", o))
    y = dropout(torch.flatten(F.adaptive_avg_pool2d(y, 1), 1), "drop", 0.25, o.dropout_seed)
    return linear(y, P, "fc"), []


CASES = [
    # convolution
    Case("conv", [3, 5, 5], ["- conv: {name: c, out: 4, kernel: 3, pad: 1}"],
         lambda x, P, o: conv(x, P, "c", pad=1), [("c.weight", [4, 3, 3, 3]), ("c.bias", [4])]),
    Case("conv_stride_asympad", [3, 6, 5], ["- conv: {name: c, out: 3, kernel: 3, stride: 2, pad: [1, 0, 2, 1]}"],
         lambda x, P, o: conv(x, P, "c", stride=2, pad=[1, 0, 2, 1]), [("c.weight", [3, 3, 3, 3]), ("c.bias", [3])]),
    Case("conv_dilation", [2, 7, 6], ["- conv: {name: c, out: 3, kernel: 3, dilation: 2, pad: 2, bias: false}"],
         lambda x, P, o: conv(x, P, "c", pad=2, dilation=2, bias=False), [("c.weight", [3, 2, 3, 3])]),
    Case("conv_groups", [4, 5, 5], ["- conv: {name: c, out: 6, kernel: 3, pad: 1, groups: 2}"],
         lambda x, P, o: conv(x, P, "c", pad=1, groups=2), [("c.weight", [6, 2, 3, 3]), ("c.bias", [6])]),
    Case("conv_depthwise", [4, 6, 6], ["- conv: {name: c, out: 4, kernel: 3, stride: 2, pad: 1, groups: 4, bias: false}"],
         lambda x, P, o: conv(x, P, "c", stride=2, pad=1, groups=4, bias=False), [("c.weight", [4, 1, 3, 3])]),
    Case("conv_depthwise_mult", [3, 5, 5], ["- conv: {name: c, out: 6, kernel: 5, pad: 2, groups: 3}"],
         lambda x, P, o: conv(x, P, "c", pad=2, groups=3), [("c.weight", [6, 1, 5, 5]), ("c.bias", [6])]),
    Case("conv_rect", [2, 7, 5], ["- conv: {name: c, out: 3, kernel: [3, 2], stride: [2, 1], pad: [1, 0]}"],
         lambda x, P, o: conv(x, P, "c", stride=(2, 1), pad=(1, 0)), [("c.weight", [3, 2, 3, 2]), ("c.bias", [3])]),
    Case("conv_1x1_stride", [3, 5, 5], ["- conv: {name: c, out: 2, kernel: 1, stride: 2, bias: false}"],
         lambda x, P, o: conv(x, P, "c", stride=2, bias=False), [("c.weight", [2, 3, 1, 1])]),
    # linear (nn.Linear and ONNX Gemm)
    Case("linear", [6], ["- linear: {name: fc, out: 4}"],
         lambda x, P, o: linear(x, P, "fc"), [("fc.weight", [4, 6]), ("fc.bias", [4])], batch=3),
    Case("linear_gemm", [5], ["- linear: {name: fc, out: 3, alpha: 0.7, beta: -1.3, transposed: true}"],
         lambda x, P, o: linear(x, P, "fc", 0.7, -1.3, transposed=True), [("fc.weight", [5, 3]), ("fc.bias", [3])]),
    Case("flatten_linear_nobias", [2, 3, 3], ["- flatten", "- linear: {name: fc, out: 4, bias: false}"],
         lambda x, P, o: linear(torch.flatten(x, 1), P, "fc", bias=False), [("fc.weight", [4, 18])]),
    # batch norm in training mode
    Case("bn2d", [3, 3, 4], ["- bn: {name: bn}"], lambda x, P, o: bn(x, P, "bn", o), bn_params("bn", 3)),
    Case("bn2d_eps_momentum", [2, 2, 3], ["- bn: {name: bn, eps: 0.001}"],
         lambda x, P, o: bn(x, P, "bn", o, eps=1e-3), bn_params("bn", 2), batch=3, bn_momentum=0.3),
    Case("bn1d", [5], ["- linear: {name: fc, out: 4}", "- bn: {name: bn}"],
         lambda x, P, o: bn(linear(x, P, "fc"), P, "bn", o), [("fc.weight", [4, 5]), ("fc.bias", [4])] + bn_params("bn", 4),
         batch=4),
    # activations, on a grid that hits their kinks exactly (custom hardsigmoid: off the grid)
    Case("relu", ACT, ["- relu"], lambda x, P, o: F.relu(x), scale=7, quantum=0.5),
    Case("relu6", ACT, ["- relu6"], lambda x, P, o: F.relu6(x), scale=7, quantum=0.5),
    Case("sigmoid", ACT, ["- sigmoid"], lambda x, P, o: torch.sigmoid(x), scale=7, quantum=0.5),
    Case("silu", ACT, ["- silu"], lambda x, P, o: F.silu(x), scale=7, quantum=0.5),
    Case("tanh", ACT, ["- tanh"], lambda x, P, o: torch.tanh(x), scale=7, quantum=0.5),
    Case("hardswish", ACT, ["- hardswish"], lambda x, P, o: F.hardswish(x), scale=7, quantum=0.5),
    Case("hardsigmoid", ACT, ["- hardsigmoid"], lambda x, P, o: hardsigmoid(x), scale=7, quantum=0.5),
    Case("hardsigmoid_custom", ACT, ["- hardsigmoid: {alpha: 0.2, beta: 0.4}"],
         lambda x, P, o: torch.clamp(0.2 * x + 0.4, 0, 1), scale=7),
    Case("gelu", ACT, ["- gelu"], lambda x, P, o: F.gelu(x), scale=7, quantum=0.5),
    Case("gelu_tanh", ACT, ["- gelu: {approximate: tanh}"], lambda x, P, o: F.gelu(x, approximate="tanh"),
         scale=7, quantum=0.5),
    Case("clip", ACT, ["- clip: {min: -1, max: 2}"], lambda x, P, o: torch.clamp(x, -1, 2), scale=7, quantum=0.5),
    Case("erf", ACT, ["- erf"], lambda x, P, o: torch.erf(x), scale=3, quantum=0.25),
    # pooling; a coarse grid makes ties of maxima, which go to the window's first maximum
    Case("maxpool", [2, 7, 7], ["- maxpool: {kernel: 3, stride: 2, pad: 1}"],
         lambda x, P, o: F.max_pool2d(x, 3, 2, 1), scale=2, quantum=0.5),
    Case("maxpool_ceil", [2, 8, 8], ["- maxpool: {kernel: 3, stride: 2, ceil_mode: true}"],
         lambda x, P, o: F.max_pool2d(x, 3, 2, ceil_mode=True), scale=2, quantum=0.5),
    Case("maxpool_s1_ceil", [2, 4, 5], ["- maxpool: {kernel: 3, stride: 1, pad: 1, ceil_mode: true}"],
         lambda x, P, o: F.max_pool2d(x, 3, 1, 1, ceil_mode=True), scale=2, quantum=0.5),
    Case("maxpool_relu_ties", [2, 6, 6], ["- relu", "- maxpool: {kernel: 2}"],
         lambda x, P, o: F.max_pool2d(F.relu(x), 2), scale=2, quantum=0.5),
    Case("avgpool_incl", [2, 7, 6], ["- avgpool: {kernel: 3, stride: 2, pad: 1, ceil_mode: true}"],
         lambda x, P, o: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=True)),
    Case("avgpool_excl", [2, 7, 6], ["- avgpool: {kernel: 3, stride: 2, pad: 1, ceil_mode: true, count_include_pad: false}"],
         lambda x, P, o: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False)),
    Case("avgpool_k2", [2, 4, 6], ["- avgpool: {kernel: 2}"], lambda x, P, o: F.avg_pool2d(x, 2)),
    Case("adaptive_down", [2, 7, 5], ["- adaptive_avgpool: {out: 3}"], lambda x, P, o: F.adaptive_avg_pool2d(x, 3)),
    Case("adaptive_up", [2, 2, 3], ["- adaptive_avgpool: {out: [5, 4]}"],
         lambda x, P, o: F.adaptive_avg_pool2d(x, (5, 4))),
    Case("gap", [3, 3, 4], ["- gap"], lambda x, P, o: F.adaptive_avg_pool2d(x, 1)),
    Case("gmp", [3, 3, 4], ["- global_maxpool"], lambda x, P, o: F.adaptive_max_pool2d(x, 1), scale=2, quantum=0.5),
    # local response normalization: torch's own (lo = size/2) and ONNX's window for an even size
    Case("lrn", [7, 2, 3], ["- lrn: {size: 5, alpha: 0.5, beta: 0.75, k: 2}"],
         lambda x, P, o: F.local_response_norm(x, 5, alpha=0.5, beta=0.75, k=2.0)),
    Case("lrn_even", [6, 2, 2], ["- lrn: {size: 4, alpha: 0.3, beta: 0.6, k: 1.5}"],
         lambda x, P, o: F.local_response_norm(x, 4, alpha=0.3, beta=0.6, k=1.5)),
    Case("lrn_even_onnx", [6, 2, 2], ["- lrn: {size: 4, alpha: 0.3, beta: 0.6, k: 1.5, lo: 1}"],
         lambda x, P, o: lrn(x, 4, 0.3, 0.6, 1.5, 1)),
    Case("lrn_alexnet", [9, 3, 3], ["- lrn: {size: 5, alpha: 1.0e-4, beta: 0.75, k: 2}"],
         lambda x, P, o: F.local_response_norm(x, 5, alpha=1e-4, beta=0.75, k=2.0), scale=40),
    # dropout, seeded
    Case("dropout", [3, 4, 4], ["- dropout: {name: d, p: 0.4}"], lambda x, P, o: dropout(x, "d", 0.4, 7), dropout_seed=7),
    Case("dropout_flat", [10], ["- dropout: {name: d, p: 0.5}", "- dropout: {name: d2, p: 1}"],
         lambda x, P, o: dropout(dropout(x, "d", 0.5, 0), "d2", 1.0, 0), batch=3),
    # merges, views, constant maps
    Case("add", [2, 3, 3], ["- add: [[tanh], [], [], [sigmoid]]"], lambda x, P, o: torch.tanh(x) + x + x + torch.sigmoid(x)),
    Case("mul_equal", [2, 3, 3], ["- mul: [[tanh], [sigmoid]]"], lambda x, P, o: torch.tanh(x) * torch.sigmoid(x)),
    Case("mul_square", [2, 3, 3], ["- mul: [[], []]"], lambda x, P, o: x * x),
    Case("mul_channel", [3, 3, 3], ["- mul: [[], [gap, sigmoid]]"],
         lambda x, P, o: x * torch.sigmoid(F.adaptive_avg_pool2d(x, 1))),
    Case("concat", [2, 4, 4], ["- concat: [[relu], [maxpool: {kernel: 3, stride: 1, pad: 1}], [conv: {name: c, out: 3, kernel: 1}]]"],
         lambda x, P, o: torch.cat([F.relu(x), F.max_pool2d(x, 3, 1, 1), conv(x, P, "c")], 1),
         [("c.weight", [3, 2, 1, 1]), ("c.bias", [3])]),
    Case("reshape_softmax", [2, 3, 4], ["- reshape: {shape: [6, 4]}", "- softmax: {axis: 1}", "- logsoftmax: {axis: 0, axis_end: 1}"],
         lambda x, P, o: torch.log_softmax(torch.softmax(x.reshape(-1, 6, 4), 2), 1)),
    Case("affine", [3, 2, 3], ["- affine: {scale: [0.5, -1.5, 2], shift: [0.1, 0.2, -0.3]}"],
         lambda x, P, o: x * chan([0.5, -1.5, 2]) + chan([0.1, 0.2, -0.3])),
    Case("pad", [2, 3, 3], ["- pad: {pads: [1, 2, 0, 1], value: 0.5}", "- tanh"],
         lambda x, P, o: torch.tanh(F.pad(x, (2, 1, 1, 0), value=0.5))),
    # the loss: nn.CrossEntropyLoss(label_smoothing), mean over the batch; training-only heads
    Case("loss", [5], ["- linear: {name: fc, out: 6}"], lambda x, P, o: (linear(x, P, "fc"), []),
         [("fc.weight", [6, 5]), ("fc.bias", [6])], batch=4, loss=True),
    Case("loss_smooth", [5], ["- linear: {name: fc, out: 6}"], lambda x, P, o: (linear(x, P, "fc"), []),
         [("fc.weight", [6, 5]), ("fc.bias", [6])], batch=3, loss=True, label_smoothing=0.2),
    Case("loss_softmax_output", [5], ["- linear: {name: fc, out: 6}", "- softmax"],
         lambda x, P, o: (linear(x, P, "fc"), []), [("fc.weight", [6, 5]), ("fc.bias", [6])], loss=True),
    Case("aux", [2, 5, 5], [
        "- conv: {name: c, out: 3, kernel: 3}", "- bn: {name: bn}", "- relu",
        "- aux: {name: a, layers: [gap, flatten, dropout: {name: d, p: 0.5}, linear: {name: fc, out: 4}]}",
        "- maxpool: {kernel: 2}", "- flatten", "- dropout: {name: d, p: 0.3}", "- linear: {name: fc, out: 4}"],
        aux_net, [("c.weight", [3, 2, 3, 3]), ("c.bias", [3]), ("a.fc.weight", [4, 3]), ("a.fc.bias", [4]),
                  ("fc.weight", [4, 3]), ("fc.bias", [4])] + bn_params("bn", 3),
        batch=3, loss=True, label_smoothing=0.1, aux_weight=0.3, dropout_seed=3),
    Case("mininet", [3, 12, 12], [
        "- conv: {name: stem, out: 4, kernel: 3, stride: 2, pad: 1, bias: false}", "- bn: {name: bns}", "- relu",
        "- maxpool: {kernel: 3, stride: 2, ceil_mode: true}",
        "- concat: [[conv: {name: b1, out: 2, kernel: 1}, relu], [conv: {name: b2, out: 3, kernel: 3, pad: 1}, relu6],"
        " [maxpool: {kernel: 3, stride: 1, pad: 1, ceil_mode: true}, conv: {name: b3, out: 2, kernel: 1}]]",
        "- add: [[mul: [[], [gap, conv: {name: se1, out: 2, kernel: 1}, silu, conv: {name: se2, out: 7, kernel: 1}, sigmoid]]],"
        " [conv: {name: dw, out: 7, kernel: 3, pad: 1, groups: 7, bias: false}, bn: {name: bnd}]]",
        "- relu", "- gap", "- flatten", "- dropout: {name: drop, p: 0.25}", "- linear: {name: fc, out: 5}"],
        mini_net, [("stem.weight", [4, 3, 3, 3])] + bn_params("bns", 4) +
        [("b1.weight", [2, 4, 1, 1]), ("b1.bias", [2]), ("b2.weight", [3, 4, 3, 3]), ("b2.bias", [3]),
         ("b3.weight", [2, 4, 1, 1]), ("b3.bias", [2]), ("se1.weight", [2, 7, 1, 1]), ("se1.bias", [2]),
         ("se2.weight", [7, 2, 1, 1]), ("se2.bias", [7]), ("dw.weight", [7, 1, 3, 3])] + bn_params("bnd", 7) +
        [("fc.weight", [5, 7]), ("fc.bias", [5])],
        batch=3, loss=True, label_smoothing=0.1, dropout_seed=11),
]
