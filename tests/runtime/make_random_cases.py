#!/usr/bin/python3
"""Writes random_cases.inc: what PyTorch's CPU generator draws, for runtime/random_test.cpp.

Run with the interpreter that has torch 1.13 (here /usr/bin/python3, not the python3 on PATH):
    /usr/bin/python3 tests/runtime/make_random_cases.py

Every value is written as its exact bit pattern (floating types) or integer, so the test can
demand equality. Float32 randn with 16 or more elements runs PyTorch's AVX2 kernel, the one x86
builds use by default; the script pins that capability and refuses to run under another.
"""

import os
import sys

os.environ["ATEN_CPU_CAPABILITY"] = "avx2"  # must precede `import torch`
import torch  # noqa: E402

OUTPUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "random_cases.inc")

DTYPES = {
    "kFloat32": torch.float32,
    "kFloat64": torch.float64,
    "kFloat16": torch.float16,
    "kBFloat16": torch.bfloat16,
    "kInt64": torch.int64,
    "kInt32": torch.int32,
    "kInt16": torch.int16,
    "kInt8": torch.int8,
    "kUInt8": torch.uint8,
}
FLOATING = ["kFloat32", "kFloat64", "kFloat16", "kBFloat16"]
BITS_VIEW = {  # a same-width integer view gives the bit pattern
    "kFloat32": (torch.int32, 8),
    "kFloat64": (torch.int64, 16),
    "kFloat16": (torch.int16, 4),
    "kBFloat16": (torch.int16, 4),
}


def cxx_double(x):
    return float(x).hex()


def cxx_int64(v):
    return "INT64_MIN" if v == -(2**63) else str(v)


