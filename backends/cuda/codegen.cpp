// The CUDA code generator's kernel structure: parameter layout, the elementwise grid-stride
// loops (scalar and 4-wide vector), and the block-per-point reductions (codegen.h).
#include "kiln/backends/cuda/codegen.h"

#include <algorithm>
#include <functional>

#include "absl/strings/str_cat.h"
#include "kiln/backends/cpu/codegen.h"
#include "kiln/backends/cuda/codegen_expr.h"
#include "kiln/ir/absl_compat.h"
#include "kiln/ir/infer.h"
#include "kiln/runtime/error.h"

namespace kiln::backends::cuda {
namespace {

using ir::KernelExpr;
using ir::LoopKernel;
using ir::Op;

constexpr int kVector = 4;
constexpr unsigned kThreads = 256;

// Word indices of the parameter array.
struct Words {
  size_t args, rank, constants;
  size_t data(size_t a) const { return a; }
  size_t size(int32_t d) const { return args + static_cast<size_t>(d); }
  size_t stride(size_t a, int32_t d) const {
    return args + rank + a * rank + static_cast<size_t>(d);
  }
  size_t offset(size_t a) const { return args + rank + args * rank + a; }
  size_t constant(size_t j) const { return args + rank + args * rank + args + j; }
  size_t error() const { return constant(constants); }
};

Words words_of(const LoopKernel& k) {
  const std::vector<bool> runtime = cpu::runtime_constants(k);
  return Words{k.args.size(), static_cast<size_t>(k.rank),
               static_cast<size_t>(std::count(runtime.begin(), runtime.end(), true))};
}

std::string w(size_t i) { return absl::StrCat("p.w[", i, "]"); }

// Emits CUDA C line by line with indentation.
class Code {
 public:
  void line(const std::string& s) {
    absl::StrAppend(&text_, std::string(indent_ * 2, ' '), s, "\n");
  }
  void open(const std::string& s) {
    line(s + " {");
    ++indent_;
  }
  void close(const std::string& tail = "") {
    --indent_;
    line("}" + tail);
  }
  // "} else {" and the like.
  void reopen(const std::string& s) {
    --indent_;
    line("} " + s + " {");
    ++indent_;
  }
  std::string& text() { return text_; }

 private:
  std::string text_;
  int indent_ = 0;
};

class Emitter {
 public:
  Emitter(const LoopKernel& k, Code& code) : k_(k), c_(code), words_(words_of(k)) {
    runtime_ = cpu::runtime_constants(k);
  }

  // v0..vN for every expression; `load(a)` is the memory-typed C expression of argument a's
  // element at the current point.
  void body(const std::function<std::string(int32_t)>& load, const std::string& suffix) {
    size_t constant_index = 0;
    for (size_t i = 0; i < k_.exprs.size(); ++i) {
      const KernelExpr& e = k_.exprs[i];
      const std::string name = absl::StrCat("v", i, suffix);
      std::string value;
      switch (e.kind) {
        case KernelExpr::Kind::kLoad:
          value = codegen::from_memory(e.dtype, load(e.arg));
          break;
        case KernelExpr::Kind::kConstant:
          if (runtime_[i]) {
            value = codegen::from_bits(e.dtype, w(words_.constant(constant_index++)));
          } else {
            value = codegen::from_bits(
                e.dtype,
                absl::StrCat("0x", absl::Hex(cpu::constant_bits(e.dtype, e.constant)), "ull"));
          }
          break;
        case KernelExpr::Kind::kOp: {
          std::vector<DType> types;
          std::vector<std::string> operands;
          const Scalar* exponent = nullptr;
          for (int32_t o : e.operands) {
            types.push_back(k_.exprs[o].dtype);
            operands.push_back(absl::StrCat("v", o, suffix));
          }
          if (e.op == Op::pow && k_.exprs[e.operands[1]].kind == KernelExpr::Kind::kConstant)
            exponent = &k_.exprs[e.operands[1]].constant;
          value = codegen::op_expr(e.op, e.dtype, types, operands, "err", exponent);
          break;
        }
      }
      c_.line(absl::StrCat("const ", codegen::value_type(e.dtype), " ", name, " = ", value, ";"));
    }
  }

