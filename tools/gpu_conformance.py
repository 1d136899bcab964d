#!/usr/bin/env python3
"""The conformance suite on a device: kiln and PyTorch run the same programs with the default
device set to it (torch.set_default_device / kiln::set_default_device), and their outputs must
be identical. On the GPU machine nothing can be built, so the kiln programs are built here into
the GPU bundle and PyTorch's outputs are computed there, live, with the same device.

  gpu_conformance.py build --build BUILD_DIR --out DIR
      builds every case of ../shared/conformance/expected.json against the kiln build tree
      into DIR/<case> (each program sets its default device from $KILN_DEFAULT_DEVICE first)
  gpu_conformance.py run --bin DIR [--device cuda] [--cases CASES_PY] [--out FILE] [--jobs N]
      runs each case's Python program on PyTorch and its kiln program, both with the default
      device `device`, prints one line per difference (with a diff), then 'N passed, M failed';
      exits 1 when any case fails (or when PyTorch is missing)

  gpu_conformance.py emulated --bin DIR [--expected FILE] [--host-kernels]
      runs the same programs on an emulated CUDA device (KILN_EMULATE_CUDA=1, default device
      cuda; runtime/cuda/emulated_driver.h; with --host-kernels on the CUDA backend's own kernels
      compiled for the host) and compares them with expected.json, PyTorch's
      CPU outputs, as CUDA output reads once the device suffix is removed (CUDA_CASES lists the
      cases whose CUDA output differs by design); exits 1 when any case fails

With --device cpu the PyTorch outputs should be expected.json's (a check of this script).
"""
import argparse, concurrent.futures, contextlib, difflib, io, json, os, pathlib, re, subprocess, sys, traceback

HERE = pathlib.Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared" / "conformance"


