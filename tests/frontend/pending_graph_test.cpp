// The pending-graph walk that realization compares with its cache (pending_graph.h): same_as
// must accept exactly the graph that to_graph builds and refuse every difference that changes
// what the graph computes, and equal graphs must hash alike whatever their buffers hold.
#include <functional>

#include "frontend_test_util.h"
#include "kiln/frontend/lazy.h"
#include "kiln/frontend/pending_graph.h"
#include "kiln/frontend/realization_cache.h"
#include "kiln/frontend/tensor_impl.h"
#include "kiln/ir/graph_hash.h"

namespace kiln {
namespace {

using frontend::LazyPtr;
using frontend::PendingGraph;
using testing::values;
using V = std::vector<double>;

LazyPtr pending_of(const Tensor& t) { return frontend::impl_of(t).storage->value; }

Tensor realized(const Tensor& t) {
  eval(t);
  return t;
}

// Builds a pending graph over fresh realized inputs (the caller's recipe), so that two calls
// give graphs over different nodes and buffers.
using Recipe = std::function<std::vector<Tensor>()>;

std::vector<LazyPtr> targets_of(const std::vector<Tensor>& ts) {
  std::vector<LazyPtr> out;
  for (const Tensor& t : ts) out.push_back(pending_of(t));
  return out;
}

// The graph of `recipe` as to_graph builds it, then whether a fresh walk of `other` is the same.
bool walks_agree(const Recipe& recipe, const Recipe& other) {
  // The first graph is built before the second recipe runs: realizing that recipe's inputs
  // computes everything pending, the first graph's values included.
  const std::vector<LazyPtr> ta = targets_of(recipe());
  const ir::Graph graph = PendingGraph(ta, {}).to_graph();
  const size_t hash = PendingGraph(ta, {}).hash();
  const std::vector<LazyPtr> tb = targets_of(other());
  const PendingGraph walk(tb, {});  // the last walk: its stamps are current
  const bool same = walk.same_as(graph);
  if (same) {
    EXPECT_EQ(walk.hash(), hash) << "equal graphs must hash alike";
  }
  return same;
}

TEST(PendingGraph, ToGraphIsWhatBuildGraphGaveAndSameAsAcceptsIt) {
  Tensor x = realized(arange(6, float32).reshape({2, 3}));
  Tensor w = realized(full({3}, 0.5));
  Tensor y = ((x * 2 + w).exp().sum(1, true) - x.t().sum(0).reshape({2, 1})) / 3;
  Tensor z = x.index({Slice(), Slice(0, None, 2)}) * 4;
  const std::vector<LazyPtr> targets = {pending_of(y), pending_of(z)};
  const frontend::BuiltGraph built = frontend::build_graph(targets, {});
  EXPECT_TRUE(ir::verify(built.graph).ok()) << built.graph;
  const PendingGraph walk(targets, {});
  EXPECT_TRUE(ir::same_graph(walk.to_graph(), built.graph));
  EXPECT_TRUE(walk.same_as(built.graph));
  EXPECT_EQ(walk.size(), built.graph.size());
  EXPECT_EQ(walk.outputs.size(), 2u);
  EXPECT_EQ(walk.inputs.size(), walk.input_nodes.size());
  EXPECT_EQ(walk.inputs.size(), 2u);  // x and w, each once
}

TEST(PendingGraph, EqualGraphsOverOtherBuffersAreTheSame) {
  auto recipe = [](double start) {
    return [start] {
      Tensor x = realized(arange(start, start + 6, 1.0, float32).reshape({2, 3}));
      return std::vector<Tensor>{(x * 2 + 1).sum(0)};
    };
  };
  EXPECT_TRUE(walks_agree(recipe(0), recipe(100)));
}

TEST(PendingGraph, SameAsRefusesEveryDifference) {
  auto over = [](std::function<Tensor(const Tensor&)> f, Shape shape = {2, 3},
                 DType dtype = float32) {
    return [f, shape, dtype] {
      Tensor x = realized(ones(shape, dtype));
      return std::vector<Tensor>{f(x)};
    };
  };
  const Recipe base = over([](const Tensor& x) { return x * 2 + 1; });
  EXPECT_TRUE(walks_agree(base, base));
  // A constant's value, an op, an input's shape or dtype.
  EXPECT_FALSE(walks_agree(base, over([](const Tensor& x) { return x * 3 + 1; })));
  EXPECT_FALSE(walks_agree(base, over([](const Tensor& x) { return x * 2 - 1; })));
  EXPECT_FALSE(walks_agree(base, over([](const Tensor& x) { return x * 2 + 1; }, {3, 2})));
  EXPECT_FALSE(walks_agree(base, over([](const Tensor& x) { return x * 2 + 1; }, {2, 3}, float64)));
  // -0.0 against 0.0 (bitwise constants), and attributes: reduced dims, keepdim.
  EXPECT_FALSE(walks_agree(over([](const Tensor& x) { return x + 0.0; }),
                           over([](const Tensor& x) { return x + -0.0; })));
  EXPECT_FALSE(walks_agree(over([](const Tensor& x) { return x.sum(0); }),
                           over([](const Tensor& x) { return x.sum(1); })));
  EXPECT_FALSE(walks_agree(over([](const Tensor& x) { return x.sum(0, true); }),
                           over([](const Tensor& x) { return x.sum(0); })));
  // Operand order, and which operand is an input and which a computed value.
  auto two = [](bool swap) {
    return [swap] {
      Tensor a = realized(ones({4}));
      Tensor b = realized(full({4}, 2.0));
      Tensor e = a.exp();
      return std::vector<Tensor>{swap ? b - e : e - b};
    };
  };
  EXPECT_TRUE(walks_agree(two(false), two(false)));
  EXPECT_FALSE(walks_agree(two(false), two(true)));
  // The outputs: one more target.
  auto outputs = [](bool both) {
    return [both] {
      Tensor x = realized(ones({4}));
      Tensor y = x * 2;
      Tensor z = y + 1;
      return both ? std::vector<Tensor>{z, y} : std::vector<Tensor>{z};
    };
  };
  EXPECT_FALSE(walks_agree(outputs(false), outputs(true)));
}

// End to end: eager steps of one shape reuse one cache entry, and a changed constant gets its
// own (the values prove it ran its own graph).
TEST(PendingGraph, EagerStepsHitTheCacheAndConstantsStayApart) {
  Tensor x = realized(arange(6, float32));
  const auto before = frontend::realization_cache_stats();
  for (int i = 0; i < 5; ++i) {
    Tensor y = x * 2 + 1;
    EXPECT_EQ(values(y), V({1, 3, 5, 7, 9, 11}));
  }
  const auto after = frontend::realization_cache_stats();
  EXPECT_LE(after.misses - before.misses, 1u);
  EXPECT_GE(after.hits - before.hits, 4u);
  Tensor y3 = x * 3 + 1;
  EXPECT_EQ(values(y3), V({1, 4, 7, 10, 13, 16}));
}

}  // namespace
}  // namespace kiln
