#!/usr/bin/python3
"""Convert a PyTorch checkpoint (.pth/.pt) to safetensors for cnngen.

    /usr/bin/python3 tools/pth_to_safetensors.py IN.pth OUT.safetensors [--meta key=value ...]

IN may be
  * a state_dict saved with torch.save (what torchvision's pretrained weight files are,
    e.g. resnet50-0676ba61.pth from https://download.pytorch.org/models/),
  * a dict holding the state_dict under "state_dict", "model", "model_state_dict" or "net"
    (training checkpoints), or
  * a whole pickled nn.Module (torch.save(model)); its class must be importable.

Tensor names are kept as they are, except that a leading "module." (added by
nn.DataParallel / DistributedDataParallel) is stripped. Floating-point tensors (F16, BF16,
F64, F32) are written as F32; integer and bool tensors (BatchNorm's num_batches_tracked)
as I64. The file is read back and compared with what was written unless --no-verify.

Loading first uses torch.load(weights_only=True), which cannot run code from the file;
only if that fails (a pickled module or other objects) is the file fully unpickled, which
runs whatever code the pickle contains: convert only checkpoints you trust. Pass
--weights-only to refuse that fallback.
"""
import argparse
import os
import sys
from collections import OrderedDict

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st  # noqa: E402

WRAPPER_KEYS = ("state_dict", "model", "model_state_dict", "net")


def load_checkpoint(path, weights_only_strict=False):
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # pickled module or non-tensor objects
        if weights_only_strict:
            raise SystemExit(f"{path}: cannot load with weights_only=True ({e}); "
                             f"drop --weights-only to unpickle it fully (only for trusted files)")
        print(f"note: {path} is not a plain weights file ({type(e).__name__}); "
              f"unpickling it fully, which runs code from the file", file=sys.stderr)
        return torch.load(path, map_location="cpu", weights_only=False)


def extract_state_dict(obj, path):
    """Find the state_dict in what torch.load returned."""
    if isinstance(obj, nn.Module):
        return obj.state_dict()
    if isinstance(obj, dict):
        if obj and all(torch.is_tensor(v) for v in obj.values()):
            return obj
        for k in WRAPPER_KEYS:
            if k in obj:
                inner = obj[k]
                if isinstance(inner, nn.Module):
                    return inner.state_dict()
                if isinstance(inner, dict):
                    return extract_state_dict(inner, path)
        tensors = {k: v for k, v in obj.items() if torch.is_tensor(v)}
        if tensors:
            skipped = sorted(str(k) for k in obj if not torch.is_tensor(obj[k]))
            print(f"note: skipping non-tensor entries {skipped}", file=sys.stderr)
            return tensors
    raise SystemExit(f"{path}: found no state_dict (top level is {type(obj).__name__}"
                     + (f" with keys {sorted(map(str, obj))[:10]}" if isinstance(obj, dict) else "") + ")")


def convert(sd):
    """Rename and retype a state_dict; returns OrderedDict name -> tensor (F32 or I64)."""
    out = OrderedDict()
    for name, t in sd.items():
        if not isinstance(name, str):
            raise SystemExit(f"tensor name {name!r} is not a string")
        new = name[len("module."):] if name.startswith("module.") else name
        if new in out:
            raise SystemExit(f"two tensors map to the name {new!r} after stripping 'module.'")
        t = t.detach().to("cpu")
        if t.is_quantized or t.is_sparse:
            raise SystemExit(f"{name}: quantized/sparse tensors are not supported")
        if t.is_floating_point():
            t = t.to(torch.float32)
        elif t.is_complex():
            raise SystemExit(f"{name}: complex tensors are not supported")
        else:
            t = t.to(torch.int64)
        out[new] = t.contiguous()
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("input", help="checkpoint written by torch.save (.pth/.pt)")
    ap.add_argument("output", help="safetensors file to write")
    ap.add_argument("--meta", action="append", default=[], metavar="KEY=VALUE",
                    help="extra __metadata__ entry (repeatable)")
    ap.add_argument("--weights-only", action="store_true",
                    help="never fully unpickle the input (refuse pickled modules)")
    ap.add_argument("--no-verify", action="store_true", help="skip reading the output back")
    args = ap.parse_args()

    obj = load_checkpoint(args.input, args.weights_only)
    sd = extract_state_dict(obj, args.input)
    src_dtypes = {}
    for t in sd.values():
        src_dtypes[str(t.dtype).replace("torch.", "")] = src_dtypes.get(str(t.dtype).replace("torch.", ""), 0) + 1
    tensors = convert(sd)
    stripped = sum(1 for k in sd if k.startswith("module."))

    meta = {"source": os.path.basename(args.input), "converter": "tools/pth_to_safetensors.py",
            "torch": torch.__version__}
    for kv in args.meta:
        if "=" not in kv:
            raise SystemExit(f"--meta {kv!r}: want KEY=VALUE")
        k, v = kv.split("=", 1)
        meta[k] = v
    nbytes = st.save(args.output, tensors, meta)

    if not args.no_verify:
        back = st.load(args.output)
        if list(sorted(back)) != list(sorted(tensors)):
            raise SystemExit("verify: tensor names differ after reading back")
        for k, t in tensors.items():
            if back[k].dtype != t.dtype or back[k].shape != t.shape or not torch.equal(back[k], t):
                raise SystemExit(f"verify: tensor {k!r} differs after reading back")

    n_float = sum(1 for t in tensors.values() if t.dtype == torch.float32)
    n_int = len(tensors) - n_float
    params = sum(t.numel() for t in tensors.values() if t.dtype == torch.float32)
    ints = sum(t.numel() for t in tensors.values() if t.dtype == torch.int64)
    print(f"{args.input} -> {args.output}")
    print(f"  tensors: {len(tensors)} ({n_float} F32, {n_int} I64); source dtypes: "
          + ", ".join(f"{k} x{v}" for k, v in sorted(src_dtypes.items())))
    print(f"  values:  {params:,} floats (parameters and float buffers), {ints:,} integers"
          + (f"; stripped 'module.' from {stripped} names" if stripped else ""))
    print(f"  bytes:   {nbytes:,} written" + ("" if args.no_verify else " (verified by reading back)"))


if __name__ == "__main__":
    main()
