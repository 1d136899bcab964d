#!/usr/bin/python3
"""Writes tests/format/cases.inc: tensors printed by PyTorch 1.13, for kiln_format_tests.

Run with the system Python that has torch (not the pyenv python3 on PATH):
    /usr/bin/python3 tests/format/make_cases.py

Each case is the tensor's dtype, sizes and values plus the exact text print(t) shows, with
`torch.` removed from the dtype. torch here has no CUDA, so cases on cuda:0 are assembled from
PyTorch's own pieces (_tensor_str and _add_suffixes) with the device suffix PyTorch would add
first; the same assembly is checked against str(t) for every CPU case.
"""

import math
import os
import struct

import torch
import torch._tensor_str as tensor_str

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cases.inc")

KILN_DTYPE = {
    torch.float32: "float32",
    torch.float64: "float64",
    torch.float16: "float16",
    torch.bfloat16: "bfloat16",
    torch.int8: "int8",
    torch.int16: "int16",
    torch.int32: "int32",
    torch.int64: "int64",
    torch.uint8: "uint8",
    torch.bool: "boolean",
}
FLOATING = [torch.float32, torch.float64, torch.float16, torch.bfloat16]
INTEGRAL = [torch.int8, torch.int16, torch.int32, torch.int64, torch.uint8]
ALL_DTYPES = FLOATING + INTEGRAL + [torch.bool]

NAN = float("nan")
INF = float("inf")

cases = []
names = set()


def pytorch_text(t, device):
    """_str_intern for a plain strided tensor, with the device suffix it adds off the CPU."""
    indent = len("tensor(")
    suffixes = []
    if device != "cpu":
        suffixes.append("device='" + device + "'")
    has_default_dtype = t.dtype in (torch.float32, torch.int64, torch.bool)
    if t.numel() == 0:
        if t.dim() != 1:
            suffixes.append("size=" + str(tuple(t.shape)))
        if t.dtype != torch.get_default_dtype():
            suffixes.append("dtype=" + str(t.dtype))
        contents = "[]"
    else:
        if not has_default_dtype:
            suffixes.append("dtype=" + str(t.dtype))
        contents = tensor_str._tensor_str(t, indent)
    if t.requires_grad:
        suffixes.append("requires_grad=True")
    text = tensor_str._add_suffixes("tensor(" + contents, suffixes, indent, False)
    if device == "cpu":
        assert text == str(t), (text, str(t))
    return text


def add(name, t, device="cpu"):
    assert name not in names, name
    assert name.replace("_", "").isalnum(), name
    names.add(name)
    cases.append((name, t, device, pytorch_text(t, device).replace("torch.", "")))


def make(values, dtype=torch.float32, requires_grad=False):
    return torch.tensor(values, dtype=dtype, requires_grad=requires_grad)


def float32_literal(value):
    """The shortest decimal that reads back as this float32, as a C++ float literal."""
    as_float = struct.unpack("f", struct.pack("f", value))[0]
    for digits in range(1, 10):
        text = "%.*g" % (digits, as_float)
        if struct.unpack("f", struct.pack("f", float(text)))[0] == as_float:
            break
    if "e" not in text and "." not in text:
        text += ".0"
    return text + "f"


def value_literal(value, dtype):
    if dtype.is_floating_point:
        if math.isnan(value):
            return "-kNaN" if math.copysign(1.0, value) < 0 else "kNaN"
        if math.isinf(value):
            return "kInf" if value > 0 else "-kInf"
        negative_zero = value == 0 and math.copysign(1.0, value) < 0
        if value == int(value) and abs(value) < 2**53 and not negative_zero:
            return str(int(value))  # exact in every floating dtype; keeps the file small
        if dtype == torch.float64:
            return repr(value)
        return float32_literal(value)
    value = int(value)
    if value == -(2**63):
        return "INT64_MIN"
    return str(value)


def wrap_list(literals, width=98):
    lines, line = [], ""
    for literal in literals:
        if line and len(line) + len(literal) + 1 > width:
            lines.append(line)
            line = ""
        line += literal + ","
    lines.append(line)
    return "\n  ".join(lines).rstrip(",")