  std::string ptr(size_t a) const {
    const DType t = k_.args[a].dtype;
    return absl::StrCat("((", k_.args[a].is_output ? "" : "const ", codegen::memory_type(t), "*)",
                        w(words_.data(a)), ")");
  }

  // i64 o<a> = offset + sum of coordinate * stride over dims [from, to) (zero strides skipped).
  std::string offset_sum(size_t a, int32_t from, int32_t to) const {
    std::string s;
    for (int32_t d = from; d < to; ++d) {
      if ((k_.layouts[a].zero_stride_dims >> d) & 1u) continue;
      const bool unit = d == k_.rank - 1 && k_.layouts[a].inner_unit_stride;
      absl::StrAppend(&s, " + c", d, unit ? "" : absl::StrCat(" * ", w(words_.stride(a, d))));
    }
    return s;
  }

  // Coordinates c<from>..c<to-1> of flat index `flat` over those dims (row-major).
  void coordinates(const std::string& flat, int32_t from, int32_t to) {
    if (from >= to) return;
    c_.line(absl::StrCat("i64 rest = ", flat, ";"));
    for (int32_t d = to - 1; d > from; --d) {
      c_.line(absl::StrCat("const i64 c", d, " = rest % ", w(words_.size(d)), ";"));
      c_.line(absl::StrCat("rest /= ", w(words_.size(d)), ";"));
    }
    c_.line(absl::StrCat("const i64 c", from, " = rest;"));
  }

  // The kernel's signature; `base` names the parameter struct (defined with the first
  // kernel of the module), `extra` adds parameters after it.
  void header(const std::string& symbol, const std::string& base = "",
              const std::string& extra = "") {
    if (base.empty()) parameter_struct(symbol);
    c_.open(absl::StrCat("extern \"C\" __global__ void __launch_bounds__(", kThreads, ") ", symbol,
                         "(const P_", base.empty() ? symbol : base, " p", extra, ")"));
    error_pointer();
  }

  // A chain step (chain_kernel.h): a device function computing the points of launch row `row`
  // with the block's threads.
  void row_header(const std::string& symbol) {
    parameter_struct(symbol);
    c_.open(absl::StrCat("__device__ __forceinline__ void ", symbol, "(const P_", symbol,
                         "& p, const i64 row)"));
    error_pointer();
  }

  void parameter_struct(const std::string& symbol) {
    const size_t count = std::max<size_t>(1, words_.error() + (needs_error_word(k_) ? 1 : 0));
    c_.line(absl::StrCat("struct P_", symbol, " { i64 w[", count, "]; };"));
  }

  void error_pointer() {
    if (needs_error_word(k_)) {
      c_.line(absl::StrCat("int* err = (int*)", w(words_.error()), ";"));
    } else {
      c_.line("int* err = nullptr;");
      c_.line("(void)err;");
    }
  }

  std::string product(int32_t from, int32_t to) const {
    std::string s = "(i64)1";
    for (int32_t d = from; d < to; ++d) absl::StrAppend(&s, " * ", w(words_.size(d)));
    return s;
  }

  void elementwise_scalar(const std::string& first) {
    c_.open(absl::StrCat("for (i64 i = ", first, "; i < n; i += (i64)gridDim.x * blockDim.x)"));
    coordinates("i", 0, k_.rank);
    elementwise_point();
    c_.close();
  }

  // The point at coordinates c0.. : offsets, expressions, stores.
  void elementwise_point() {
    for (size_t a = 0; a < k_.args.size(); ++a)
      c_.line(absl::StrCat("const i64 o", a, " = ", w(words_.offset(a)), offset_sum(a, 0, k_.rank),
                           ";"));
    body([&](int32_t a) { return absl::StrCat(ptr(static_cast<size_t>(a)), "[o", a, "]"); }, "");
    for (const auto& [arg, expr] : k_.stores)
      c_.line(absl::StrCat(ptr(static_cast<size_t>(arg)), "[o", arg, "] = ",
                           codegen::to_memory(k_.args[arg].dtype, absl::StrCat("v", expr)), ";"));
  }

