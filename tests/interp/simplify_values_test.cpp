// Value tests for the simplify and constant-fold passes: every graph runs on the reference
// interpreter before and after the passes, and the results must be the same bytes.
//
// Inputs hold each dtype's special values as bit patterns (both zeros, both infinities, NaNs
// of both signs and with payloads, subnormals, extremes, integer minima and maxima) plus random
// ones. Not included: signaling NaNs and float16 NaNs other than the two canonical ones. The
// interpreter quiets or canonicalizes those in every arithmetic op (x * 1 included), and a
// removed op would pass them on unchanged; no kiln op produces them.
//
// Three sweeps: each simplify rule on every dtype; cast chains over every triple of dtypes;
// every elementwise op and reduction on constants of every dtype (constant-fold); and random
// graphs through the realization pipeline's passes.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "interp/interp_test_util.h"
#include "interp/random_graph.h"
#include "kiln/passes/constant_fold.h"
#include "kiln/passes/pass_manager.h"
#include "kiln/passes/simplify.h"

namespace kiln::testing {
namespace {

using backends::BufferPtr;
using backends::interp::testing::add;
using ir::Graph;
using ir::Op;
using ir::ValueId;

constexpr int64_t kN = 40;  // elements per input

bool is_signaling_or_odd_nan(DType t, uint64_t b) {
  if (t == float32)
    return (b & 0x7f800000u) == 0x7f800000u && (b & 0x7fffffu) != 0 && !(b & 0x400000u);
  if (t == float64) {
    const uint64_t exp = 0x7ff0000000000000ull, mant = 0xfffffffffffffull;
    return (b & exp) == exp && (b & mant) != 0 && !(b & 0x8000000000000ull);
  }
  if (t == float16)
    return (b & 0x7c00u) == 0x7c00u && (b & 0x3ffu) != 0 && (b & 0x7fffu) != 0x7e00u;
  if (t == bfloat16) return (b & 0x7f80u) == 0x7f80u && (b & 0x7fu) != 0 && !(b & 0x40u);
  return false;
}

bool is_nan_bits(DType t, uint64_t b) {
  if (t == float32) return (b & 0x7fffffffu) > 0x7f800000u;
  if (t == float64) return (b & 0x7fffffffffffffffull) > 0x7ff0000000000000ull;
  if (t == float16) return (b & 0x7fffu) > 0x7c00u;
  if (t == bfloat16) return (b & 0x7fffu) > 0x7f80u;
  return false;
}

// kN elements of `t` as raw bits: the specials first, then random patterns (rotated by
// `rotate` so that two inputs pair different values).
std::vector<uint64_t> element_bits(DType t, uint64_t seed, size_t rotate = 0) {
  std::vector<uint64_t> bits;
  if (t == float32) {
    bits = {0x00000000, 0x80000000, 0x3f800000, 0xbf800000, 0x7f800000, 0xff800000, 0x7fc00000,
            0xffc00000, 0x7fc12345, 0xffd00001, 0x00000001, 0x80000001, 0x007fffff, 0x7f7fffff,
            0xff7fffff, 0x3dcccccd, 0x40200000, 0xc0200000, 0x4b000001, 0x40000000};
  } else if (t == float64) {
    bits = {0x0,
            0x8000000000000000,
            0x3ff0000000000000,
            0xbff0000000000000,
            0x7ff0000000000000,
            0xfff0000000000000,
            0x7ff8000000000000,
            0xfff8000000000000,
            0x7ff8000000012345,
            0xfff8000000000001,
            0x1,
            0x8000000000000001,
            0x7fefffffffffffff,
            0xffefffffffffffff,
            0x3fb999999999999a,
            0x4004000000000000,
            0xc004000000000000,
            0x4340000000000001,
            0x4000000000000000};
  } else if (t == float16) {
    bits = {0x0000, 0x8000, 0x3c00, 0xbc00, 0x7c00, 0xfc00, 0x7e00, 0xfe00, 0x0001,
            0x8001, 0x03ff, 0x7bff, 0xfbff, 0x2e66, 0x4100, 0xc100, 0x6801, 0x4000};
  } else if (t == bfloat16) {
    bits = {0x0000, 0x8000, 0x3f80, 0xbf80, 0x7f80, 0xff80, 0x7fc0, 0xffc0, 0x7fc1,
            0xffd3, 0x0001, 0x8001, 0x7f7f, 0xff7f, 0x3dcd, 0x4020, 0xc020, 0x4000};
  } else if (t == boolean) {
    bits = {0, 1, 1, 0};
  } else {
    const int width = static_cast<int>(itemsize(t)) * 8;
    const uint64_t mask = width == 64 ? ~0ull : (1ull << width) - 1;
    const uint64_t top = 1ull << (width - 1);
    bits = {0, 1, mask, 2, mask - 1, top, top - 1, top + 1, 100, mask - 99};
  }
  Rng rng(seed);
  const int width = static_cast<int>(itemsize(t)) * 8;
  const uint64_t mask = width == 64 ? ~0ull : (1ull << width) - 1;
  while (static_cast<int64_t>(bits.size()) < kN) {
    const uint64_t b = t == boolean ? rng.next() & 1 : rng.next() & mask;
    if (!is_signaling_or_odd_nan(t, b)) bits.push_back(b);
  }
  std::rotate(bits.begin(), bits.begin() + static_cast<int64_t>(rotate % bits.size()), bits.end());
  return bits;
}

BufferPtr buffer_of_bits(DType t, const std::vector<uint64_t>& bits) {
  const size_t size = itemsize(t);
  BufferPtr buffer = runtime::Buffer::allocate(bits.size() * size);
  for (size_t i = 0; i < bits.size(); ++i)
    std::memcpy(static_cast<char*>(buffer->data()) + i * size, &bits[i], size);  // little endian
  return buffer;
}

// Runs `g` on the interpreter; the error message when it throws.
std::vector<BufferPtr> run_or_error(const Graph& g, const std::vector<BufferPtr>& inputs,
                                    std::string* error) {
  try {
    return backends::interp::Interpreter().run(g, inputs);
  } catch (const std::exception& e) {
    *error = e.what();
    return {};
  }
}

// Runs `pipeline` over a copy of `g`; "" when both graphs give the same bytes (or fail with
// the same message), otherwise what differs. `changed` tells whether the passes rewrote g.
std::string compare(const Graph& g, const std::vector<BufferPtr>& inputs, const char* pipeline,
                    bool* changed = nullptr) {
  Graph after = g;
  auto pm = passes::PassManager::from_pipeline(pipeline);
  if (!pm.ok()) return pm.status().ToString();
  const absl::StatusOr<bool> c = pm->run(after);
  if (!c.ok()) return c.status().ToString();
  if (changed) *changed = *c;
  std::string want_error, got_error;
  const std::vector<BufferPtr> want = run_or_error(g, inputs, &want_error);
  const std::vector<BufferPtr> got = run_or_error(after, inputs, &got_error);
  std::ostringstream os;
  if (want_error != got_error) {
    os << "errors differ: before '" << want_error << "', after '" << got_error << "'";
  } else {
    for (size_t i = 0; i < want.size(); ++i) {
      const size_t size = itemsize(g.node(g.outputs()[i]).type.dtype);
      for (size_t e = 0; e * size < want[i]->nbytes(); ++e) {
        uint64_t a = 0, b = 0;
        std::memcpy(&a, static_cast<const char*>(want[i]->data()) + e * size, size);
        std::memcpy(&b, static_cast<const char*>(got[i]->data()) + e * size, size);
        if (a != b) {
          os << "output " << i << " element " << e << ": bits 0x" << std::hex << a << " before, 0x"
             << b << " after" << std::dec;
          break;
        }
      }
      if (!os.str().empty()) break;
    }
  }
  if (os.str().empty()) return "";
  return os.str() + "\nbefore:\n" + ir::to_string(g) + "after " + pipeline + ":\n" +
         ir::to_string(after);
}

// Graph building for the rule cases: inputs x, y of dtype t and a bool c, all of shape [kN].
struct Case {
  Graph g;
  DType t;
  ValueId x, y, c;

