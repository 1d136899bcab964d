// The CUDA code generator's emitter (codegen.h), internal to it: the parameter words of a
// kernel, a line-by-line code writer, and Emitter, which writes one LoopKernel's functions:
// the expressions of a point, the elementwise grid-stride loops (scalar and 4-wide vector) and
// row functions here, the reductions in codegen_reduction.cpp.
#pragma once

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "kiln/backends/cpu/codegen.h"
#include "kiln/backends/cuda/codegen.h"
#include "kiln/backends/cuda/codegen_expr.h"
#include "kiln/ir/kernel.h"

namespace kiln::backends::cuda::detail {

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

inline Words words_of(const LoopKernel& k) {
  const std::vector<bool> runtime = cpu::runtime_constants(k);
  return Words{k.args.size(), static_cast<size_t>(k.rank),
               static_cast<size_t>(std::count(runtime.begin(), runtime.end(), true))};
}

inline std::string w(size_t i) { return absl::StrCat("p.w[", i, "]"); }

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

}  // namespace kiln::backends::cuda::detail