  bool vectorizable() const {
    if (k_.rank != 1) return false;
    for (size_t a = 0; a < k_.args.size(); ++a) {
      const bool zero = (k_.layouts[a].zero_stride_dims & 1u) != 0;
      if (!k_.layouts[a].inner_unit_stride && !(zero && !k_.args[a].is_output)) return false;
    }
    return true;
  }

  void elementwise(const std::string& symbol) {
    header(symbol);
    c_.line(absl::StrCat("const i64 n = ", product(0, k_.rank), ";"));
    const std::string tid = "(i64)blockIdx.x * blockDim.x + threadIdx.x";
    if (!vectorizable()) {
      elementwise_scalar(tid);
      c_.close();
      return;
    }
    // One contiguous run: 4-wide vector accesses when every unit-stride pointer is aligned.
    c_.line("bool aligned = true;");
    for (size_t a = 0; a < k_.args.size(); ++a) {
      if (!k_.layouts[a].inner_unit_stride) continue;
      c_.line(absl::StrCat("aligned = aligned && ((u64)(", ptr(a), " + ", w(words_.offset(a)),
                           ") % (sizeof(", codegen::memory_type(k_.args[a].dtype), ") * ", kVector,
                           ")) == 0;"));
    }
    c_.open("if (aligned)");
    c_.line(absl::StrCat("const i64 nv = n / ", kVector, ";"));
    c_.open(absl::StrCat("for (i64 q = ", tid, "; q < nv; q += (i64)gridDim.x * blockDim.x)"));
    for (size_t a = 0; a < k_.args.size(); ++a) {
      const std::string vt =
          absl::StrCat("KVec<", codegen::memory_type(k_.args[a].dtype), ", ", kVector, ">");
      if (k_.args[a].is_output) {
        c_.line(absl::StrCat(vt, " x", a, ";"));
      } else if (k_.layouts[a].inner_unit_stride) {
        c_.line(absl::StrCat("const ", vt, " x", a, " = ((const ", vt, "*)(", ptr(a), " + ",
                             w(words_.offset(a)), "))[q];"));
      }
    }
    c_.line("#pragma unroll");
    c_.open(absl::StrCat("for (int j = 0; j < ", kVector, "; ++j)"));
    body(
        [&](int32_t a) {
          if (k_.layouts[a].inner_unit_stride) return absl::StrCat("x", a, ".v[j]");
          return absl::StrCat(ptr(static_cast<size_t>(a)), "[", w(words_.offset(a)), "]");
        },
        "");
    for (const auto& [arg, expr] : k_.stores)
      c_.line(absl::StrCat("x", arg, ".v[j] = ",
                           codegen::to_memory(k_.args[arg].dtype, absl::StrCat("v", expr)), ";"));
    c_.close();
    for (size_t a = 0; a < k_.args.size(); ++a) {
      if (!k_.args[a].is_output) continue;
      const std::string vt =
          absl::StrCat("KVec<", codegen::memory_type(k_.args[a].dtype), ", ", kVector, ">");
      c_.line(
          absl::StrCat("((", vt, "*)(", ptr(a), " + ", w(words_.offset(a)), "))[q] = x", a, ";"));
    }
    c_.close();
    elementwise_scalar(absl::StrCat("nv * ", kVector, " + ", tid));
    c_.reopen("else");
    elementwise_scalar(tid);
    c_.close();
    c_.close();
  }

  // The points of launch row `row`, over the block's threads or (warp) the warp's lanes.
  void elementwise_row(const std::string& symbol, bool warp) {
    row_header(symbol);
    c_.line(absl::StrCat("const i64 per_row = ", product(1, k_.rank), ";"));
    c_.open(warp ? "for (i64 j = threadIdx.x & 31; j < per_row; j += 32)"
                 : "for (i64 j = threadIdx.x; j < per_row; j += blockDim.x)");
    c_.line("const i64 c0 = row;");
    coordinates("j", 1, k_.rank);
    elementwise_point();
    c_.close();
    c_.close();
  }

