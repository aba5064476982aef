"""A tiny, dependency-free (apart from torch and numpy) safetensors reader/writer.

Format (https://github.com/huggingface/safetensors):

    [8 bytes: little-endian uint64 N][N bytes: UTF-8 JSON header][tensor data]

The header maps each tensor name to {"dtype", "shape", "data_offsets": [begin, end]}
(offsets relative to the first byte after the header) plus an optional "__metadata__"
object whose values are strings. Tensor data is little-endian and row-major (C order).

This writer lays tensors out in sorted-name order, writes the JSON compactly with sorted
keys and pads the header with spaces to a multiple of 8 bytes, so the same tensors and
metadata always give byte-identical files. It is what tools/train_lenet5.py and
tools/pth_to_safetensors.py use; the Go side reads the files with runtime/safetensors.go.

    import st
    st.save("w.safetensors", {"fc.weight": t}, metadata={"arch": "lenet5"})
    tensors = st.load("w.safetensors")              # dict name -> torch.Tensor
    tensors, meta = st.load("w.safetensors", with_metadata=True)

Run `python3 tools/st.py` for a self-test.
"""
import json
import os
import struct

import numpy as np
import torch

METADATA_KEY = "__metadata__"
MAX_HEADER = 100 << 20  # same cap as the reference implementation and runtime/safetensors.go

# safetensors dtype <-> (torch dtype, little-endian numpy dtype used to (de)serialise it).
# BF16 has no numpy dtype: it is moved as raw int16 bit patterns.
_DTYPES = {
    "F64": (torch.float64, "<f8"),
    "F32": (torch.float32, "<f4"),
    "F16": (torch.float16, "<f2"),
    "BF16": (torch.bfloat16, "<i2"),
    "I64": (torch.int64, "<i8"),
    "I32": (torch.int32, "<i4"),
    "I16": (torch.int16, "<i2"),
    "I8": (torch.int8, "i1"),
    "U8": (torch.uint8, "u1"),
    "BOOL": (torch.bool, "?"),
}
_TORCH_TO_ST = {td: name for name, (td, _) in _DTYPES.items()}


def _tensor_bytes(t):
    """Little-endian, row-major bytes of tensor t (any device/layout/strides)."""
    t = t.detach().to("cpu").contiguous()
    npdt = _DTYPES[_TORCH_TO_ST[t.dtype]][1]
    if t.dtype == torch.bfloat16:
        t = t.view(torch.int16)
    return t.numpy().astype(npdt, copy=False).tobytes(order="C")


