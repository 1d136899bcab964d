#!/usr/bin/env python3
"""Writes a .kiln file (safetensors whose __metadata__ holds "kiln.ir") for the golden tests,
or a malformed one.

usage: make_kiln.py IR_FILE OUT [--corrupt=KIND]
KIND: truncated (ends inside the header), huge-length (header length past the end), bad-json,
      not-object (the header is a JSON array), no-metadata, no-ir, ir-not-string, weights-only
      (a valid safetensors file of weights without kiln metadata).
"""
import json
import struct
import sys


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--corrupt=")]
    corrupt = next((a.split("=", 1)[1] for a in sys.argv[1:] if a.startswith("--corrupt=")), "")
    ir_path, out_path = args
    with open(ir_path, encoding="utf-8") as f:
        ir = f.read()
    metadata = {"kiln.format": "1", "kiln.ir": ir, "kiln.unknown-key": "ignored"}
    header = {"weight": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
              "__metadata__": metadata}
    data = struct.pack("<2f", 1.0, 2.0)
    if corrupt == "no-metadata" or corrupt == "weights-only":
        del header["__metadata__"]
    elif corrupt == "no-ir":
        del metadata["kiln.ir"]
    elif corrupt == "ir-not-string":
        metadata["kiln.ir"] = ["not", "a", "string"]
    text = json.dumps(header).encode()
    if corrupt == "bad-json":
        text = text[:-1] + b","
    elif corrupt == "not-object":
        text = b"[1, 2, 3]"
    blob = struct.pack("<Q", len(text)) + text + data
    if corrupt == "truncated":
        blob = blob[:8 + len(text) // 2]
    elif corrupt == "huge-length":
        blob = struct.pack("<Q", 1 << 40) + text + data
    elif corrupt and corrupt not in ("no-metadata", "weights-only", "no-ir", "ir-not-string",
                                     "bad-json", "not-object"):
        sys.exit(f"make_kiln.py: unknown --corrupt={corrupt}")
    with open(out_path, "wb") as f:
        f.write(blob)


if __name__ == "__main__":
    main()
