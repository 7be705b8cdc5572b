"""Safetensors interop fixtures for Learner.Nn, and a reference reader for Learner's checkpoint files.

Run from this folder with the system Python that has torch:

    /usr/bin/python3 generate_safetensors_fixtures.py            # writes the fixtures below
    /usr/bin/python3 generate_safetensors_fixtures.py --read F   # lists the tensors and metadata of a .safetensors file

Writes
  interop.safetensors        tensors of many dtypes (F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL, a scalar, an
                             empty tensor), their bytes laid out in a different order than the header lists them,
                             with __metadata__;
  torch_mlp.safetensors      the state_dict of torch.nn.Sequential(Linear(5, 4), Linear(4, 3)) ("0.weight", ...);
  safetensors_expected.json  the expected values (as float32) and the MLP's input and output, for the tests.

The `safetensors` package is not installed on Debian's Python, so the writer and reader here follow the format
specification directly (https://github.com/huggingface/safetensors#format): 8-byte little-endian header length N,
N bytes of JSON {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}}, then the data
buffer; offsets are relative to the buffer. When the package is available, use it instead:

    from safetensors.torch import load_file, save_file
    state = load_file("model.safetensors")                         # Learner checkpoints open like any other
    model_state = {k: v for k, v in state.items() if not k.startswith("optim.")}
    optimizer_buffers = {k: v for k, v in state.items() if k.startswith("optim.")}   # optim.<i>.exp_avg, ...
    # metadata: safetensors.safe_open(path, "pt").metadata() -> {"learner.optimizer": "{...json...}", ...}
"""
import json
import struct
import sys

import torch

from fixture_io import write

DTYPES = {
    torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64",
    torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8", torch.bool: "BOOL",
}
FROM_DTYPE = {v: k for k, v in DTYPES.items()}


def tensor_bytes(t):
    t = t.detach().contiguous()
    if t.dtype == torch.bfloat16:
        # numpy has no bfloat16: reinterpret the 16-bit patterns.
        return t.view(torch.int16).numpy().astype("<i2").tobytes()
    return t.numpy().newbyteorder("<").tobytes() if t.numel() else b""


def write_safetensors(path, tensors, metadata=None, data_order=None):
    """Writes tensors (dict name -> torch.Tensor) following the spec; data_order lays the bytes out in another order."""
    order = data_order or list(tensors)
    blobs, offsets, pos = {}, {}, 0
    for name in order:
        b = tensor_bytes(tensors[name])
        blobs[name] = b
        offsets[name] = [pos, pos + len(b)]
        pos += len(b)
    header = {}
    if metadata:
        header["__metadata__"] = metadata
    for name, t in tensors.items():
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": offsets[name]}
    h = json.dumps(header, ensure_ascii=False).encode("utf-8")
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for name in order:
            f.write(blobs[name])


def read_safetensors(path):
    """Reads a safetensors file (for example a Learner checkpoint) into ({name: torch.Tensor}, metadata)."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    metadata = header.pop("__metadata__", {}) or {}
    data = raw[8 + n:]
    out = {}
    for name, e in header.items():
        begin, end = e["data_offsets"]
        dtype = FROM_DTYPE[e["dtype"]]
        buf = bytearray(data[begin:end])
        if dtype == torch.bfloat16:
            t = torch.frombuffer(buf, dtype=torch.int16).view(torch.bfloat16) if buf else torch.empty(0, dtype=dtype)
        else:
            t = torch.frombuffer(buf, dtype=dtype) if buf else torch.empty(0, dtype=dtype)
        out[name] = t.reshape(e["shape"]).clone()
    return out, metadata


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--read":
        tensors, metadata = read_safetensors(sys.argv[2])
        for k, v in tensors.items():
            print(f"{k}: {v.dtype} {list(v.shape)} sum={v.double().sum().item():.9g}")
        for k, v in metadata.items():
            print(f"__metadata__[{k}] = {v}")
        return

    g = torch.Generator().manual_seed(2024)
    tensors = {
        "weight": torch.randn(3, 4, generator=g),
        "half": (torch.randn(5, generator=g) * 100).to(torch.float16),
        "bf": torch.randn(2, 3, generator=g).to(torch.bfloat16),
        "dbl": torch.tensor([1.0 / 3.0, -2.5e-8, 1e30, -0.0], dtype=torch.float64),
        "long": torch.tensor([-16777216, 0, 123456], dtype=torch.int64),
        "int": torch.tensor([[7, -8], [16777216, -1]], dtype=torch.int32),
        "short": torch.tensor([-32768, 32767], dtype=torch.int16),
        "byte": torch.tensor([-128, 5, 127], dtype=torch.int8),
        "ubyte": torch.tensor([0, 200, 255, 1], dtype=torch.uint8),
        "flag": torch.tensor([True, False, True]),
        "scalar": torch.tensor(3.25),
        "empty": torch.zeros(0, 3),
        "nested.layer.0.bias": torch.arange(6, dtype=torch.float32).reshape(2, 3),
    }
    order = list(reversed(list(tensors)))
    write_safetensors("interop.safetensors", tensors, {"format": "pt", "note": "héllo ✓"}, data_order=order)
    back, meta = read_safetensors("interop.safetensors")
    assert all(torch.equal(back[k], v) for k, v in tensors.items()) and meta["note"] == "héllo ✓"

    torch.manual_seed(5)
    mlp = torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.Linear(4, 3))
    write_safetensors("torch_mlp.safetensors", dict(mlp.state_dict()), {"format": "pt"})
    x = torch.randn(6, 5, generator=g)
    with torch.no_grad():
        y = mlp(x)

    expected = {k: v.to(torch.float32) for k, v in tensors.items() if v.numel() > 0 or v.dim() == 0}
    expected["mlp_input"] = x
    expected["mlp_output"] = y
    write("safetensors_expected.json", "generate_safetensors_fixtures.py",
          [{"name": "interop", "params": {"dtypes": {k: DTYPES[v.dtype] for k, v in tensors.items()}}, "tensors": expected}])
    print("wrote interop.safetensors, torch_mlp.safetensors, safetensors_expected.json")


if __name__ == "__main__":
    main()
