#!/usr/bin/python3
"""Writes the PyTorch fixtures that tests/frontend/io_torch_test.cpp loads.

Run with the system Python and its torch (python3-torch, 1.13 on Debian 12):
    /usr/bin/python3 tests/data/make_pth_fixtures.py
Every value is chosen to be exact in its dtype, so the C++ test states the same values.
torch.save writes no timestamps, so the files are reproducible byte for byte, except
linear_legacy.pth, whose storage keys are memory addresses (only its refusal is tested).
"""
import collections
import os

import torch

HERE = os.path.dirname(os.path.abspath(__file__))

FLOATS = [0.0, -0.0, 1.5, -2.25, 1024.0, float("inf"), float("-inf"), float("nan")]
INTS = {
    torch.int8: [0, 1, -1, 127, -128],
    torch.int16: [0, 1, -1, 32767, -32768],
    torch.int32: [0, 1, -1, 2**31 - 1, -(2**31)],
    torch.int64: [0, 1, -1, 2**63 - 1, -(2**63)],
    torch.uint8: [0, 1, 127, 128, 255],
}


def save(obj, name, **kwargs):
    torch.save(obj, os.path.join(HERE, name), **kwargs)


def linear():
    # A real module's state dict: an OrderedDict with a _metadata attribute (BUILD).
    lin = torch.nn.Linear(3, 2)
    with torch.no_grad():
        lin.weight.copy_(torch.arange(6.0).reshape(2, 3) / 8 - 0.25)
        lin.bias.copy_(torch.tensor([0.5, -1.5]))
    return lin.state_dict()


def all_dtypes():
    sd = collections.OrderedDict()
    for dtype in (torch.float32, torch.float64, torch.float16, torch.bfloat16):
        sd[str(dtype).replace("torch.", "")] = torch.tensor(FLOATS, dtype=dtype)
    for dtype, values in INTS.items():
        sd[str(dtype).replace("torch.", "")] = torch.tensor(values, dtype=dtype)
    sd["bool"] = torch.tensor([True, False, True])
    return sd


def views():
    # Tensors sharing one storage: slices, transposes, steps, an expand (stride 0), a scalar
    # view, plus a 0-d tensor and an empty one with their own storages.
    t = torch.arange(12.0)
    return collections.OrderedDict(
        [
            ("a", t),
            ("b", t[1:]),
            ("c", t.view(3, 4).t()),
            ("d", t.view(3, 4)[:, ::2]),
            ("e", t[2:3].expand(2, 3)),
            ("f", t[5]),
            ("scalar", torch.tensor(7)),
            ("empty", torch.zeros(0, 3)),
        ]
    )


def parameters():
    # Parameters pickled as such (not through state_dict()): _rebuild_parameter.
    return collections.OrderedDict(
        [("w", torch.nn.Parameter(torch.ones(2, 2))), ("n", torch.tensor([1, 2]))]
    )


def many():
    # More than 256 memoized objects: LONG_BINPUT / LONG_BINGET.
    return collections.OrderedDict((f"t{i}", torch.full((2,), float(i))) for i in range(100))


def main():
    save(linear(), "linear.pth")
    save(all_dtypes(), "all_dtypes.pth")
    save(views(), "views.pth")
    save(parameters(), "parameters.pth")
    save(many(), "many.pth")
    # Protocol 4 adds FRAME, SHORT_BINUNICODE, MEMOIZE and STACK_GLOBAL.
    save(linear(), "linear_protocol4.pth", pickle_protocol=4)
    # The legacy (pre-1.6) format, which kiln refuses with a clear message.
    save(linear(), "linear_legacy.pth", _use_new_zipfile_serialization=False)


if __name__ == "__main__":
    main()
