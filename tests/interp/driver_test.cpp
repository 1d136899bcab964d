// The interpreter's driver: binding inputs, fresh output buffers, freeing intermediates,
// long graphs, zero-size tensors, and refusing malformed graphs or inputs.
#include <chrono>

#include "interp_test_util.h"

namespace kiln::backends::interp::testing {
namespace {

TEST(InterpDriver, InputCountAndSizesAreChecked) {
  Graph g;
  const ValueId x = g.add_input(type(float32, {2, 3}));
  g.set_outputs({add(g, Op::neg, {x})});
  EXPECT_EQ(error_of([&] { run(g, {}); }), "interp: the graph takes 1 inputs, got 0");
  EXPECT_EQ(error_of([&] {
              run(g, {encode(float32, {1, 2, 3}), encode(float32, {1})});
            }),
            "interp: the graph takes 1 inputs, got 2");
  EXPECT_EQ(error_of([&] {
              run(g, {encode(float32, {1, 2, 3})});
            }),
            "interp: input 0 of type f32[2, 3] needs 24 bytes, got 12");
  EXPECT_EQ(error_of([&] {
              run(g, {encode(float64, {1, 2, 3, 4, 5, 6})});
            }),
            "interp: input 0 of type f32[2, 3] needs 24 bytes, got 48");
  EXPECT_EQ(error_of([&] { run(g, {nullptr}); }), "interp: input 0 is null");
  EXPECT_EQ(error_of([&] { run(g, {encode(float32, {1, 2, 3, 4, 5, 6})}); }), "");
}

TEST(InterpDriver, InputsBindByTheirIndex) {
  Graph g;
  const ValueId a = g.add_input(type(int32, {1}));
  const ValueId b = g.add_input(type(int32, {1}));
  g.set_outputs({add(g, Op::sub, {b, a})});
  EXPECT_EQ(values_of<int32_t>(run(g, {buffer_of<int32_t>({1}), buffer_of<int32_t>({10})})[0]),
            std::vector<int32_t>{9});
}

TEST(InterpDriver, OutputsAreFreshAndDistinct) {
  Graph g;
  const ValueId x = g.add_input(type(int32, {3}));
  const ValueId r = add(g, Op::reshape, {x}, ir::ShapeAttrs{{1, 3}});
  const ValueId y = add(g, Op::neg, {x});
  const ValueId ry = add(g, Op::reshape, {y}, ir::ShapeAttrs{{3, 1}});
  g.set_outputs({x, r, y, y, ry, x});
  const BufferPtr input = buffer_of<int32_t>({1, 2, 3});
  const auto out = run(g, {input});
  ASSERT_EQ(out.size(), 6u);
  for (size_t i = 0; i < out.size(); ++i) {
    EXPECT_NE(out[i].get(), input.get()) << "output " << i << " is the input buffer";
    EXPECT_FALSE(out[i]->borrowed());
    for (size_t j = 0; j < i; ++j) EXPECT_NE(out[i].get(), out[j].get()) << i << " and " << j;
  }
  const std::vector<int32_t> values{1, 2, 3}, negated{-1, -2, -3};
  EXPECT_EQ(values_of<int32_t>(out[0]), values);
  EXPECT_EQ(values_of<int32_t>(out[1]), values);
  EXPECT_EQ(values_of<int32_t>(out[2]), negated);
  EXPECT_EQ(values_of<int32_t>(out[3]), negated);
  EXPECT_EQ(values_of<int32_t>(out[4]), negated);
  EXPECT_EQ(values_of<int32_t>(out[5]), values);
  // Writing into one result leaves the others and the input alone.
  out[2]->as<int32_t>()[0] = 100;
  out[0]->as<int32_t>()[0] = 100;
  EXPECT_EQ(values_of<int32_t>(out[3]), negated);
  EXPECT_EQ(values_of<int32_t>(out[4]), negated);
  EXPECT_EQ(values_of<int32_t>(input), values);
}

TEST(InterpDriver, NoOutputsAndUnusedNodes) {
  Graph g;
  const ValueId x = g.add_input(type(float32, {2}));
  add(g, Op::exp, {x});  // dead
  EXPECT_TRUE(run(g, {encode(float32, {1, 2})}).empty());
}

TEST(InterpDriver, BorrowedInputsAreRead) {
  std::vector<int16_t> data{1, -2, 3};
  Graph g;
  const ValueId x = g.add_input(type(int16, {3}));
  g.set_outputs({add(g, Op::abs, {x}), x});
  const auto out = run(g, {runtime::Buffer::borrow(data.data(), 6)});
  EXPECT_EQ(values_of<int16_t>(out[0]), (std::vector<int16_t>{1, 2, 3}));
  EXPECT_EQ(values_of<int16_t>(out[1]), data);
  EXPECT_NE(out[1]->data(), static_cast<void*>(data.data()));
}

TEST(InterpDriver, LongChainRunsFastWithoutRecursion) {
  // x + 1 + 1 + ... 100,000 times: one node per add, each reading the previous.
  Graph g;
  ValueId v = g.add_input(type(int64, {}));
  const ValueId one = g.add_constant(1, int64);
  for (int i = 0; i < 100'000; ++i) v = add(g, Op::add, {v, one});
  g.set_outputs({v});
  const auto start = std::chrono::steady_clock::now();
  const auto out = run(g, {buffer_of<int64_t>({5})});
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(values_of<int64_t>(out[0]), std::vector<int64_t>{100'005});
  EXPECT_LT(seconds, 10.0);  // typically well under a second, sanitizers included
}

TEST(InterpDriver, IntermediatesAreFreedAfterTheirLastUse) {
  // 200 chained 1 MiB values: holding them all would need 200 MiB at once.
  constexpr int64_t kElements = 256 * 1024;
  Graph g;
  ValueId v = g.add_input(type(float32, {kElements}));
  const ValueId x = v;
  for (int i = 0; i < 200; ++i) v = add(g, Op::add, {v, x});
  g.set_outputs({v});
  const BufferPtr input = encode(float32, std::vector<double>(kElements, 0.5));
  const int64_t before = runtime::memory_stats().bytes_in_use;
  const auto out = run(g, {input});
  const runtime::MemoryStats after = runtime::memory_stats();
  EXPECT_EQ(decode(float32, out[0])[kElements - 1], 100.5);
  EXPECT_LT(after.peak_bytes_in_use, 32 * 1024 * 1024);
  // Only the output is still alive.
  EXPECT_EQ(after.bytes_in_use - before, kElements * 4);
}

TEST(InterpDriver, ZeroSizeTensorsEverywhere) {
  // Empty inputs may even come with null data (an empty borrowed buffer).
  const BufferPtr empty = runtime::Buffer::borrow(nullptr, 0);
  Graph g;
  const ValueId x = g.add_input(type(float32, {0, 3}));
  const ValueId c = g.add_input(type(boolean, {0, 3}));
  const ValueId i = g.add_input(type(int64, {0}));
  const std::vector<ValueId> outs{
      add(g, Op::exp, {x}),
      add(g, Op::add, {x, x}),
      add(g, Op::lt, {x, x}),
      add(g, Op::logical_or, {x, c}),
      add(g, Op::cast, {x}, ir::CastAttrs{float16}),
      add(g, Op::where, {c, x, x}),
      add(g, Op::sum, {x}, ir::ReduceAttrs{{1}, false}),
      add(g, Op::amax, {x}, ir::ReduceAttrs{{1}, true}),
      add(g, Op::reshape, {x}, ir::ShapeAttrs{{3, 0}}),
      add(g, Op::permute, {x}, ir::PermuteAttrs{{1, 0}}),
      add(g, Op::slice, {x}, ir::SliceAttrs{1, 1, 3, 1}),
      add(g, Op::as_strided, {x}, ir::StridedAttrs{{0}, {1}, 0}),
      add(g, Op::as_strided_scatter,
          {x, add(g, Op::as_strided, {x}, ir::StridedAttrs{{0}, {1}, 0})},
          ir::StridedAttrs{{0}, {1}, 0}),
      add(g, Op::cat, {x, x}, ir::AxisAttrs{0}),
      add(g, Op::index, {x, i}, ir::AxisAttrs{0}),
      add(g, Op::index, {add(g, Op::permute, {x}, ir::PermuteAttrs{{1, 0}}), i}, ir::AxisAttrs{0}),
      add(g, Op::index_put, {x, add(g, Op::index, {x, i}, ir::AxisAttrs{0}), i},
          ir::IndexPutAttrs{0, true}),
      add(g, Op::matmul, {x, add(g, Op::permute, {x}, ir::PermuteAttrs{{1, 0}})}),
      add(g, Op::expand, {add(g, Op::reshape, {i}, ir::ShapeAttrs{{0, 1}})},
          ir::ShapeAttrs{{0, 4}}),
  };
  // The matmul is [0, 3] x [3, 0] = [0, 0]; sum over the empty axis 0 of [0, 3] is three zeros.
  const ValueId sum0 = add(g, Op::sum, {x}, ir::ReduceAttrs{{0}, false});
  std::vector<ValueId> all = outs;
  all.push_back(sum0);
  g.set_outputs(all);
  const auto out = run(g, {empty, empty, empty});
  ASSERT_EQ(out.size(), all.size());
  for (size_t k = 0; k + 1 < out.size(); ++k) {
    EXPECT_EQ(out[k]->nbytes(), 0u) << "output " << k;
    EXPECT_NE(out[k]->data(), nullptr);
  }
  expect_values(decode(float32, out.back()), {0, 0, 0});
}

TEST(InterpDriver, MalformedGraphsAreRefused) {
  {
    Graph g;
    const ValueId x = g.add_input(type(float32, {2}));
    g.add_node(ir::Node{Op::neg, type(float32, {3}), {x}, ir::NoAttrs{}});  // wrong shape
    g.set_outputs({1});
    EXPECT_EQ(error_of([&] {
                run(g, {encode(float32, {1, 2})});
              }),
              "interp: %1 (neg) is declared f32[3] but computes f32[2]");
  }
  {
    Graph g;
    g.add_input(type(float32, {2}));
    g.add_node(ir::Node{Op::neg, type(float32, {2}), {5}, ir::NoAttrs{}});  // undefined operand
    EXPECT_EQ(error_of([&] {
                run(g, {encode(float32, {1, 2})});
              }),
              "interp: %1 (neg) reads %5, which is not defined before it");
  }
  {
    Graph g;
    const ValueId x = g.add_input(type(int32, {2}));
    g.add_node(ir::Node{Op::exp, type(int32, {2}), {x}, ir::NoAttrs{}});  // float-only op
    EXPECT_NE(error_of([&] {
                run(g, {encode(int32, {1, 2})});
              }).find("floating"),
              std::string::npos);
  }
  {
    Graph g;
    g.add_input(type(float32, {2}));
    g.set_outputs({3});
    EXPECT_EQ(error_of([&] {
                run(g, {encode(float32, {1, 2})});
              }),
              "interp: output %3 is not a node of the graph");
  }
  {
    Graph g;
    const ValueId x = g.add_input(type(float32, {2}));
    g.add_node(ir::Node{Op::slice, type(float32, {2}), {x}, ir::NoAttrs{}});  // wrong attrs
    EXPECT_EQ(error_of([&] {
                run(g, {encode(float32, {1, 2})});
              }),
              "interp: %1 (slice) has the wrong attributes");
  }
}

TEST(InterpDriver, ErrorsLeaveNoLeaks) {
  const int64_t before = runtime::memory_stats().bytes_in_use;
  Graph g;
  const ValueId x = g.add_input(type(int32, {4}));
  const ValueId y = add(g, Op::neg, {x});
  const ValueId z = add(g, Op::div, {y, x});
  g.set_outputs({y, z});
  {
    const BufferPtr input = buffer_of<int32_t>({1, 2, 0, 4});
    EXPECT_EQ(error_of([&] { run(g, {input}); }), "ZeroDivisionError: integer division by zero");
  }
  EXPECT_EQ(runtime::memory_stats().bytes_in_use, before);
}

}  // namespace
}  // namespace kiln::backends::interp::testing