def cpp_case(name, t, device, expected):
    flat = t.detach().reshape(-1)
    if t.dtype in (torch.float16, torch.bfloat16):
        flat = flat.float()  # the values kiln's caller passes: the float value of each element
    literals = wrap_list([value_literal(v, t.dtype) for v in flat.tolist()])
    floats, ints = ("{" + literals + "}", "{}") if t.dtype.is_floating_point else ("{}", "{" + literals + "}")
    sizes = "{" + ", ".join(str(s) for s in t.shape) + "}"
    assert ")KILN" not in expected
    return '{"%s", %s, %s,\n %s,\n %s, "%s", %s,\n R"KILN(%s)KILN"},\n' % (
        name, KILN_DTYPE[t.dtype], sizes, floats, ints, device,
        "true" if t.requires_grad else "false", expected)


# ---------------------------------------------------------------------------------------------
# The cases.

torch.manual_seed(1913)


def scalars():
    for dtype in FLOATING:
        tag = KILN_DTYPE[dtype]
        for label, v in [("ten", 10.0), ("neg", -3.0), ("zero", 0.0), ("negzero", -0.0),
                         ("half", 1.5), ("pi", math.pi), ("nan", NAN), ("inf", INF),
                         ("neginf", -INF), ("tiny", 1e-5), ("big", 1e10), ("whole9", 123456789.0),
                         ("third", -1.0 / 3)]:
            add("scalar_%s_%s" % (tag, label), make(v, dtype))
    for dtype in INTEGRAL:
        tag = KILN_DTYPE[dtype]
        for label, v in [("ten", 10), ("zero", 0), ("neg", -7), ("max", torch.iinfo(dtype).max),
                         ("min", torch.iinfo(dtype).min)]:
            if dtype == torch.uint8 and v < 0:
                continue
            add("scalar_%s_%s" % (tag, label), make(v, dtype))
    add("scalar_bool_true", make(True, torch.bool))
    add("scalar_bool_false", make(False, torch.bool))
    add("scalar_float32_requires_grad", make(2.5, requires_grad=True))


def every_dtype_every_rank():
    for dtype in ALL_DTYPES:
        tag = KILN_DTYPE[dtype]
        for shape in [(5,), (2, 3), (2, 3, 4), (2, 2, 2, 3), (1, 2, 1, 2, 2)]:
            numel = math.prod(shape)
            if dtype == torch.bool:
                t = torch.rand(shape) > 0.5
            elif dtype.is_floating_point:
                t = (torch.randn(shape) * 3).to(dtype)
            elif dtype == torch.uint8:
                t = torch.randint(0, 256, shape, dtype=dtype)
            else:
                lo = max(torch.iinfo(dtype).min, -1000)
                hi = min(torch.iinfo(dtype).max, 1000)
                t = torch.randint(lo, hi, shape, dtype=dtype)
            add("rank%d_%s" % (len(shape), tag), t)
            if dtype.is_floating_point:
                whole = torch.arange(numel, dtype=torch.float64).reshape(shape) - numel // 2
                add("rank%d_%s_whole" % (len(shape), tag), whole.to(dtype))
    add("rank1_single", make([4.25]))
    add("rank2_1x1", make([[7]], torch.int64))
    add("rank3_1x1x1", make([[[True]]], torch.bool))
    add("rank2_column", make([[1.5], [-2.0], [3.25]]))
    add("rank6_ones", torch.ones(1, 2, 1, 2, 1, 2, dtype=torch.int32))
    add("rank7_deep", torch.arange(128, dtype=torch.float64).reshape((2,) * 7) / 8 - 3)
    # Deep nesting shrinks the line: fewer elements per line at the inner level.
    add("rank5_deep_wrap", (torch.randn(1, 1, 1, 2, 20) * 1000).double())


