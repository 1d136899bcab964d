#!/usr/bin/env python3
"""Runs the lit-style RUN lines of one golden IR test file (tests/golden/<dir>/<name>.kir).

Each line `// RUN: <command>` (a trailing backslash continues it on the next RUN line) is run
with bash under `set -o pipefail`, after these substitutions:
  %irdump     the kiln-irdump binary          %FileCheck  LLVM's FileCheck
  %s          the test file                   %S          the test file's directory
  %t          a scratch path for this test    %python     this Python interpreter
Commands may use `not [--code=N] CMD...`: succeeds when CMD fails with an exit code below 128
(and equal to N if given); a crash, a sanitizer report or a success fails the test.
The test passes when every RUN line exits with 0.
"""
import argparse
import os
import re
import shlex
import subprocess
import sys

NOT_FUNCTION = r"""
not() {
  local want=""
  if [[ "$1" == --code=* ]]; then want="${1#--code=}"; shift; fi
  "$@"
  local rc=$?
  if [ "$rc" -eq 0 ]; then echo "not: '$*' succeeded" >&2; return 1; fi
  if [ "$rc" -ge 128 ]; then echo "not: '$*' crashed (exit $rc)" >&2; return 1; fi
  if [ -n "$want" ] && [ "$rc" -ne "$want" ]; then
    echo "not: '$*' exited with $rc, expected $want" >&2; return 1
  fi
  return 0
}
"""


def run_lines(path):
    """The commands of the file's RUN lines, continuations joined."""
    commands, pending = [], ""
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"\s*(?://|#)\s*RUN:\s?(.*)$", line)
            if not m:
                continue
            text = m.group(1).rstrip()
            if text.endswith("\\"):
                pending += text[:-1] + " "
                continue
            commands.append(pending + text)
            pending = ""
    if pending:
        commands.append(pending)
    return commands


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--irdump", required=True)
    parser.add_argument("--filecheck", required=True)
    parser.add_argument("--tmp", required=True, help="scratch path prefix (%%t)")
    parser.add_argument("test")
    args = parser.parse_args()

    test = os.path.abspath(args.test)
    commands = run_lines(test)
    if not commands:
        print(f"{test}: no RUN lines", file=sys.stderr)
        return 1
    os.makedirs(os.path.dirname(os.path.abspath(args.tmp)), exist_ok=True)
    substitutions = [
        ("%irdump", shlex.quote(args.irdump)),
        ("%FileCheck", shlex.quote(args.filecheck)),
        ("%python", shlex.quote(sys.executable)),
        ("%S", shlex.quote(os.path.dirname(test))),
        ("%s", shlex.quote(test)),
        ("%t", shlex.quote(os.path.abspath(args.tmp))),
    ]
    for number, command in enumerate(commands, 1):
        for key, value in substitutions:
            command = command.replace(key, value)
        print(f"RUN {number}: {command}", flush=True)
        result = subprocess.run(["bash", "-c", NOT_FUNCTION + "set -o pipefail\n" + command],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if result.stdout:
            print(result.stdout, end="" if result.stdout.endswith("\n") else "\n")
        if result.returncode != 0:
            print(f"FAILED: RUN line {number} of {test} exited with {result.returncode}",
                  file=sys.stderr)
            return 1
    print(f"PASSED: {len(commands)} RUN lines")
    return 0


if __name__ == "__main__":
    sys.exit(main())