def load_run_module(shared):
    import importlib.util
    spec = importlib.util.spec_from_file_location("conformance_run", shared / "run.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def build(args):
    shared = pathlib.Path(args.shared).resolve()
    run = load_run_module(shared)
    cases = json.load(open(shared / "expected.json"))
    # The device comes from the environment before anything else runs, so that the program
    # itself is the shared suite's, unchanged.
    prelude = run.PRELUDE.replace(
        "int main() {\n",
        "int main() {\n  if (const char* d = std::getenv(\"KILN_DEFAULT_DEVICE\")) "
        "set_default_device(Device(d));\n", 1)
    prelude = prelude.replace("#include <cmath>\n", "#include <cmath>\n#include <cstdlib>\n", 1)
    work = pathlib.Path(args.work).resolve()
    (work / "cases").mkdir(parents=True, exist_ok=True)
    for c in cases:
        src = prelude + "    " + c["cpp"] + run.EPILOGUE
        f = work / "cases" / f'{c["name"]}.cpp'
        if not f.exists() or f.read_text() != src:
            f.write_text(src)
    (work / "CMakeLists.txt").write_text(run.CMAKE)
    kiln_dir = pathlib.Path(args.build).resolve()
    subprocess.run(["cmake", "-S", str(work), "-B", str(work / "build"), f"-Dkiln_DIR={kiln_dir}",
                    "-DCMAKE_BUILD_TYPE=Release"], check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["cmake", "--build", str(work / "build"), "-j", str(args.jobs)], check=True,
                   stdout=subprocess.DEVNULL)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for c in cases:
        exe = work / "build" / c["name"]
        (out / c["name"]).write_bytes(exe.read_bytes())
        (out / c["name"]).chmod(0o755)
    (out / "cases.json").write_text(json.dumps([{"name": c["name"]} for c in cases]))
    # The Python programs travel with the bundle (the GPU machine has no shared folder).
    (out / "cases.py").write_text((shared / "cases.py").read_text())
    print(f"gpu_conformance: built {len(cases)} case programs into {out}")
    return 0


def torch_outputs(cases_py, device):
    """Each case's Python program on PyTorch with `device` as the default device."""
    try:
        import numpy as np  # only the from_numpy cases need it
    except ImportError:
        np = None
    import torch
    from torch import nn
    namespace = {}
    exec(compile(open(cases_py).read(), str(cases_py), "exec"), namespace)

    def P(x):
        print(str(x).replace("torch.", ""))

    def PS(t):
        print("[" + ", ".join(str(s) for s in t.shape) + "]")

    def PB(b):
        print("True" if b else "False")

    outputs = {}
    for c in namespace["CASES"]:
        if hasattr(torch, "set_default_device"):  # PyTorch >= 2.0
            torch.set_default_device(device)
        elif device != "cpu":
            raise ImportError(f"PyTorch {torch.__version__} has no set_default_device")
        buf = io.StringIO()
        env = {"torch": torch, "nn": nn, "np": np, "P": P, "PS": PS, "PB": PB}
        with contextlib.redirect_stdout(buf):
            try:
                exec(c["py"], env)
            except Exception:  # the kiln program prints "error" for any exception too
                print("error")
        outputs[c["name"]] = buf.getvalue()
    if hasattr(torch, "set_default_device"):
        torch.set_default_device("cpu")
    return outputs


def run(args):
    args.cases = args.cases or str(pathlib.Path(args.bin) / "cases.py")
    try:
        expected = torch_outputs(pathlib.Path(args.cases), args.device)
    except ImportError as e:
        print(f"gpu_conformance: PyTorch is needed on this machine: {e}")
        return 1
    bindir = pathlib.Path(args.bin)
    names = [c["name"] for c in json.load(open(bindir / "cases.json"))]
    env = dict(os.environ, KILN_DEFAULT_DEVICE=args.device)
    passed = failed = 0
    results = {}

    def kiln_output(name):
        try:
            r = subprocess.run([str(bindir / name)], capture_output=True, text=True, timeout=300,
                               env=env)
            out = r.stdout + ("" if r.returncode == 0 else f"<exit {r.returncode}>\n")
            return out + (r.stderr[-2000:] if r.returncode != 0 else "")
        except subprocess.TimeoutExpired:
            return "<timeout>\n"

    # The programs run side by side (most of their time is NVRTC compiling their kernels).
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        outputs = dict(zip(names, pool.map(kiln_output, names)))
    for name in names:
        if name not in expected:
            print(f"FAIL {name}: no Python program in {args.cases}")
            failed += 1
            continue
        out = outputs[name]
        results[name] = {"torch": expected[name], "kiln": out}
        if out == expected[name]:
            passed += 1
            continue
        failed += 1
        print(f"FAIL {name}")
        sys.stdout.writelines(difflib.unified_diff(expected[name].splitlines(True),
                                                   out.splitlines(True), "torch", "kiln"))
    if args.out:
        pathlib.Path(args.out).write_text(json.dumps(results, indent=1))
    print(f"conformance on {args.device}: {passed} passed, {failed} failed")
    return 0 if failed == 0 and passed > 0 else 1


# Cases whose output on CUDA differs from PyTorch's CPU output by design: the expected CUDA
# output, or None where it cannot be known without a GPU (the GPU's conformance stage compares
# them with PyTorch on CUDA).
CUDA_CASES = {
    # CUDA tensors draw from the device's Philox generator, not the CPU's Mersenne Twister.
    "random_matches_pytorch": None,
    # PyTorch has no integer matmul on CUDA ("addmm_cuda" not implemented for 'Long').
    "matmul_2d": "error\n",
}


def without_device(text):
    """A printed CUDA tensor as the same tensor prints on the CPU: suffixes that PyTorch wrapped
    onto their own line are joined first (the device suffix makes the last line longer)."""
    text = re.sub(r",\n +(device=|dtype=|requires_grad=|grad_fn=)", r", \1", text)
    return text.replace(", device='cuda:0'", "")


def emulated(args):
    cases = json.load(open(args.expected))
    env = dict(os.environ, KILN_EMULATE_CUDA="1", KILN_DEFAULT_DEVICE="cuda")
    where = "the emulated CUDA device"
    if args.host_kernels:
        # The CUDA backend's own kernels, compiled for the host (backends/cuda/host_kernels.h).
        env["KILN_EMULATE_CUDA_KERNELS"] = "1"
        where += " (CUDA kernels on the host)"
    passed = failed = skipped = 0
    for c in cases:
        name = c["name"]
        want = CUDA_CASES.get(name, c["expected"])
        if want is None:
            skipped += 1
            continue
        exe = pathlib.Path(args.bin) / name
        try:
            r = subprocess.run([str(exe)], capture_output=True, text=True, timeout=300, env=env)
            out = r.stdout + ("" if r.returncode == 0 else f"<exit {r.returncode}>\n{r.stderr[-2000:]}")
        except subprocess.TimeoutExpired:
            out = "<timeout>\n"
        if without_device(out) == without_device(want):
            passed += 1
            continue
        failed += 1
        print(f"FAIL {name}")
        sys.stdout.writelines(difflib.unified_diff(want.splitlines(True), out.splitlines(True),
                                                   "expected", "kiln on emulated cuda"))
    print(f"conformance on {where}: {passed} passed, {failed} failed, "
          f"{skipped} left to the GPU ({', '.join(n for n, v in CUDA_CASES.items() if v is None)})")
    return 0 if failed == 0 and passed > 0 else 1


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build")
    b.add_argument("--build", required=True)
    b.add_argument("--out", required=True)
    b.add_argument("--shared", default=str(SHARED))
    b.add_argument("--work", default=os.path.join(os.environ.get("TMPDIR", "/tmp"),
                                                  "kiln-gpu-conformance"))
    b.add_argument("--jobs", default=os.cpu_count() or 2)
    r = sub.add_parser("run")
    r.add_argument("--bin", required=True)
    r.add_argument("--device", default="cuda")
    r.add_argument("--cases", default="", help="cases.py (default: the one in --bin)")
    r.add_argument("--out", default="")
    r.add_argument("--jobs", type=int, default=1, help="kiln programs run at once")
    e = sub.add_parser("emulated")
    e.add_argument("--bin", required=True)
    e.add_argument("--expected", default=str(SHARED / "expected.json"))
    e.add_argument("--host-kernels", action="store_true",
                   help="run the CUDA backend's own kernels on the host (KILN_EMULATE_CUDA_KERNELS=1)")
    a = ap.parse_args()
    try:
        return {"build": build, "run": run, "emulated": emulated}[a.cmd](a)
    except subprocess.CalledProcessError as e:
        traceback.print_exc()
        return e.returncode or 1


if __name__ == "__main__":
    sys.exit(main())