  // kFull: one block per kept point; kRow: the kept points of launch row `row`, one after
  // the other, each reduced by as many of the block's threads as kFull's launch would have
  // (launch_shape), so each result has kFull's bits; kWarp: one warp per point, for rows of at
  // most 32 elements (kFull's launch is then one warp too, whose block combine only adds
  // identities: the same bits); kRowWarp: kRow for a chain run a warp per row, its
  // points of at most 32 elements reduced as kWarp does; kPartial: blockIdx.y takes `chunk` reduced
  // elements of the point and writes its state to `work`; kCombine: one thread per point combines
  // the `splits` states in order and stores the result.
  enum class Variant { kFull, kRow, kWarp, kRowWarp, kPartial, kCombine };
  void reduction(const std::string& symbol, Variant variant, const std::string& base);

 private:
  const LoopKernel& k_;
  Code& c_;
  Words words_;
  std::vector<bool> runtime_;
};

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

}  // namespace

// Every op of a well-formed kernel has CUDA C (codegen_expr.cpp); nothing else to refuse.
std::string why_not_emittable(const LoopKernel& k) {
  const absl::Status ok = ir::verify_kernel(k);
  return ok.ok() ? "" : std::string(ok.message());
}

bool needs_error_word(const LoopKernel& k) {
  for (const KernelExpr& e : k.exprs)
    if (e.kind == KernelExpr::Kind::kOp && e.op == Op::div && !is_floating_point(e.dtype))
      return true;
  return false;
}

std::string emit_cuda_kernel(const LoopKernel& kernel, std::string_view symbol) {
  const std::string why = why_not_emittable(kernel);
  if (!why.empty()) throw Error(absl::StrCat("cuda codegen: cannot emit kernel: ", why));
  Code code;
  absl::StrAppend(&code.text(), sv(cuda_prelude()), "\n// ", sv(symbol), "\n");
  Emitter emitter(kernel, code);
  if (kernel.is_reduction()) {
    const std::string name(symbol);
    emitter.reduction(name, Emitter::Variant::kFull, "");
    emitter.reduction(name + "_warp", Emitter::Variant::kWarp, name);
    emitter.reduction(name + "_part", Emitter::Variant::kPartial, name);
    emitter.reduction(name + "_comb", Emitter::Variant::kCombine, name);
  } else {
    emitter.elementwise(std::string(symbol));
  }
  return std::move(code.text());
}

std::string emit_cuda_chain_kernel(absl::Span<const LoopKernel* const> steps,
                                   std::string_view symbol, bool warp_per_row) {
  Code code;
  absl::StrAppend(&code.text(), sv(cuda_prelude()), "\n// ", sv(symbol), "\n");
  std::string params, calls;
  for (size_t i = 0; i < steps.size(); ++i) {
    const std::string why = why_not_emittable(*steps[i]);
    if (!why.empty()) throw Error(absl::StrCat("cuda codegen: cannot emit chain step: ", why));
    const std::string name = absl::StrCat(sv(symbol), "_s", i);
    Emitter emitter(*steps[i], code);
    if (steps[i]->is_reduction()) {
      emitter.reduction(name, warp_per_row ? Emitter::Variant::kRowWarp : Emitter::Variant::kRow,
                        "");
    } else {
      emitter.elementwise_row(name, warp_per_row);
    }
    absl::StrAppend(&params, "const P_", name, " p", i, ", ");
    // The barrier makes the step's stores visible to every thread that runs the row.
    absl::StrAppend(&calls, "    ", name, "(p", i, ", row);\n    ",
                    warp_per_row ? "__syncwarp();" : "__syncthreads();", "\n");
  }
  // A warp per row: every lane of a warp has the same row, so whole warps run each step.
  const std::string rows_loop =
      warp_per_row ? "for (i64 row = (i64)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5); "
                     "row < rows; row += (i64)gridDim.x * (blockDim.x >> 5))"
                   : "for (i64 row = blockIdx.x; row < rows; row += gridDim.x)";
  absl::StrAppend(&code.text(), "extern \"C\" __global__ void __launch_bounds__(", kThreads, ") ",
                  sv(symbol), "(", params, "const i64 rows) {\n  ", rows_loop, " {\n", calls,
                  "  }\n}\n");
  return std::move(code.text());
}

std::vector<uint64_t> param_words(const LoopKernel& k, const ir::KernelLaunch& launch,
                                  absl::Span<void* const> data, void* error_word) {
  std::vector<uint64_t> words;
  for (void* p : data) words.push_back(reinterpret_cast<uint64_t>(p));
  for (int64_t s : launch.sizes) words.push_back(static_cast<uint64_t>(s));
  for (const Shape& strides : launch.strides)
    for (int64_t s : strides) words.push_back(static_cast<uint64_t>(s));
  for (int64_t o : launch.offsets) words.push_back(static_cast<uint64_t>(o));
  const std::vector<int64_t> sizes = cpu::kernel_sizes(k, launch);
  for (size_t i = launch.sizes.size(); i < sizes.size(); ++i)
    words.push_back(static_cast<uint64_t>(sizes[i]));
  if (needs_error_word(k)) words.push_back(reinterpret_cast<uint64_t>(error_word));
  if (words.empty()) words.push_back(0);
  return words;
}

size_t split_workspace_bytes(const LoopKernel& k, const SplitPlan& plan) {
  return static_cast<size_t>(plan.points * plan.splits) * (8 * k.stores.size() + 8);
}

SplitPlan split_plan(const LoopKernel& k, const ir::KernelLaunch& launch, int multiprocessors) {
  SplitPlan plan;
  if (!k.is_reduction()) return plan;
  const int32_t kept = k.kept_dims();
  int64_t points = 1, reduced = 1;
  for (int32_t d = 0; d < kept; ++d) points *= launch.sizes[d];
  for (int32_t d = kept; d < k.rank; ++d) reduced *= launch.sizes[d];
  plan.points = points;
  const int64_t sms = std::max(1, multiprocessors);
  // Worth it when the blocks of the plain kernel leave most SMs idle and rows are long.
  if (points == 0 || points >= 2 * sms || reduced < (int64_t{1} << 16)) return plan;
  int64_t splits = std::min<int64_t>((reduced + 16383) / 16384, (4 * sms + points - 1) / points);
  splits = std::clamp<int64_t>(splits, 1, 65535);
  if (splits <= 1) return plan;
  plan.chunk = (reduced + splits - 1) / splits;
  plan.splits = (reduced + plan.chunk - 1) / plan.chunk;
  return plan;
}

unsigned reduction_threads(int64_t reduced) {
  return static_cast<unsigned>(std::clamp<int64_t>((reduced + 31) / 32 * 32, 32, kThreads));
}

LaunchShape launch_shape(const LoopKernel& k, const ir::KernelLaunch& launch, int multiprocessors) {
  const int32_t kept = k.kept_dims();
  int64_t points = 1, reduced = 1;
  for (int32_t d = 0; d < kept; ++d) points *= launch.sizes[d];
  for (int32_t d = kept; d < k.rank; ++d) reduced *= launch.sizes[d];
  const int64_t sms = std::max(1, multiprocessors);
  LaunchShape shape;
  if (points == 0) return shape;
  if (!k.is_reduction()) {
    const int64_t per_block = int64_t{kThreads} * kVector;
    const int64_t blocks = std::min<int64_t>((points + per_block - 1) / per_block, sms * 32);
    shape.blocks = static_cast<unsigned>(std::max<int64_t>(1, blocks));
    shape.threads = kThreads;
    return shape;
  }
  if (reduced <= 32) {
    // SYMBOL_warp: a warp per point, 8 to a block.
    constexpr int64_t warps = kThreads / 32;
    shape.threads = kThreads;
    shape.blocks = static_cast<unsigned>(std::min<int64_t>((points + warps - 1) / warps, sms * 32));
    shape.warp_per_point = true;
    return shape;
  }
  shape.threads = reduction_threads(reduced);
  shape.blocks = static_cast<unsigned>(std::min<int64_t>(points, sms * 256));
  return shape;
}

}  // namespace kiln::backends::cuda
