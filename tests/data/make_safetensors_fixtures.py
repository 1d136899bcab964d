#!/usr/bin/python3
"""Writes safetensors fixtures with an independent writer (struct + json, no kiln code).

    /usr/bin/python3 tests/data/make_safetensors_fixtures.py

layout.safetensors is what kiln::save must write, byte for byte, for the state dict that
tests/frontend/io_test.cpp builds (the same names, dtypes and values, in the same order):
  - 8-byte little-endian header length, then compact JSON (separators "," and ":", UTF-8 kept,
    json.dumps(ensure_ascii=False) escaping) listing the tensors in insertion order, with
    "dtype", "shape", "data_offsets" in that order, padded with spaces to a multiple of 8;
  - the data laid out by decreasing element size, ties in insertion order.
reference.safetensors mimics the Hugging Face writer instead: "__metadata__" first, tensors
sorted by dtype (largest first) and then by name, in both header and data.
"""
import collections
import json
import os
import struct

import torch

HERE = os.path.dirname(os.path.abspath(__file__))

CODES = {
    torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
    torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
    torch.uint8: "U8", torch.bool: "BOOL",
}


def raw(t):
    t = t.contiguous()
    if t.dtype == torch.bfloat16:  # numpy has no bfloat16: same bits as int16
        t = t.view(torch.int16)
    return t.numpy().tobytes()


def encode(entries, header_order, data_order, metadata=None):
    offsets, data, pos = {}, b"", 0
    for name in data_order:
        b = raw(entries[name])
        offsets[name] = (pos, pos + len(b))
        data += b
        pos += len(b)
    header = collections.OrderedDict()
    if metadata is not None:
        header["__metadata__"] = metadata
    for name in header_order:
        t = entries[name]
        header[name] = collections.OrderedDict(
            [("dtype", CODES[t.dtype]), ("shape", list(t.shape)),
             ("data_offsets", list(offsets[name]))])
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + data


def layout_dict():
    return collections.OrderedDict(
        [
            ("weight", torch.arange(6, dtype=torch.float32).reshape(2, 3) * 0.5 - 1),
            ("bias", torch.tensor([0.5, -1.0, 2.0], dtype=torch.float16)),
            ("ids", torch.tensor([1, -2, 2**40, -(2**62)], dtype=torch.int64)),
            ("mask", torch.tensor([[True, False], [False, True]])),
            ("scale", torch.tensor(0.125, dtype=torch.float64)),
            ("bytes", torch.tensor([0, 1, 128, 254, 255], dtype=torch.uint8)),
            ("emb", torch.tensor([1.5, -3.0], dtype=torch.bfloat16)),
            ("i8", torch.tensor([-128, 0, 127], dtype=torch.int8)),
            ("i16", torch.tensor([-32768, 32767], dtype=torch.int16)),
            ("i32", torch.tensor([-(2**31), 2**31 - 1], dtype=torch.int32)),
            ("empty", torch.zeros(0, 4, dtype=torch.float32)),
            ("na\u00efve/\u043a\u043b\u044e\u0447", torch.tensor([42.0])),
            ('q"uote\\back\nslash\x01', torch.tensor([7], dtype=torch.int16)),
        ]
    )


def main():
    sd = layout_dict()
    names = list(sd)
    by_size = sorted(names, key=lambda n: -sd[n].element_size())  # stable: ties keep order
    with open(os.path.join(HERE, "layout.safetensors"), "wb") as f:
        f.write(encode(sd, names, by_size))

    ref = collections.OrderedDict(
        [
            ("b", torch.tensor([1, 2], dtype=torch.int32)),
            ("a", torch.tensor([0.25, 0.5], dtype=torch.float32)),
            ("c", torch.tensor([3], dtype=torch.int64)),
            ("d", torch.tensor([True, False])),
        ]
    )
    order = sorted(ref, key=lambda n: (-ref[n].element_size(), n))
    with open(os.path.join(HERE, "reference.safetensors"), "wb") as f:
        f.write(encode(ref, order, order, metadata={"format": "pt"}))


if __name__ == "__main__":
    main()
