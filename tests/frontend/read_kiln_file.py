#!/usr/bin/env python3
"""Reads a .kiln file with no kiln code, as any safetensors reader would: the 8-byte header
length, the JSON header, the little-endian tensor bytes. Checks that the kiln metadata is there
and that every binding names a stored tensor of the graph input's type, and compares the
weights with PyTorch's initialisation of the same model.

usage: read_kiln_file.py FILE
FILE: tests/data/traced_mlp.kiln, Sequential(Linear(4, 8), ReLU, Linear(8, 3)) after
manual_seed(0) (kiln's Linear draws PyTorch's initial weights), traced on float32[2, 4].
With torch importable, the weights are compared with torch's own; otherwise with the values
below, printed by torch 1.13 (and the safetensors package, when installed, reads the file too).
"""
import json
import re
import struct
import sys

# torch.manual_seed(0); torch.nn.Linear(4, 8).weight.flatten()[:4], and Linear(8, 3).bias
# (drawn after it), as float32 values.
RECORDED = {
    "0.weight": [-0.003743410110473633, 0.26822179555892944, -0.4115225672721863,
                 -0.3679695129394531],
    "2.bias": [0.19409091770648956, -0.04462457820773125, 0.013499214313924313],
}
IR_TYPE = re.compile(r"%\d+ = input\(\) \{index=(\d+)\} : (\w+)\[([\d, ]*)\]")
IR_DTYPES = {"f32": "F32", "f64": "F64", "i64": "I64"}


def read(path):
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    data = blob[8 + n:]
    metadata = header.pop("__metadata__")
    tensors = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        assert info["dtype"] == "F32", (name, info["dtype"])
        values = struct.unpack(f"<{(end - begin) // 4}f", data[begin:end])
        tensors[name] = (info["dtype"], info["shape"], list(values))
    return metadata, tensors


def expected_weights():
    try:
        import torch
    except ImportError:
        return RECORDED, "values recorded from torch 1.13"
    torch.manual_seed(0)
    first = torch.nn.Linear(4, 8)
    second = torch.nn.Linear(8, 3)
    return {"0.weight": first.weight.detach().flatten().tolist(),
            "2.bias": second.bias.detach().tolist()}, f"torch {torch.__version__}"


def main():
    path = sys.argv[1]
    metadata, tensors = read(path)
    assert metadata["kiln.format"] == "1", metadata.get("kiln.format")
    ir = metadata["kiln.ir"]
    inputs = json.loads(metadata["kiln.inputs"])
    arguments = json.loads(metadata["kiln.arguments"])
    assert json.loads(metadata["kiln.outputs"]) == ["result:0"]
    assert arguments == [{"dtype": "F32", "shape": [2, 4]}], arguments
    types = {int(i): (IR_DTYPES[d], [int(s) for s in shape.split(",") if s.strip()])
             for i, d, shape in IR_TYPE.findall(ir)}
    assert len(types) == len(inputs), (types, inputs)
    for index, binding in enumerate(inputs):
        kind, _, name = binding.partition(":")
        if kind == "argument":
            assert types[index] == (arguments[int(name)]["dtype"], arguments[int(name)]["shape"])
            continue
        assert kind in ("parameter", "buffer", "constant"), binding
        dtype, shape, _ = tensors[name]
        assert types[index] == (dtype, shape), (binding, types[index], dtype, shape)
    assert sorted(tensors) == ["0.bias", "0.weight", "2.bias", "2.weight"], sorted(tensors)
    assert tensors["0.weight"][1] == [8, 4] and tensors["2.bias"][1] == [3]

    want, source = expected_weights()
    for name, values in want.items():
        got = tensors[name][2][:len(values)]
        assert got == values, (name, got, values)
    try:
        from safetensors.numpy import load_file
        loaded = load_file(path)
        assert loaded["0.weight"].flatten().tolist() == tensors["0.weight"][2]
        source += " and the safetensors package"
    except ImportError:
        pass
    print(f"{path}: {len(inputs)} inputs bound, {len(tensors)} tensors; weights equal {source}")


if __name__ == "__main__":
    main()
