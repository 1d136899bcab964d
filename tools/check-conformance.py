#!/usr/bin/env python3
"""Runs shared/conformance/run.py against a build tree and fails only when a required case
(tests/conformance/required.txt) fails; cases of features not built yet are listed as pending.

usage: check-conformance.py --build DIR [--shared DIR]
"""
import argparse, pathlib, re, subprocess, sys

def main():
    root = pathlib.Path(__file__).resolve().parent.parent
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--shared", default=str(root.parent / "shared"))
    a = ap.parse_args()
    runner = pathlib.Path(a.shared) / "conformance" / "run.py"
    if not runner.exists():
        print(f"conformance: {runner} not found; skipped (0 cases run)")
        return 0
    prefixes = [l.strip() for l in (root / "tests/conformance/required.txt").read_text().splitlines()
                if l.strip() and not l.startswith("#")]
    r = subprocess.run([sys.executable, str(runner), "--build", a.build],
                       capture_output=True, text=True)
    out = r.stdout + r.stderr
    failed = set(re.findall(r"^FAIL (\S+?)(?::|$)", out, re.M))
    m = re.search(r"^(\d+) passed, (\d+) failed$", out, re.M)
    if not m:
        print(out[-4000:])
        print("conformance: the runner did not finish")
        return 1
    required_failed = sorted(n for n in failed if any(n.startswith(p) for p in prefixes))
    pending = sorted(failed - set(required_failed))
    if required_failed:
        print(out[-6000:])
        print("conformance: required cases failed: " + ", ".join(required_failed))
    if pending:
        print("conformance: pending (later issues): " + ", ".join(pending))
    print(f"conformance: {m.group(1)} passed, {m.group(2)} failed "
          f"({len(required_failed)} required failed, {len(pending)} pending)")
    return 1 if required_failed else 0

if __name__ == "__main__":
    sys.exit(main())
