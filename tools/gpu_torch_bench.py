#!/usr/bin/env python3
"""The workloads of kiln-cuda-bench on PyTorch (eager and torch.compile), one JSON line each."""
import json
import torch

assert torch.cuda.is_available(), "PyTorch sees no GPU"
torch.backends.cuda.matmul.allow_tf32 = False  # float32 matmul in float32, like kiln's kernel


def time_ms(fn, iters):
    fn()
    torch.cuda.synchronize()
    start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(iters):
        fn()
    stop.record()
    stop.synchronize()
    return start.elapsed_time(stop) / iters


def emit(impl, workload, ms, metric, value):
    print(json.dumps({"impl": impl, "workload": workload, "ms": round(ms, 4), metric: round(value, 2)}),
          flush=True)


n = 256 << 20
gb = 2 * n * 4 / 1e9
x = torch.full((n,), 0.5, device="cuda")


def chain(v):
    return (v * 2 + 1).exp() * v


compiled_chain = torch.compile(chain)
for impl, f in (("torch_eager", chain), ("torch_compile", compiled_chain)):
    ms = time_ms(lambda: f(x), 10)
    emit(impl, "chain_256M_f32", ms, "GBps", gb / (ms / 1e3))
y = torch.empty_like(x)
ms = time_ms(lambda: y.copy_(x), 10)
emit("torch_copy", "chain_256M_f32", ms, "GBps", gb / (ms / 1e3))
del x, y

m = torch.randn(4096, 4096, device="cuda")
softmax_gb = 2 * m.numel() * 4 / 1e9


def softmax(v):
    return torch.softmax(v, 1)


compiled_softmax = torch.compile(softmax)
for impl, f in (("torch_eager", softmax), ("torch_compile", compiled_softmax)):
    ms = time_ms(lambda: f(m), 10)
    emit(impl, "softmax_4096x4096_f32", ms, "GBps", softmax_gb / (ms / 1e3))
del m

s = 4096
flop = 2 * s ** 3
for dtype, name in ((torch.float32, "matmul_4096_f32"), (torch.bfloat16, "matmul_4096_bf16")):
    a = torch.randn(s, s, device="cuda", dtype=dtype)
    b = torch.randn(s, s, device="cuda", dtype=dtype)
    mm = torch.compile(torch.matmul)
    for impl, f in (("torch_eager", torch.matmul), ("torch_compile", mm)):
        ms = time_ms(lambda: f(a, b), 5)
        emit(impl, name, ms, "TFLOPS", flop / (ms / 1e3) / 1e12)