def cxx_string(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def expected_field(tensor, elem):
    """The step's expected elements in memory order: `.bits` for floating types, else `.values`."""
    flat = tensor.reshape(-1)
    if elem in BITS_VIEW:
        view_dtype, digits = BITS_VIEW[elem]
        mask = (1 << (4 * digits)) - 1
        bits = ", ".join("0x%0*x" % (digits, v & mask) for v in flat.view(view_dtype).tolist())
        return ".bits = {%s}" % bits
    return ".values = {%s}" % ", ".join(cxx_int64(v) for v in flat.tolist())


class Case:
    def __init__(self, name):
        self.name = name
        self.steps = []

    def seed(self, seed):
        torch.manual_seed(seed)
        self.steps.append("{.op = Op::kSeed, .seed = %dULL}" % seed)
        return self

    def rand(self, elem, n, low=0.0, high=1.0):
        t = torch.empty(n, dtype=DTYPES[elem]).uniform_(low, high)
        return self._floating("kRand", elem, n, low, high, t)

    def randn(self, elem, n, mean=0.0, std=1.0):
        t = torch.empty(n, dtype=DTYPES[elem]).normal_(mean, std)
        return self._floating("kRandn", elem, n, mean, std, t)

    def randn_noncontiguous(self, elem, rows, cols, mean=0.0, std=1.0):
        storage = torch.empty(rows, cols, dtype=DTYPES[elem])
        view = storage.t()
        assert not view.is_contiguous()
        view.normal_(mean, std)
        # TensorIterator visits a transposed tensor in memory order, i.e. `storage`'s order.
        return self._floating("kRandnNoncontiguous", elem, rows * cols, mean, std, storage)

    def randint(self, elem, low, high, n):
        t = torch.randint(low, high, (n,), dtype=DTYPES[elem])
        self.steps.append(
            "{.op = Op::kRandint, .elem = Elem::%s, .n = %d, .low = %s, .high = %s, %s}"
            % (elem, n, cxx_int64(low), cxx_int64(high), expected_field(t, elem))
        )
        return self

    def _floating(self, op, elem, n, a, b, t):
        self.steps.append(
            "{.op = Op::%s, .elem = Elem::%s, .n = %d, .a = %s, .b = %s, %s}"
            % (op, elem, n, cxx_double(a), cxx_double(b), expected_field(t, elem))
        )
        return self

    def render(self):
        steps = ",\n      ".join(self.steps)
        return "  {%s,\n    {\n      %s}}" % (cxx_string(self.name), steps)


def build_cases():
    cases = []

    def case(name):
        cases.append(Case(name))
        return cases[-1]

    # The check value from the notes: randn(2, 3) after manual_seed(0).
    case("notes check: seed 0 randn(2, 3)").seed(0).randn("kFloat32", 6)

    # A fresh generator (torch.Generator()) starts from the default seed 67280421310721.
    fresh = Case("fresh generator, no manual_seed")
    generator = torch.Generator()
    assert generator.initial_seed() == 67280421310721
    for elem, n in [("kFloat32", 5), ("kFloat64", 3)]:
        t = torch.empty(n, dtype=DTYPES[elem]).uniform_(0, 1, generator=generator)
        fresh._floating("kRand", elem, n, 0.0, 1.0, t)
    t = torch.empty(3, dtype=torch.float64).normal_(0, 1, generator=generator)
    fresh._floating("kRandn", "kFloat64", 3, 0.0, 1.0, t)
    cases.append(fresh)

    # rand: every floating dtype, seeds below and above 2^32 (only the low 32 bits seed the engine).
    for elem in FLOATING:
        for seed in [0, 42, 2**40 + 7]:
            c = case("rand %s seed %d" % (elem, seed)).seed(seed)
            for n in [1, 7, 33]:
                c.rand(elem, n)
        case("uniform_(-3.7, 11.3) %s" % elem).seed(3).rand(elem, 33, -3.7, 11.3)

    # randn: both paths and the recomputed tail for every size up to 40.
    for elem in ["kFloat32", "kFloat64"]:
        for n in range(1, 41):
            case("randn(%d) %s" % (n, elem)).seed(0).randn(elem, n)
    for elem in ["kFloat16", "kBFloat16"]:
        for n in [1, 3, 15, 16, 17, 31, 32, 33, 40]:
            case("randn(%d) %s" % (n, elem)).seed(0).randn(elem, n)
    # More values through the replayed AVX2 kernel, with mean and std folded in.
    case("randn(257) float32").seed(0).randn("kFloat32", 257)
    for elem in FLOATING:
        case("normal_(0.3, 2.7) %s" % elem).seed(5).randn(elem, 5, 0.3, 2.7).randn(elem, 37, 0.3, 2.7)
    # Element 94 tells a fused from an unfused `* std + mean` after rounding to float16.
    case("normal_(-1.3, 3.1) float16").seed(34).randn("kFloat16", 96, -1.3, 3.1)

    # The cached Box-Muller sample: it survives between calls, is skipped (not consumed) by the
    # vectorised path, and manual_seed drops it.
    for elem in ["kFloat32", "kFloat64"]:
        case("randn(3) twice %s" % elem).seed(0).randn(elem, 3).randn(elem, 3)
        case("randn(1), randn(16), randn(1) %s" % elem).seed(0).randn(elem, 1).randn(elem, 16).randn(elem, 1)
        case("manual_seed drops the cached sample %s" % elem).seed(0).randn(elem, 3).seed(0).randn(elem, 3)
    case("rand between normals keeps the cache").seed(1).randn("kFloat64", 1).rand("kFloat32", 4).randn("kFloat64", 1)

    # A non-contiguous tensor takes the scalar path whatever its size.
    for elem in ["kFloat32", "kFloat64", "kFloat16"]:
        case("normal_ on a transposed 5x4 %s" % elem).seed(0).randn_noncontiguous(elem, 5, 4)

    # randint: 32-bit draws below 2^32, 64-bit draws at or above it (for the dtypes that can).
    int64_ranges = [
        (0, 10), (-5, 2), (-100, 100), (0, 2**32 - 1), (0, 2**32), (0, 2**32 + 1),
        (-(2**40), 2**40), (-(2**63), 2**63 - 1), (2**62, 2**63 - 1), (-(2**63), -(2**63) + 3),
    ]
    c = case("randint int64").seed(0)
    for low, high in int64_ranges:
        c.randint("kInt64", low, high, 9)
    c = case("randint int32").seed(7)
    for low, high in [(0, 10), (-7, 7), (-(2**31), 2**31 - 1), (0, 2**31 - 1)]:
        c.randint("kInt32", low, high, 9)
    c = case("randint small integers").seed(8)
    c.randint("kInt16", -(2**15), 2**15 - 1, 9).randint("kInt8", -128, 127, 9).randint("kUInt8", 0, 256, 9)
    c.randint("kUInt8", 3, 5, 9)
    c = case("randint floating dtypes").seed(9)
    c.randint("kFloat32", 0, 10, 5)  # torch.randint(0, 10, (5,), dtype=torch.float32)
    c.randint("kFloat32", -(2**30), 2**33, 9)  # wide: 64-bit draws, values rounded to float
    c.randint("kFloat64", -(2**60), 2**60, 9)
    c.randint("kFloat16", 0, 65504, 9)  # `to` moves down to the next float16 below 65504
    c.randint("kFloat16", -3000, 3000, 9)
    c.randint("kBFloat16", -300, 300, 9)
    c.randint("kBFloat16", 0, 2**40, 9)
    c.randint("kFloat32", 2**25 + 1, 2**26 + 3, 9)  # `from` moves up to the next float, 2^25 + 4

    return cases


def error_cases():
    """Messages PyTorch gives for bad arguments, as (C++ initializer, message)."""
    rows = []

    def expect_error(op, elem, call, **fields):
        try:
            call()
        except RuntimeError as e:
            message = str(e).splitlines()[0]
        else:
            raise AssertionError("no error for %s %s %s" % (op, elem, fields))
        parts = [".op = Op::%s" % op, ".elem = Elem::%s" % elem]
        for key in ["a", "b"]:
            if key in fields:
                parts.append(".%s = %s" % (key, cxx_double(fields[key])))
        for key in ["low", "high"]:
            if key in fields:
                parts.append(".%s = %s" % (key, cxx_int64(fields[key])))
        parts.append(".message = %s" % cxx_string(message))
        rows.append("  {%s}" % ", ".join(parts))

    def randint(elem, low, high):
        expect_error("kRandint", elem, lambda: torch.randint(low, high, (3,), dtype=DTYPES[elem]),
                     low=low, high=high)

    def uniform(elem, a, b):
        expect_error("kRand", elem, lambda: torch.empty(3, dtype=DTYPES[elem]).uniform_(a, b), a=a, b=b)

    def normal(elem, mean, std):
        expect_error("kRandn", elem, lambda: torch.empty(3, dtype=DTYPES[elem]).normal_(mean, std),
                     a=mean, b=std)

    randint("kInt64", 5, 5)
    randint("kInt64", 7, -2)
    randint("kInt32", 0, 2**40)
    randint("kInt16", -40000, 3)
    randint("kInt8", -200, 0)
    randint("kUInt8", 0, 300)
    randint("kUInt8", -1, 3)
    randint("kFloat16", 0, 2**30)
    randint("kFloat16", -100000, 0)
    randint("kFloat32", 2**25 + 1, 2**25 + 3)  # `from` moves up past `to`
    uniform("kFloat32", 2.0, 1.0)
    uniform("kFloat32", -3e38, 3e38)
    uniform("kBFloat16", -1e39, 0.0)
    uniform("kFloat16", 0.0, 70000.0)
    normal("kFloat32", 0.0, -1.0)
    normal("kFloat64", 0.0, -0.5)
    return rows


def initial_seed_cases():
    rows = []
    for seed in [0, 7, 2**32 + 5, 2**63, 2**64 - 5, -1, -(2**63)]:
        torch.manual_seed(seed)
        rows.append("  {%dULL, %dULL}" % (seed % 2**64, torch.initial_seed()))
    return rows


def main():
    config = torch.__config__.show()
    if "CPU capability usage: AVX2" not in config:
        sys.exit("expected PyTorch's AVX2 CPU kernels; got:\n" + config)
    cases = build_cases()
    errors = error_cases()
    seeds = initial_seed_cases()
    with open(OUTPUT, "w") as out:
        out.write("// Generated by tests/runtime/make_random_cases.py from PyTorch %s (CPU capability AVX2).\n"
                  "// Do not edit; rerun the script.\n// clang-format off\n\n" % torch.__version__)
        out.write("const std::vector<RandomCase> kRandomCases = {\n%s};\n\n" % ",\n".join(c.render() for c in cases))
        out.write("const std::vector<ErrorCase> kErrorCases = {\n%s};\n\n" % ",\n".join(errors))
        out.write("// {seed given to manual_seed (negative seeds as two's complement), initial_seed()}\n")
        out.write("const std::vector<std::pair<uint64_t, uint64_t>> kInitialSeeds = {\n%s};\n\n" % ",\n".join(seeds))
        out.write("// clang-format on\n")
    print("wrote %s: %d cases, %d error cases" % (OUTPUT, len(cases), len(errors)))


if __name__ == "__main__":
    main()