def empties():
    for dtype in ALL_DTYPES:
        tag = KILN_DTYPE[dtype]
        add("empty_1d_%s" % tag, torch.zeros(0, dtype=dtype))
        add("empty_0x3_%s" % tag, torch.zeros(0, 3, dtype=dtype))
    for shape in [(3, 0), (0, 0), (2, 0, 4), (1, 0), (0, 1, 2, 3)]:
        label = "x".join(str(s) for s in shape)
        add("empty_%s_float32" % label, torch.zeros(shape))
        add("empty_%s_int32" % label, torch.zeros(shape, dtype=torch.int32))
    add("empty_1d_requires_grad", torch.zeros(0, requires_grad=True))
    add("empty_2x0_float64_requires_grad",
        torch.zeros(2, 0, dtype=torch.float64, requires_grad=True))
    add("empty_1d_cuda", torch.zeros(0), "cuda:0")
    add("empty_0x3_int64_cuda", torch.zeros(0, 3, dtype=torch.int64), "cuda:0")
    # Long size tuples push the dtype onto its own line.
    add("empty_long_size", torch.zeros(1000, 2000, 0, 3000, 1, 2000, 7000, dtype=torch.int16))
    add("empty_long_size_requires_grad",
        torch.zeros(1000, 2000, 0, 3000, 1, 2000, 7000, 10, dtype=torch.float64,
                    requires_grad=True))


def float_modes():
    for dtype in [torch.float32, torch.float64]:
        tag = KILN_DTYPE[dtype]
        rows = {
            # int mode
            "int_small": [1.0, 2.0, 3.0],
            "int_signed": [-1.0, 10.0, -100.0, 5.0],
            "int_ratio_1000": [1.0, 1000.0],
            "int_ratio_over_1000": [2.0, 2001.0],
            "int_big_1e8": [1e8, 3.0e7],
            "int_over_1e8": [1e8 + 8, 5.0],
            "int_huge": [1e9, 3e9],
            "int_negzero": [-0.0, 2.0, -5.0],
            "int_with_nan_inf": [1.0, NAN, -INF, INF, 12.0],
            "int_with_zero": [0.0, 7.0, 0.0],
            "int_sci_nan": [1.0, 1e6, NAN, -0.0, -INF],
            # fixed mode
            "fixed_simple": [0.5, 1.25, -3.75],
            "fixed_mixed": [0.1, 2.0, 30.0],
            "fixed_small_min": [1e-4, 0.05],
            "fixed_just_above": [1.5e-4, 0.1],
            "fixed_ratio_1000": [0.1, 100.0],
            "fixed_ratio_over": [0.1, 100.5],
            "fixed_rounding": [0.00015, 0.00025, 0.12345, 0.12355, 2.5, 9.99995, 99.99995],
            "fixed_nan_inf": [NAN, 1.5, -INF, -0.0, 0.0, INF],
            "fixed_negzero": [-0.0, 0.25],
            "fixed_big": [12345.678, 99999.5, -45678.123],
            "fixed_1e8": [1e8 - 0.5, 1e6],
            # scientific mode
            "sci_tiny": [1e-5, 1.0],
            "sci_tiny_only": [1e-7, 3e-6],
            "sci_ratio": [0.1, 2000.5],
            "sci_big": [1.5e8, 1.0],
            "sci_huge": [1.5e10, -2.25e12],
            "sci_nan_inf": [1e-5, NAN, INF, -INF, -0.0, 0.0],
            "sci_negative": [-1e-5, -123456.7, 3.0],
            "sci_rounding": [1.23455e-5, 9.99995e-5, 5.5e3],
            # no nonzero finite values
            "zeros": [0.0, 0.0, 0.0],
            "zeros_signed": [0.0, -0.0],
            "nans": [NAN, NAN],
            "infs": [INF, -INF],
            "nonfinite_mix": [0.0, NAN, INF, -0.0, -INF],
        }
        for label, values in rows.items():
            add("%s_%s" % (label, tag), make(values, dtype))
        add("zeros_2d_%s" % tag, torch.zeros(3, 4, dtype=dtype))
        add("nans_2d_%s" % tag, torch.full((2, 3), NAN, dtype=dtype))
    add("sci_extreme_float64", make([1e300, -1e-300, 5e-324, 2.0], torch.float64))
    add("sci_max_float32", make([3.4028234663852886e38, 1.1754943508222875e-38]))
    add("sci_denormal_float32", make([1e-45, 1.0]))
    add("int_exp_width_float64", make([1e100, 1.0], torch.float64))
    add("fixed_2d_nan_float64",
        make([[1.5, NAN, -2.25], [INF, 0.0, -0.0], [3.125, 100.0, -INF]], torch.float64))
    add("sci_3d_float32", torch.randn(2, 2, 3) * 1e-6)


