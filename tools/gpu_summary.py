#!/usr/bin/env python3
"""Summary table of kiln-cuda-bench and gpu_torch_bench.py outputs (JSON lines)."""
import json
import sys

rows = []
for path in sys.argv[1:]:
    for line in open(path):
        line = line.strip()
        if line.startswith("{"):
            rows.append(json.loads(line))
device = next((r for r in rows if "device" in r), {})
print(f"device: {device.get('device', '?')} (sm_{device.get('sm', '?')})")
results = [r for r in rows if "workload" in r]
for workload in dict.fromkeys(r["workload"] for r in results):
    group = [r for r in results if r["workload"] == workload]
    kiln = next((r for r in group if r["impl"] == "kiln"), None)
    print(f"\n{workload}")
    print(f"  {'impl':<14} {'ms':>10} {'metric':>12} {'kiln / impl':>12}")
    for r in group:
        metric = "GBps" if "GBps" in r else "TFLOPS"
        ratio = f"{kiln[metric] / r[metric]:>11.2f}x" if kiln and r[metric] else ""
        # kiln's matmul rows name the kernel that ran and carry its ratio to cuBLAS
        kernel = f"  kernel {r['kernel']}" if "kernel" in r else ""
        if r.get("vs_cublas"):
            kernel += f", {r['vs_cublas']:.2f} of cuBLAS"
        print(f"  {r['impl']:<14} {r['ms']:>10.3f} {r[metric]:>8.2f} {metric:<4} {ratio}{kernel}")
goals = {"chain_256M_f32": ("cuMemcpyDtoD", 0.8), "matmul_4096_f32": ("cublas", 0.5),
         "matmul_4096_bf16": ("cublas", 0.5)}
kernels = [r for r in results if r["impl"] == "kiln" and "kernel" in r and r.get("vs_cublas")]
if kernels:
    print("\nkiln's matmul kernels against cuBLAS:")
    for r in kernels:
        print(f"  {r['workload']:<34} {r['kernel']:<9} {r['ms']:>8.3f} ms  {r['vs_cublas']:.2f}")
print("\ngoals (issue 7):")
for workload, (ref, goal) in goals.items():
    k = next((r for r in results if r["workload"] == workload and r["impl"] == "kiln"), None)
    b = next((r for r in results if r["workload"] == workload and r["impl"] == ref), None)
    if not k or not b:
        print(f"  {workload}: no measurement")
        continue
    metric = "GBps" if "GBps" in k else "TFLOPS"
    ratio = k[metric] / b[metric]
    print(f"  {workload}: kiln/{ref} = {ratio:.2f} (goal {goal}) {'MET' if ratio >= goal else 'NOT MET'}")