  explicit Case(DType dtype) : t(dtype) {
    x = g.add_input(ir::TensorType{t, {kN}});
    y = g.add_input(ir::TensorType{t, {kN}});
    c = g.add_input(ir::TensorType{boolean, {kN}});
  }
  ValueId splat(Scalar v, DType dtype) {
    const ValueId k = g.add_constant(v, dtype);
    return add(g, Op::expand, {add(g, Op::reshape, {k}, ir::ShapeAttrs{{1}})},
               ir::ShapeAttrs{{kN}});
  }
  ValueId splat(Scalar v) { return splat(v, t); }
  ValueId op(Op o, std::vector<ValueId> in, ir::Attrs attrs = ir::NoAttrs{}) {
    return add(g, o, std::move(in), std::move(attrs));
  }
  std::vector<BufferPtr> inputs(uint64_t seed) const {
    return {buffer_of_bits(t, element_bits(t, seed)), buffer_of_bits(t, element_bits(t, seed, 7)),
            buffer_of_bits(boolean, element_bits(boolean, seed + 1))};
  }
};

struct Rule {
  const char* name;
  std::function<ValueId(Case&)> build;
};

const std::vector<Rule>& rules() {
  static const std::vector<Rule> r = {
      {"x + -0.0",
       [](Case& k) {
         return k.op(Op::add, {k.x, k.splat(-0.0)});
       }},
      {"-0.0 + x",
       [](Case& k) {
         return k.op(Op::add, {k.splat(-0.0), k.x});
       }},
      {"x + 0.0",
       [](Case& k) {
         return k.op(Op::add, {k.x, k.splat(0.0)});
       }},
      {"x + 0",
       [](Case& k) {
         return k.op(Op::add, {k.x, k.splat(0)});
       }},
      {"x + 256",
       [](Case& k) {
         return k.op(Op::add, {k.x, k.splat(256)});
       }},
      {"x - 0.0",
       [](Case& k) {
         return k.op(Op::sub, {k.x, k.splat(0.0)});
       }},
      {"x - -0.0",
       [](Case& k) {
         return k.op(Op::sub, {k.x, k.splat(-0.0)});
       }},
      {"0 - x",
       [](Case& k) {
         return k.op(Op::sub, {k.splat(0), k.x});
       }},
      {"-0.0 - x",
       [](Case& k) {
         return k.op(Op::sub, {k.splat(-0.0), k.x});
       }},
      {"x * 1",
       [](Case& k) {
         return k.op(Op::mul, {k.x, k.splat(1)});
       }},
      {"1.0 * x",
       [](Case& k) {
         return k.op(Op::mul, {k.splat(1.0), k.x});
       }},
      {"x * 0",
       [](Case& k) {
         return k.op(Op::mul, {k.x, k.splat(0)});
       }},
      {"x * -0.0",
       [](Case& k) {
         return k.op(Op::mul, {k.x, k.splat(-0.0)});
       }},
      {"x * -1",
       [](Case& k) {
         return k.op(Op::mul, {k.x, k.splat(-1)});
       }},
      {"x / 1",
       [](Case& k) {
         return k.op(Op::div, {k.x, k.splat(1)});
       }},
      {"x / -1",
       [](Case& k) {
         return k.op(Op::div, {k.x, k.splat(-1)});
       }},
      {"pow(x, 1)",
       [](Case& k) {
         return k.op(Op::pow, {k.x, k.splat(1)});
       }},
      {"pow(x, 2)",
       [](Case& k) {
         return k.op(Op::pow, {k.x, k.splat(2)});
       }},
      {"neg(neg(x))", [](Case& k) { return k.op(Op::neg, {k.op(Op::neg, {k.x})}); }},
      {"abs(abs(x))", [](Case& k) { return k.op(Op::abs, {k.op(Op::abs, {k.x})}); }},
      {"abs(neg(x))", [](Case& k) { return k.op(Op::abs, {k.op(Op::neg, {k.x})}); }},
      {"relu(relu(x))", [](Case& k) { return k.op(Op::relu, {k.op(Op::relu, {k.x})}); }},
      {"sign(sign(x))", [](Case& k) { return k.op(Op::sign, {k.op(Op::sign, {k.x})}); }},
      {"floor(floor(x))", [](Case& k) { return k.op(Op::floor, {k.op(Op::floor, {k.x})}); }},
      {"ceil(ceil(x))", [](Case& k) { return k.op(Op::ceil, {k.op(Op::ceil, {k.x})}); }},
      {"round(round(x))", [](Case& k) { return k.op(Op::round, {k.op(Op::round, {k.x})}); }},
      {"trunc(trunc(x))", [](Case& k) { return k.op(Op::trunc, {k.op(Op::trunc, {k.x})}); }},
      {"maximum(x, x)",
       [](Case& k) {
         return k.op(Op::maximum, {k.x, k.x});
       }},
      {"minimum(x, x)",
       [](Case& k) {
         return k.op(Op::minimum, {k.x, k.x});
       }},
      {"where(c, x, x)",
       [](Case& k) {
         return k.op(Op::where, {k.c, k.x, k.x});
       }},
      {"where(true, x, y)",
       [](Case& k) {
         return k.op(Op::where, {k.splat(true, boolean), k.x, k.y});
       }},
      {"where(false, x, y)",
       [](Case& k) {
         return k.op(Op::where, {k.splat(false, boolean), k.x, k.y});
       }},
      {"not(not(x))",
       [](Case& k) { return k.op(Op::logical_not, {k.op(Op::logical_not, {k.x})}); }},
      {"x and true",
       [](Case& k) {
         return k.op(Op::logical_and, {k.x, k.splat(true, boolean)});
       }},
      {"false or x",
       [](Case& k) {
         return k.op(Op::logical_or, {k.splat(false, boolean), k.x});
       }},
      {"x and false",
       [](Case& k) {
         return k.op(Op::logical_and, {k.x, k.splat(false, boolean)});
       }},
      {"x or x",
       [](Case& k) {
         return k.op(Op::logical_or, {k.x, k.x});
       }},
      {"cast(x, x's dtype)", [](Case& k) { return k.op(Op::cast, {k.x}, ir::CastAttrs{k.t}); }},
      {"views that keep x",
       [](Case& k) {
         ValueId v = k.op(Op::reshape, {k.x}, ir::ShapeAttrs{{kN / 4, 4}});
         v = k.op(Op::permute, {v}, ir::PermuteAttrs{{1, 0}});
         v = k.op(Op::permute, {v}, ir::PermuteAttrs{{1, 0}});
         v = k.op(Op::expand, {v}, ir::ShapeAttrs{{kN / 4, 4}});
         v = k.op(Op::slice, {v}, ir::SliceAttrs{1, 0, 4, 1});
         v = k.op(Op::as_strided, {v}, ir::StridedAttrs{{kN / 4, 4}, {4, 1}, 0});
         v = k.op(Op::reshape, {v}, ir::ShapeAttrs{{2, kN / 2}});
         return k.op(Op::reshape, {v}, ir::ShapeAttrs{{kN}});
       }},
  };
  return r;
}

TEST(SimplifyValues, EveryRuleOnEveryDTypeKeepsTheBits) {
  int rewritten = 0, graphs = 0;
  for (const Rule& rule : rules()) {
    for (DType t : kAllDTypes) {
      Case k(t);
      ValueId out;
      try {
        out = rule.build(k);
      } catch (const std::runtime_error&) {
        continue;  // the op does not take this dtype
      }
      k.g.set_outputs({out});
      for (const char* pipeline : {"simplify", "constant-fold,simplify,cse,dce"}) {
        bool changed = false;
        const std::string diff =
            compare(k.g, k.inputs(static_cast<uint64_t>(t.kind()) + 1), pipeline, &changed);
        EXPECT_EQ(diff, "") << rule.name << " on " << t;
        if (std::string(pipeline) == "simplify") {
          ++graphs;
          rewritten += changed;
        }
      }
    }
  }
  std::cout << "[ values   ] simplify rewrote " << rewritten << " of " << graphs
            << " rule graphs\n";
  // Most rules fire on most dtypes: the sweep must exercise the rewrites, not only graphs that
  // stay as they are.
  EXPECT_GT(rewritten, 200);
}

TEST(SimplifyValues, CastChainsOverEveryTripleOfDTypes) {
  int rewritten = 0;
  for (DType x : kAllDTypes) {
    for (DType a : kAllDTypes) {
      for (DType b : kAllDTypes) {
        Graph g;
        const ValueId in = g.add_input(ir::TensorType{x, {kN}});
        const ValueId mid = add(g, Op::cast, {in}, ir::CastAttrs{a});
        g.set_outputs({add(g, Op::cast, {mid}, ir::CastAttrs{b})});
        bool changed = false;
        const std::string diff =
            compare(g, {buffer_of_bits(x, element_bits(x, 99))}, "simplify", &changed);
        EXPECT_EQ(diff, "") << x << " -> " << a << " -> " << b;
        rewritten += changed;
      }
    }
  }
  std::cout << "[ values   ] simplify rewrote " << rewritten << " of 1000 cast chains\n";
  EXPECT_GT(rewritten, 300);
}

// Constants worth folding: zeros, ones, halves, ties, extremes, wraparound points, NaNs.
const std::vector<Scalar>& fold_values() {
  static const std::vector<Scalar> v = {
      Scalar(0),        Scalar(-0.0),      Scalar(1),
      Scalar(-1),       Scalar(2.5),       Scalar(-2.5),
      Scalar(0.1),      Scalar(127),       Scalar(128),
      Scalar(-129),     Scalar(255),       Scalar(65520.0),
      Scalar(1e-30),    Scalar(3.0e38),    Scalar(1e300),
      Scalar(INFINITY), Scalar(-INFINITY), Scalar(NAN),
      Scalar(-NAN),     Scalar(true),      Scalar(int64_t{-9223372036854775807 - 1})};
  return v;
}

// A graph computing `op` over splats of `values` of dtype t, shaped [3]; nullopt when the op
// does not take the dtype.
std::optional<Graph> constant_graph(Op op, DType t, const std::vector<Scalar>& values) {
  Graph g;
  std::vector<ValueId> in;
  for (size_t i = 0; i < values.size(); ++i) {
    const DType dt = op == Op::where && i == 0 ? boolean : t;
    const ValueId k = g.add_constant(values[i], dt);
    in.push_back(
        add(g, Op::expand, {add(g, Op::reshape, {k}, ir::ShapeAttrs{{1}})}, ir::ShapeAttrs{{3}}));
  }
  auto out = g.add(op, in, ir::default_attrs(op));
  if (!out.ok()) return std::nullopt;
  g.set_outputs({*out});
  return g;
}

TEST(ConstantFoldValues, ElementwiseOpsOnEveryDTypeMatchTheInterpreter) {
  int folded = 0, graphs = 0;
  for (int o = 0; o < ir::kNumOps; ++o) {
    const Op op = static_cast<Op>(o);
    if (!ir::has_trait(op, ir::kElementwise) || op == Op::cast) continue;
    const int arity = ir::op_arity(op);
    for (DType t : kAllDTypes) {
      const std::vector<Scalar>& v = fold_values();
      for (size_t i = 0; i < v.size(); ++i) {
        for (size_t j = 0; j < (arity >= 2 ? v.size() : 1); ++j) {
          std::vector<Scalar> operands{v[i]};
          if (arity >= 2) operands.push_back(v[j]);
          if (arity == 3) operands.push_back(v[(i + j) % v.size()]);
          std::optional<Graph> g = constant_graph(op, t, operands);
          if (!g) break;
          bool changed = false;
          const std::string diff = compare(*g, {}, "constant-fold", &changed);
          ASSERT_EQ(diff, "") << ir::op_name(op) << " on " << t;
          folded += changed;
          ++graphs;
        }
      }
    }
  }
  std::cout << "[ values   ] constant-fold folded " << folded << " of " << graphs << " graphs\n";
  EXPECT_GT(folded, 40000);
}

TEST(ConstantFoldValues, CastsBetweenEveryPairMatchTheInterpreter) {
  for (DType from : kAllDTypes) {
    for (DType to : kAllDTypes) {
      for (const Scalar& v : fold_values()) {
        Graph g;
        const ValueId k = g.add_constant(v, from);
        g.set_outputs({add(g, Op::cast, {k}, ir::CastAttrs{to})});
        bool changed = false;
        ASSERT_EQ(compare(g, {}, "constant-fold", &changed), "") << from << " -> " << to;
        EXPECT_TRUE(changed);
      }
    }
  }
}

TEST(ConstantFoldValues, ReductionsOfSplatsMatchTheInterpreter) {
  const Op ops[] = {Op::sum, Op::prod, Op::amax, Op::amin, Op::argmax, Op::argmin};
  const Shape shapes[] = {{0}, {1}, {3}, {16}, {17}, {100}, {1000}, {3, 0}, {7, 45}, {2, 3, 33}};
  int folded = 0, graphs = 0;
  for (Op op : ops) {
    for (DType t : kAllDTypes) {
      for (const Scalar& v : fold_values()) {
        for (const Shape& shape : shapes) {
          const int64_t rank = static_cast<int64_t>(shape.size());
          for (int64_t first = 0; first < rank; ++first) {
            // One axis, or (for sum and prod) every axis from `first` on.
            Shape axes{first};
            if (op != Op::argmax && op != Op::argmin)
              for (int64_t d = first + 1; d < rank; ++d) axes.push_back(d);
            Graph g;
            const ValueId k = g.add_constant(v, t);
            const ValueId r = add(g, Op::reshape, {k}, ir::ShapeAttrs{Shape(shape.size(), 1)});
            const ValueId e = add(g, Op::expand, {r}, ir::ShapeAttrs{shape});
            g.set_outputs({add(g, op, {e}, ir::ReduceAttrs{axes, first % 2 == 1})});
            bool changed = false;
            ASSERT_EQ(compare(g, {}, "constant-fold", &changed), "")
                << ir::op_name(op) << " on " << t << " " << shape_to_string(shape);
            // Only an empty amax/amin/argmax/argmin stays, to fail when run.
            bool empty = false;
            for (int64_t axis : axes) empty |= shape[static_cast<size_t>(axis)] == 0;
            EXPECT_EQ(changed, !(empty && op != Op::sum && op != Op::prod))
                << ir::op_name(op) << " on " << t << " " << shape_to_string(shape);
            folded += changed;
            ++graphs;
          }
        }
      }
    }
  }
  std::cout << "[ values   ] constant-fold folded " << folded << " of " << graphs
            << " reductions\n";
}

// Random graphs (the loop differential fuzzer's generator) through the realization passes.
// Half of the NaN inputs get their sign bit set, which the generator's data never has.
TEST(SimplifyValues, RandomGraphsThroughThePipelineKeepTheBits) {
  int changed_graphs = 0;
  for (uint64_t seed = 1; seed <= 5000; ++seed) {
    const RandomGraph rg = random_graph(seed);
    std::vector<BufferPtr> inputs = random_inputs(rg, seed);
    for (size_t i = 0; i < inputs.size(); ++i) {
      const DType t = rg.inputs[i].type.dtype;
      if (!is_floating_point(t)) continue;
      const size_t size = itemsize(t);
      auto* data = static_cast<unsigned char*>(inputs[i]->data());
      for (size_t e = 0; e * size < inputs[i]->nbytes(); e += 2) {
        uint64_t b = 0;
        std::memcpy(&b, data + e * size, size);
        if (is_nan_bits(t, b)) data[e * size + size - 1] |= 0x80;  // little endian: sign byte
      }
    }
    bool changed = false;
    ASSERT_EQ(compare(rg.graph, inputs, "constant-fold,simplify", &changed), "") << "seed " << seed;
    ASSERT_EQ(compare(rg.graph, inputs, "constant-fold,simplify,cse,dce"), "") << "seed " << seed;
    changed_graphs += changed;
  }
  std::cout << "[ values   ] constant-fold and simplify changed " << changed_graphs
            << " of 5000 random graphs\n";
  EXPECT_GT(changed_graphs, 1000);
}

}  // namespace
}  // namespace kiln::testing