def half_types():
    for dtype in [torch.float16, torch.bfloat16]:
        tag = KILN_DTYPE[dtype]
        rows = {
            "fractions": [0.1, 0.2, 0.3, -1.7],
            "whole": [1.0, 2.0, 2048.0],
            "large": [65504.0 if dtype == torch.float16 else 3.0e38, 1.0],
            "tiny": [6e-8 if dtype == torch.float16 else 1e-30, 0.5],
            "specials": [NAN, INF, -INF, -0.0, 1.5],
            "thirds": [1 / 3, 2 / 3, 100 / 3],
            "rounding": [0.0999, 1.0001, 3.14159],
            "int_sci": [1.0, 4096.0],
        }
        for label, values in rows.items():
            add("%s_%s" % (tag, label), make(values, dtype))
        add("%s_random_2d" % tag, (torch.randn(4, 5) * 10).to(dtype))
        add("%s_random_sci" % tag, (torch.randn(6) * 1e-3).to(dtype))
        add("%s_requires_grad" % tag, make([0.5, -1.25], dtype, requires_grad=True))
        add("%s_cuda" % tag, make([0.5, -1.25, 3.0], dtype), "cuda:0")


def integers_and_bools():
    add("int64_extremes", make([-(2**63), 2**63 - 1, 0], torch.int64))
    add("int32_extremes", make([-(2**31), 2**31 - 1], torch.int32))
    add("int8_extremes", make([-128, 127, 0, -1], torch.int8))
    add("uint8_range", make([0, 255, 17, 3], torch.uint8))
    add("int16_alignment", make([[1, -22, 333], [-4444, 5, 66]], torch.int16))
    add("int64_zeros", torch.zeros(2, 3, dtype=torch.int64))
    add("bool_2d", make([[True, False, True], [False, False, False]], torch.bool))
    add("bool_all_true", torch.ones(4, dtype=torch.bool))
    add("bool_all_false", torch.zeros(2, 2, dtype=torch.bool))
    add("bool_wrap", torch.rand(40) > 0.5)


def wrapping():
    for n in [30, 100]:
        add("wrap_arange_%d_int64" % n, torch.arange(n))
        add("wrap_random_%d_float32" % n, torch.randn(n))
        add("wrap_sci_%d_float64" % n, torch.randn(n, dtype=torch.float64) * 1e5)
    add("wrap_arange_100_float32", torch.arange(100.0))
    add("wrap_int8_60", torch.randint(-128, 128, (60,), dtype=torch.int8))
    add("wrap_negative_float64", -torch.rand(25, dtype=torch.float64) * 1000)
    add("wrap_nan_sticks_out", make([1.0, 2.0, NAN] * 15))
    add("wrap_inf_padded", make([123.5, -INF, 7.25] * 10))
    add("wrap_2d_wide", torch.randn(3, 30))
    add("wrap_2d_wide_int", torch.randint(-100000, 100000, (4, 25)))
    add("wrap_3d_wide", torch.randn(2, 2, 25, dtype=torch.float64) * 1e-7)
    add("wrap_4d_wide", torch.arange(2 * 2 * 2 * 30).reshape(2, 2, 2, 30).to(torch.int16))
    # One element wider than the line: one per line.
    add("wrap_one_per_line", make([1e-10 * 1.5] + [1.0] * 5, torch.float64))
    add("wrap_deep_very_wide",
        torch.arange(36, dtype=torch.int64).reshape(1, 1, 1, 1, 1, 1, 1, 1, 1, 36) * 10**15)


