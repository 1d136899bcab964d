#!/usr/bin/python3
"""Writes the seed corpus of kiln_load_fuzzer (tests/fuzz/corpus/): small valid safetensors and
torch.save files covering every dtype, views, parameters, metadata and pickle protocols 2 and 4.

    /usr/bin/python3 tests/fuzz/make_corpus.py

Small seeds keep the fuzzer fast and let its mutations hit every structure often.
"""
import collections
import json
import os
import struct

import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")

CODES = {
    torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
    torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
    torch.uint8: "U8", torch.bool: "BOOL",
}


def raw(t):
    t = t.contiguous()
    if t.dtype == torch.bfloat16:
        t = t.view(torch.int16)
    return t.numpy().tobytes()


def safetensors(name, tensors, metadata=None):
    header, data = collections.OrderedDict(), b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for key, t in tensors.items():
        b = raw(t)
        header[key] = {"dtype": CODES[t.dtype], "shape": list(t.shape),
                       "data_offsets": [len(data), len(data) + len(b)]}
        data += b
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data)


def one_of_each():
    return collections.OrderedDict(
        (CODES[d], torch.ones(1, dtype=d)) for d in CODES)


def main():
    os.makedirs(OUT, exist_ok=True)
    safetensors("dtypes.safetensors", one_of_each())
    safetensors("metadata.safetensors",
                collections.OrderedDict([("w", torch.arange(4.0).reshape(2, 2)),
                                         ("s", torch.tensor(3, dtype=torch.int64))]),
                metadata={"format": "pt"})
    safetensors("empty.safetensors", {})
    safetensors("shapes.safetensors",
                collections.OrderedDict([("scalar", torch.tensor(1.5)),
                                         ("none", torch.zeros(0, 2)),
                                         ("b", torch.tensor([True, False]))]))
    torch.save(torch.nn.Linear(2, 1).state_dict(), os.path.join(OUT, "linear.pth"))
    t = torch.arange(4.0)
    torch.save(collections.OrderedDict([("a", t), ("b", t[1:]), ("c", t.view(2, 2).t()),
                                        ("d", t[:1].expand(3))]),
               os.path.join(OUT, "views.pth"))
    torch.save(one_of_each(), os.path.join(OUT, "dtypes.pth"))
    torch.save({"p": torch.nn.Parameter(torch.ones(1))}, os.path.join(OUT, "param.pth"))
    torch.save({"x": torch.ones(1, dtype=torch.int16)}, os.path.join(OUT, "protocol4.pth"),
               pickle_protocol=4)


if __name__ == "__main__":
    torch.manual_seed(0)
    main()
