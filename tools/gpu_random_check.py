#!/usr/bin/env python3
"""Compares kiln's CUDA random numbers with PyTorch's on the same GPU.

Usage: gpu_random_check.py OUTDIR   (after `kiln-gpu-random-check OUTDIR`)

Replays OUTDIR/manifest.txt (written by tools/gpu_random_check.cpp) with torch on cuda:0, call
for call and in the same order, and compares each result with OUTDIR/NAME.bin byte for byte.
Prints one line per tensor and exits 1 on any mismatch (2 when torch or CUDA is missing).
"""
import os
import sys

try:
    import torch
except ImportError:
    print("gpu_random_check: PyTorch is not installed", file=sys.stderr)
    sys.exit(2)

DTYPES = {
    "float32": torch.float32, "float64": torch.float64, "float16": torch.float16,
    "bfloat16": torch.bfloat16, "int8": torch.int8, "int16": torch.int16,
    "int32": torch.int32, "int64": torch.int64, "uint8": torch.uint8, "bool": torch.bool,
}


def replay(op, dtype, n, args):
    dev = "cuda"
    if op == "rand":
        return torch.rand(n, dtype=dtype, device=dev)
    if op == "randn":
        return torch.randn(n, dtype=dtype, device=dev)
    if op == "randint":
        low, high = int(args[0]), int(args[1])
        return torch.randint(low, high, (n,), dtype=dtype, device=dev)
    if op == "uniform":
        return torch.nn.init.uniform_(torch.empty(n, dtype=dtype, device=dev),
                                      float(args[0]), float(args[1]))
    if op == "normal":
        return torch.nn.init.normal_(torch.empty(n, dtype=dtype, device=dev),
                                     float(args[0]), float(args[1]))
    if op == "kaiming_uniform":
        w = torch.empty(int(args[0]), int(args[1]), dtype=dtype, device=dev)
        return torch.nn.init.kaiming_uniform_(w, a=float(args[2]))
    if op == "xavier_normal":
        w = torch.empty(int(args[0]), int(args[1]), dtype=dtype, device=dev)
        return torch.nn.init.xavier_normal_(w)
    if op == "bernoulli_dropout":
        # kiln's CUDA dropout: the mask of empty_like(x).bernoulli_(1 - p), scaled by 1 / (1 - p)
        # (ATen's non-fused _dropout; torch's own CUDA dropout is the fused kernel).
        p = float(args[0])
        x = torch.ones(n, dtype=dtype, device=dev)
        noise = torch.empty_like(x).bernoulli_(1 - p)
        noise.div_(1 - p)
        return x * noise
    raise ValueError(f"unknown op {op}")


BITS = {torch.float32: torch.int32, torch.float64: torch.int64, torch.float16: torch.int16,
        torch.bfloat16: torch.int16}


def describe(kiln, ref):
    """Counts the elements whose bits differ (floating values compare as bit patterns)."""
    if kiln.dtype in BITS:
        bad = kiln.view(BITS[kiln.dtype]) != ref.view(BITS[kiln.dtype])
    else:
        bad = kiln != ref
    count = int(bad.sum())
    text = f"{count} of {kiln.numel()} differ"
    if count:
        first = int(bad.nonzero()[0])
        text += f" (first at {first}: kiln {kiln[first].item()!r}, torch {ref[first].item()!r}"
        if kiln.is_floating_point():
            diff = (kiln.double() - ref.double()).abs().max().item()
            text += f"; max abs diff {diff:.3g}"
        text += ")"
    return count, text


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    if not torch.cuda.is_available():
        print("gpu_random_check: torch sees no CUDA device", file=sys.stderr)
        return 2
    out = sys.argv[1]
    print(f"gpu_random_check: torch {torch.__version__}, {torch.cuda.get_device_name(0)}")
    failures = 0
    with open(os.path.join(out, "manifest.txt")) as f:
        for line in f:
            words = line.split()
            if not words:
                continue
            if words[0] == "seed":
                torch.manual_seed(int(words[1]))
                continue
            name, op, dtype_name, n, args = words[0], words[1], words[2], int(words[3]), words[4:]
            dtype = DTYPES[dtype_name]
            ref = replay(op, dtype, n, args).reshape(-1).cpu()
            with open(os.path.join(out, name + ".bin"), "rb") as b:
                data = bytearray(b.read())
            kiln = torch.frombuffer(data, dtype=dtype) if data else torch.empty(0, dtype=dtype)
            if kiln.numel() != ref.numel():
                print(f"FAIL {name}: kiln wrote {kiln.numel()} elements, torch made {ref.numel()}")
                failures += 1
                continue
            count, text = describe(kiln, ref)
            print(f"{'ok  ' if count == 0 else 'FAIL'} {name} ({op} {dtype_name} n={n}): {text}")
            failures += count != 0
    torch.cuda.synchronize()
    if failures:
        print(f"gpu_random_check: {failures} tensor(s) differ from PyTorch")
        return 1
    print("gpu_random_check: every tensor equals PyTorch's bit for bit")
    return 0


if __name__ == "__main__":
    sys.exit(main())