def edges_only(t, planted=()):
    """t with every element the summary hides set to 0, then `planted` (flat index, value) pairs
    written into hidden places: smaller fixtures, and checks that hidden values change nothing."""
    index = torch.arange(t.numel()).reshape(t.shape)
    visible = set(tensor_str.get_summarized_data(index).reshape(-1).tolist())
    flat = t.detach().clone().reshape(-1)
    hidden = torch.tensor([i not in visible for i in range(t.numel())])
    flat[hidden] = 0
    for i, value in planted:
        assert i not in visible
        flat[i] = value
    return flat.reshape(t.shape)


def summarization():
    add("summary_1000_not_summarized", torch.arange(1000))
    add("summary_1001_int64", torch.arange(1001))
    add("summary_1001_float32", torch.arange(1001.0) / 8)
    add("summary_5000_int32",
        edges_only(torch.arange(5000, dtype=torch.int32) - 2500, [(2000, -999999)]))
    add("summary_5000_float64_sci", edges_only(torch.arange(5000, dtype=torch.float64) * 1e-6))
    add("summary_2d_100x100", edges_only(torch.arange(10000).reshape(100, 100) % 97))
    add("summary_2d_100x100_float",
        edges_only(torch.randn(100, 100) * 10, [(5050, NAN), (5051, 1e-9), (5052, 1e12)]))
    add("summary_3d", edges_only((torch.arange(1100) % 13).reshape(10, 10, 11).to(torch.int16)))
    add("summary_3d_float", edges_only((torch.arange(1210.0) % 17).reshape(10, 11, 11) / 16))
    add("summary_4d_small_dims", (torch.arange(1600) % 50).reshape(2, 2, 2, 200).to(torch.uint8))
    add("summary_4d_float", edges_only((torch.arange(2401.0) % 7 - 3).reshape(7, 7, 7, 7) / 2))
    add("summary_bool", torch.arange(1500).reshape(30, 50) % 3 == 0)
    add("summary_5000_float16", edges_only((torch.arange(5000) % 100 * 0.25).to(torch.float16)))
    add("summary_bfloat16_2d", (torch.arange(1200) % 30 - 15).reshape(40, 30).to(torch.bfloat16))
    add("summary_wide_edges",
        edges_only(torch.arange(2000, dtype=torch.float64).reshape(2, 1000) * 1e3))
    add("summary_requires_grad", torch.arange(1002.0).requires_grad_())
    add("summary_cuda", edges_only(torch.arange(3000).reshape(3, 1000)), "cuda:0")

    # Values the summary hides must not change the format (get_summarized_data).
    hidden = torch.zeros(1001, dtype=torch.float64)
    hidden[:3] = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    hidden[-3:] = torch.tensor([4.0, 5.0, 6.0], dtype=torch.float64)
    hidden[500] = 1e-9
    hidden[501] = NAN
    hidden[502] = 1.5
    add("summary_hidden_outliers_float64", hidden)
    hidden_int = torch.zeros(40, 40, dtype=torch.int64)
    hidden_int[20, 20] = -(10**15)
    hidden_int[0, 20] = 10**12
    hidden_int[:3, :3] = 5
    add("summary_hidden_outliers_int64", hidden_int)
    hidden_3d = torch.ones(8, 8, 20)
    hidden_3d[4] = 0.5
    hidden_3d[:, 4, :] = 1e9
    hidden_3d[:, :, 10] = 1e-7
    add("summary_hidden_outliers_3d", hidden_3d)
    # A dim of up to 6 is shown whole even when summarizing.
    small = (torch.arange(6 * 200, dtype=torch.float64) % 31).reshape(6, 200)
    small[5, 100] = 0.25
    small[2, 2] = 1e12
    add("summary_short_dims_kept", small)
    small_inner = torch.arange(200 * 6).reshape(200, 6) % 11
    small_inner[100, 3] = 12345
    small_inner[1, 5] = -77
    add("summary_short_inner_dim_kept", small_inner)


