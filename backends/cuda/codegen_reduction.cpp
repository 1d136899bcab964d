// The CUDA code generator's reductions (codegen.h): block per point, warp per point, the
// row functions of chains, and the split reduction's partial and combine kernels.
#include "absl/strings/str_cat.h"
#include "kiln/backends/cuda/codegen_emitter.h"

namespace kiln::backends::cuda::detail {

void Emitter::reduction(const std::string& symbol, Variant variant, const std::string& base) {
  const Op op = k_.reduce_op;
  const int32_t kept = k_.kept_dims();
  // Several stores are sums or products of one dtype (ir::verify_kernel): one accumulator
  // each (acc, acc_1, ...), fed from one evaluation of the expressions per element.
  const size_t stores = k_.stores.size();
  const DType in = k_.exprs[static_cast<size_t>(k_.stores[0].second)].dtype;
  const std::string ct = codegen::compute_type(in);
  const bool floating = ct != "i64";
  const bool extreme = op == Op::amax || op == Op::amin || op == Op::argmax || op == Op::argmin;
  const bool want_max = op == Op::amax || op == Op::argmax;
  const std::string acc_t = extreme ? ct : (floating ? "double" : "i64");
  std::string identity = "0";
  if (op == Op::prod) identity = "1";
  // Store 0 keeps the plain names (acc, o, s_acc); store s > 0 gets acc_s, o_s, s_acc_s ("o1"
  // would be argument 1's offset).
  auto name = [](const char* stem, size_t s) {
    return s == 0 ? std::string(stem) : absl::StrCat(stem, "_", s);
  };
  // Folds the state (o, oi) of store s into (acc, idx); idx -1: no element yet.
  auto combine = [&](size_t s) {
    const std::string acc = name("acc", s), o = name("o", s);
    if (op == Op::sum)
      return floating ? absl::StrCat(acc, " = ", acc, " + ", o, ";")
                      : absl::StrCat(acc, " = k_add(", acc, ", ", o, ");");
    if (op == Op::prod)
      return floating ? absl::StrCat(acc, " = ", acc, " * ", o, ";")
                      : absl::StrCat(acc, " = k_mul(", acc, ", ", o, ");");
    // The interpreter's sequential rule over any split: the first NaN, else the first index
    // of the extreme value.
    return absl::StrCat(
        "if (oi >= 0) { bool take; if (idx < 0) take = true; else { const bool an = acc != acc, "
        "bn = o != o; if (an || bn) take = bn && (!an || oi < idx); else if (o == acc) take = oi "
        "< idx; else take = o ",
        want_max ? ">" : "<", " acc; } if (take) { acc = o; idx = oi; } }");
  };
  auto init_accumulators = [&] {
    for (size_t s = 0; s < stores; ++s)
      c_.line(absl::StrCat(acc_t, " ", name("acc", s), " = (", acc_t, ")", identity, ";"));
  };
  auto store_result = [&](size_t s) {
    const size_t out = static_cast<size_t>(k_.stores[s].first);
    const DType out_t = k_.args[out].dtype;
    std::string result;
    if (op == Op::argmax || op == Op::argmin) {
      result = "(idx < 0 ? (i64)0 : idx)";
    } else if (extreme) {
      result = codegen::from_compute(out_t, "acc");
    } else {
      result = codegen::from_compute(out_t, absl::StrCat("(", ct, ")", name("acc", s)));
    }
    c_.line(absl::StrCat(ptr(out), "[b", out, "] = ", codegen::to_memory(out_t, result), ";"));
  };
  // work: the values of (point, split, store), then the indices of (point, split).
  const std::string work =
      absl::StrCat(acc_t, "* work_v = (", acc_t, "*)work; i64* work_i = (i64*)((char*)work + ",
                   "points * splits * ", 8 * stores, ");");
  auto work_slot = [&](const std::string& split, size_t s) {
    if (stores == 1) return absl::StrCat("work_v[pt * splits + ", split, "]");
    return absl::StrCat("work_v[(pt * splits + ", split, ") * ", stores, " + ", s, "]");
  };
  if (variant == Variant::kCombine) {
    header(symbol, base, ", const i64 splits, void* work");
    c_.line(absl::StrCat("const i64 points = ", product(0, kept), ";"));
    c_.line(work);
    c_.open(
        "for (i64 pt = (i64)blockIdx.x * blockDim.x + threadIdx.x; pt < points; pt += "
        "(i64)gridDim.x * blockDim.x)");
    coordinates("pt", 0, kept);
    for (size_t s = 0; s < stores; ++s) {
      const size_t out = static_cast<size_t>(k_.stores[s].first);
      c_.line(absl::StrCat("const i64 b", out, " = ", w(words_.offset(out)),
                           offset_sum(out, 0, kept), ";"));
    }
    init_accumulators();
    c_.line("i64 idx = -1;");
    c_.open("for (i64 s = 0; s < splits; ++s)");
    for (size_t s = 0; s < stores; ++s)
      c_.line(absl::StrCat("const ", acc_t, " ", name("o", s), " = ", work_slot("s", s), ";"));
    c_.line("const i64 oi = work_i[pt * splits + s];");
    c_.line("(void)oi;");
    for (size_t s = 0; s < stores; ++s) c_.line(combine(s));
    c_.close();
    for (size_t s = 0; s < stores; ++s) store_result(s);
    c_.close();
    c_.close();
    return;
  }
  const bool partial = variant == Variant::kPartial;
  const bool row = variant == Variant::kRow || variant == Variant::kRowWarp;
  const bool warp_only = variant == Variant::kWarp || variant == Variant::kRowWarp;
  if (row) {
    row_header(symbol);
  } else {
    header(symbol, base, partial ? ", const i64 chunk, void* work" : "");
  }
  c_.line(absl::StrCat("const i64 points = ", product(0, kept), ";"));
  c_.line(absl::StrCat("const i64 rn = ", product(kept, k_.rank), ";"));
  if (row) {
    c_.line(absl::StrCat("const i64 per_row = ", product(1, kept), ";"));
    c_.line("(void)points;");
  }
  if (warp_only) {
    c_.line("const unsigned nt = 32;");
  } else if (row) {
    // launch_shape's threads for this reduction: a multiple of 32, so the idle threads beyond
    // it are whole warps that the block combine leaves out.
    c_.line("const i64 nt_want = (rn + 31) / 32 * 32;");
    c_.line(absl::StrCat("const unsigned nt = nt_want < 32 ? 32u : nt_want > ", kThreads, " ? ",
                         kThreads, "u : (unsigned)nt_want;"));
  } else {
    c_.line("const unsigned nt = blockDim.x;");
  }
  if (partial) {
    c_.line("const i64 splits = gridDim.y;");
    c_.line(work);
    c_.line("const i64 r_begin = (i64)blockIdx.y * chunk;");
    c_.line("const i64 r_end = r_begin + chunk < rn ? r_begin + chunk : rn;");
  } else {
    c_.line("const i64 r_begin = 0, r_end = rn;");
  }
  if (!warp_only) {
    for (size_t s = 0; s < stores; ++s)
      c_.line(absl::StrCat("__shared__ ", acc_t, " ", name("s_acc", s), "[32];"));
    c_.line("__shared__ i64 s_idx[32];");
  }
  if (row) {
    c_.open("for (i64 pt = row * per_row; pt < (row + 1) * per_row; ++pt)");
  } else if (warp_only) {
    // Every lane of a warp has the same pt, so whole warps run the shuffles.
    c_.line("const i64 warps_in_grid = (i64)gridDim.x * (blockDim.x >> 5);");
    c_.open(
        "for (i64 pt = (i64)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5); pt < points; pt "
        "+= warps_in_grid)");
  } else {
    c_.open("for (i64 pt = blockIdx.x; pt < points; pt += gridDim.x)");
  }
  coordinates("pt", 0, kept);
  for (size_t a = 0; a < k_.args.size(); ++a)
    c_.line(
        absl::StrCat("const i64 b", a, " = ", w(words_.offset(a)), offset_sum(a, 0, kept), ";"));
  init_accumulators();
  c_.line("i64 idx = -1;");
  c_.line("(void)idx;");
  const std::string thread = warp_only ? "(threadIdx.x & 31)" : "threadIdx.x";
  c_.open(absl::StrCat("for (i64 r = ", thread, " < nt ? r_begin + ", thread,
                       " : r_end; r < r_end; r += nt)"));
  {
    c_.open("");
    coordinates("r", kept, k_.rank);
    for (size_t a = 0; a < k_.args.size(); ++a) {
      if (k_.args[a].is_output) continue;
      c_.line(absl::StrCat("const i64 o", a, " = b", a, offset_sum(a, kept, k_.rank), ";"));
    }
    body([&](int32_t a) { return absl::StrCat(ptr(static_cast<size_t>(a)), "[o", a, "]"); }, "");
    for (size_t s = 0; s < stores; ++s) {
      const std::string v = codegen::to_compute(in, absl::StrCat("v", k_.stores[s].second));
      if (extreme) {
        c_.line(absl::StrCat("const ", ct, " o = ", v, ";"));
        c_.line("const i64 oi = r;");
      } else {
        c_.line(absl::StrCat("const ", acc_t, " ", name("o", s), " = (", acc_t, ")", v, ";"));
      }
      c_.line(combine(s));
    }
    c_.close();
  }
  c_.close();
  // Warp, then block.
  auto warp_reduce = [&] {
    c_.open("for (int s = 16; s > 0; s >>= 1)");
    for (size_t s = 0; s < stores; ++s)
      c_.line(absl::StrCat("const ", acc_t, " ", name("o", s), " = __shfl_down_sync(0xffffffffu, ",
                           name("acc", s), ", s);"));
    if (extreme) c_.line("const i64 oi = __shfl_down_sync(0xffffffffu, idx, s);");
    for (size_t s = 0; s < stores; ++s) c_.line(combine(s));
    c_.close();
  };
  warp_reduce();
  if (warp_only) {
    c_.open("if ((threadIdx.x & 31) == 0)");
    for (size_t s = 0; s < stores; ++s) store_result(s);
    c_.close();
    c_.close();
    c_.close();
    return;
  }
  c_.line("const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;");
  c_.open("if (lane == 0)");
  for (size_t s = 0; s < stores; ++s)
    c_.line(absl::StrCat(name("s_acc", s), "[warp] = ", name("acc", s), ";"));
  c_.line("s_idx[warp] = idx;");
  c_.close();
  c_.line("__syncthreads();");
  c_.open("if (warp == 0)");
  c_.line("const int warps = (nt + 31) >> 5;");
  for (size_t s = 0; s < stores; ++s)
    c_.line(absl::StrCat(name("acc", s), " = lane < warps ? ", name("s_acc", s), "[lane] : (",
                         acc_t, ")", identity, ";"));
  c_.line("idx = lane < warps ? s_idx[lane] : -1;");
  warp_reduce();
  c_.open("if (lane == 0)");
  if (partial) {
    for (size_t s = 0; s < stores; ++s)
      c_.line(absl::StrCat(work_slot("blockIdx.y", s), " = ", name("acc", s), ";"));
    c_.line("work_i[pt * splits + blockIdx.y] = idx;");
  } else {
    for (size_t s = 0; s < stores; ++s) store_result(s);
  }
  c_.close();
  c_.close();
  c_.line("__syncthreads();");
  c_.close();
  c_.close();
}

}  // namespace kiln::backends::cuda::detail