def dumps_header(tensors, metadata=None):
    """Return (header bytes incl. the 8-byte length prefix, list of (name, data bytes))."""
    header = {}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        if not isinstance(name, str):
            raise TypeError(f"safetensors: tensor name {name!r} is not a string")
        if name == METADATA_KEY:
            raise ValueError(f"safetensors: {METADATA_KEY!r} is reserved and cannot name a tensor")
        t = tensors[name]
        if not torch.is_tensor(t):
            raise TypeError(f"safetensors: {name!r} is a {type(t).__name__}, not a torch.Tensor")
        if t.dtype not in _TORCH_TO_ST:
            raise TypeError(f"safetensors: {name!r} has unsupported dtype {t.dtype}")
        if t.is_sparse or t.is_quantized:
            raise TypeError(f"safetensors: {name!r} is sparse/quantized; only dense tensors are supported")
        data = _tensor_bytes(t)
        header[name] = {
            "dtype": _TORCH_TO_ST[t.dtype],
            "shape": list(t.shape),
            "data_offsets": [offset, offset + len(data)],
        }
        blobs.append((name, data))
        offset += len(data)
    if metadata:
        for k, v in metadata.items():
            if not isinstance(k, str) or not isinstance(v, str):
                raise TypeError(f"safetensors: metadata must map str to str, got {k!r}: {v!r}")
        header[METADATA_KEY] = dict(sorted(metadata.items()))
    # "__metadata__" goes first, as the reference writer puts it; tensors follow in offset
    # (sorted-name) order.
    ordered = {}
    if METADATA_KEY in header:
        ordered[METADATA_KEY] = header.pop(METADATA_KEY)
    ordered.update(header)
    js = json.dumps(ordered, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    js += b" " * (-len(js) % 8)
    return struct.pack("<Q", len(js)) + js, blobs


def save(path, tensors, metadata=None):
    """Write dict name -> torch.Tensor to path as safetensors, with optional str->str metadata.

    The file is written to path + ".tmp" and renamed, so a crash never leaves a truncated file.
    """
    head, blobs = dumps_header(tensors, metadata)
    tmp = str(path) + ".tmp"
    with open(tmp, "wb") as f:
        f.write(head)
        for _, data in blobs:
            f.write(data)
    os.replace(tmp, path)
    return len(head) + sum(len(d) for _, d in blobs)


def read_header(path):
    """Return (header dict without metadata, metadata dict, data start offset, file size)."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        if size < 8:
            raise ValueError(f"safetensors: {path}: {size} bytes, shorter than the length prefix")
        (n,) = struct.unpack("<Q", f.read(8))
        if n > MAX_HEADER or n > size - 8:
            raise ValueError(f"safetensors: {path}: bad header length {n} (file is {size} bytes)")
        header = json.loads(f.read(n).decode("utf-8"))
    if not isinstance(header, dict):
        raise ValueError(f"safetensors: {path}: header is not a JSON object")
    metadata = header.pop(METADATA_KEY, None) or {}
    return header, metadata, 8 + n, size


def load(path, with_metadata=False):
    """Read a safetensors file into dict name -> torch.Tensor (CPU, owning its memory).

    With with_metadata=True return (tensors, metadata)."""
    header, metadata, start, size = read_header(path)
    with open(path, "rb") as f:
        f.seek(start)
        data = f.read()
    if len(data) != size - start:
        raise ValueError(f"safetensors: {path}: short read")
    out = {}
    spans = []
    for name, info in header.items():
        dt = info["dtype"]
        if dt not in _DTYPES:
            raise ValueError(f"safetensors: {path}: tensor {name!r} has unsupported dtype {dt}")
        tdt, npdt = _DTYPES[dt]
        shape = [int(s) for s in info["shape"]]
        b, e = (int(x) for x in info["data_offsets"])
        count = 1
        for s in shape:
            count *= s
        if not (0 <= b <= e <= len(data)) or e - b != count * np.dtype(npdt).itemsize:
            raise ValueError(f"safetensors: {path}: tensor {name!r} has bad data_offsets [{b}, {e}] "
                             f"for dtype {dt} shape {shape}")
        spans.append((b, e, name))
        arr = np.frombuffer(data, dtype=npdt, count=count, offset=b)
        arr = arr.astype(np.dtype(npdt).newbyteorder("="))  # native byte order, own copy
        t = torch.from_numpy(arr).reshape(shape)
        if dt == "BF16":
            t = t.view(torch.bfloat16)
        elif t.dtype != tdt:
            t = t.to(tdt)
        out[name] = t
    spans.sort()
    pos = 0
    for b, e, name in spans:
        if b != pos:
            raise ValueError(f"safetensors: {path}: tensor {name!r} data does not start where the previous ends "
                             f"(offset {b}, expected {pos})")
        pos = e
    if pos != len(data):
        raise ValueError(f"safetensors: {path}: {len(data) - pos} trailing bytes after the last tensor")
    return (out, metadata) if with_metadata else out


def _selftest():
    import tempfile

    g = torch.Generator().manual_seed(0)
    tensors = {
        "b.f32": torch.randn(3, 4, generator=g),
        "a.f16": torch.randn(5, generator=g).half(),
        "c.bf16": torch.randn(2, 3, generator=g).bfloat16(),
        "d.f64": torch.randn(2, 2, 2, generator=g).double(),
        "e.i64": torch.tensor(12345678901234, dtype=torch.int64),  # 0-d scalar
        "f.empty": torch.zeros(0, 7),
        "g.noncontig": torch.arange(12, dtype=torch.float32).reshape(3, 4).t(),
        "h.u8": torch.arange(250, 256, dtype=torch.uint8),
        "i.i32": torch.tensor([-1, 2, -3], dtype=torch.int32),
        "j.bool": torch.tensor([True, False, True]),
    }
    meta = {"arch": "test", "note": "h\u00e9llo"}
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "t.safetensors")
        n = save(p, tensors, meta)
        assert n == os.path.getsize(p)
        raw = open(p, "rb").read()
        (hl,) = struct.unpack("<Q", raw[:8])
        assert hl % 8 == 0, hl
        hj = json.loads(raw[8:8 + hl])
        names = [k for k in hj if k != METADATA_KEY]
        assert names == sorted(tensors), names
        assert hj[METADATA_KEY] == meta
        assert hj["b.f32"]["dtype"] == "F32" and hj["b.f32"]["shape"] == [3, 4]
        assert hj["e.i64"]["shape"] == [] and hj["f.empty"]["data_offsets"][0] == hj["f.empty"]["data_offsets"][1]
        # First tensor (sorted) starts at 0, offsets are contiguous.
        assert hj["a.f16"]["data_offsets"] == [0, 10]
        assert hj["b.f32"]["data_offsets"] == [10, 58]
        # Raw bytes of an F32 tensor are little-endian float32.
        b0 = 8 + hl + 10
        assert raw[b0:b0 + 48] == np.asarray(tensors["b.f32"].numpy(), dtype="<f4").tobytes()
        back, m = load(p, with_metadata=True)
        assert m == meta
        assert set(back) == set(tensors)
        for k, v in tensors.items():
            w = back[k]
            assert w.dtype == v.dtype and w.shape == v.shape, (k, w.dtype, v.dtype, w.shape, v.shape)
            assert torch.equal(w, v), k
        # Deterministic: same input, same bytes.
        p2 = os.path.join(d, "t2.safetensors")
        save(p2, dict(reversed(list(tensors.items()))), meta)
        assert open(p2, "rb").read() == raw
        # Known-answer test: a hand-built file.
        p3 = os.path.join(d, "t3.safetensors")
        save(p3, {"x": torch.tensor([1.0, -2.0])})
        want_js = b'{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}'
        want_js += b" " * (-len(want_js) % 8)
        want = struct.pack("<Q", len(want_js)) + want_js + struct.pack("<2f", 1.0, -2.0)
        assert open(p3, "rb").read() == want, open(p3, "rb").read()
        # Corrupt files are rejected.
        open(p3, "wb").write(want[:-1])
        try:
            load(p3)
        except ValueError:
            pass
        else:
            raise AssertionError("truncated file accepted")
    print("st.py self-test OK")


if __name__ == "__main__":
    _selftest()