def suffixes():
    add("suffix_requires_grad", make([1.0, 2.0], requires_grad=True))
    add("suffix_requires_grad_float64", make([[1.5, 2.0], [3.0, 4.0]], torch.float64, True))
    add("suffix_cuda_float32", make([1.0, 2.5]), "cuda:0")
    add("suffix_cuda_int32", make([1, 2], torch.int32), "cuda:0")
    add("suffix_cuda_int64_2d", make([[1, 2], [3, 4]], torch.int64), "cuda:0")
    add("suffix_cuda_scalar", make(3.5, torch.float64), "cuda:0")
    add("suffix_cuda_requires_grad", make([1.0, 2.5], requires_grad=True), "cuda:0")
    add("suffix_cuda_all", make([0.5] * 3, torch.float16, requires_grad=True), "cuda:0")
    add("suffix_cuda_wide", torch.randn(2, 8, dtype=torch.float64), "cuda:0")
    add("suffix_cuda_wide_all", torch.randn(2, 8, dtype=torch.float64).requires_grad_(),
        "cuda:0")

    # Last lines of every length around the limit, so each suffix lands on both sides of it.
    for dtype in [torch.float64, torch.int32, torch.float16]:
        tag = KILN_DTYPE[dtype]
        for n in range(1, 12):
            values = [1.5 + i for i in range(n)] if dtype.is_floating_point else list(range(n))
            if dtype == torch.int32:
                values = [v * 1000 for v in values]
            add("suffix_line_%s_%d" % (tag, n), make(values, dtype))
            if dtype.is_floating_point:
                add("suffix_line_%s_%d_grad" % (tag, n), make(values, dtype, True))
                add("suffix_line_%s_%d_cuda_grad" % (tag, n), make(values, dtype, True), "cuda:0")
            add("suffix_line_%s_%d_cuda" % (tag, n), make(values, dtype), "cuda:0")
    for n in range(4, 12):
        values = [[100.5 + i for i in range(n)]] * 2
        add("suffix_2d_line_float64_%d_grad" % n, make(values, torch.float64, True))
        add("suffix_2d_line_float64_%d_cuda" % n, make(values, torch.float64), "cuda:0")
    # Whole lines exactly as wide as the wrap allows.
    add("suffix_full_line_float64", torch.arange(12, dtype=torch.float64) / 3)
    add("suffix_full_line_grad", (torch.arange(12.0) / 3).requires_grad_())


def random_values():
    for i, scale in enumerate([1.0, 1e-3, 1e3, 1e-6, 1e9]):
        add("random_%d_float32" % i, torch.randn(3, 7) * scale)
        add("random_%d_float64" % i, torch.randn(2, 2, 5, dtype=torch.float64) * scale)
    add("random_uniform_float64", torch.rand(4, 6, dtype=torch.float64))
    add("random_int32_3d", torch.randint(-(2**31), 2**31 - 1, (2, 3, 4), dtype=torch.int32))
    add("random_int64_wide", torch.randint(-(2**62), 2**62, (12,), dtype=torch.int64))
    add("random_uint8_2d", torch.randint(0, 256, (5, 16), dtype=torch.uint8))
    add("random_bool_3d", torch.rand(3, 4, 5) > 0.3)
    add("random_mixed_nan", torch.where(torch.rand(5, 5) > 0.7, torch.tensor(NAN), torch.randn(5, 5)))
    add("random_half_3d", torch.randn(2, 3, 4).to(torch.float16))
    add("random_bfloat16_4d", (torch.randn(2, 2, 2, 3) * 100).to(torch.bfloat16))


scalars()
every_dtype_every_rank()
empties()
float_modes()
half_types()
integers_and_bools()
wrapping()
summarization()
suffixes()
random_values()

with open(OUT, "w") as out:
    out.write("// Generated by tests/format/make_cases.py from PyTorch %s; do not edit.\n"
              "// {name, dtype, sizes, floats, ints, device, requires_grad, expected}\n"
              % torch.__version__)
    for case in cases:
        out.write(cpp_case(*case))
print("%d cases, %d bytes -> %s" % (len(cases), os.path.getsize(OUT), OUT))
