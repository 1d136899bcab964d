// The realization cache: a graph seen before runs its prepared program on the new inputs;
// anything that changes the computation (constants, shapes, dtypes, ops) compiles afresh.
#include <cmath>
#include <vector>

#include "gtest/gtest.h"
#include "kiln/frontend/realization_cache.h"
#include "kiln/kiln.h"

namespace kiln {
namespace {

using frontend::realization_cache_stats;

// x = arange(rows * 3) / (rows * 3) + shift as a realized rows x 3 tensor (made on the host,
// so that no realization graph holds `shift`).
Tensor input(int64_t rows, float shift) {
  std::vector<float> values(static_cast<size_t>(rows * 3));
  for (size_t i = 0; i < values.size(); ++i)
    values[i] = static_cast<float>(i) / static_cast<float>(values.size()) + shift;
  return tensor(values).reshape({rows, 3});
}

// One realization of ((x * c + 1).exp() * x).sum(1).
std::vector<float> step(const Tensor& x, float c) {
  return ((x * c + 1).exp() * x).sum(1).tolist<float>();
}

TEST(RealizationCache, ARepeatedGraphRunsFromTheCacheWithItsNewInputs) {
  step(input(4, 0.0f), 2.0f);
  const auto before = realization_cache_stats();
  const std::vector<float> first = step(input(4, 0.5f), 2.0f);
  const std::vector<float> second = step(input(4, 0.25f), 2.0f);
  const auto after = realization_cache_stats();
  EXPECT_EQ(after.misses, before.misses) << "the same graph must not compile again";
  EXPECT_EQ(after.hits - before.hits, 2u);
  // The cached program read the new inputs: the results are those of a fresh compile.
  ASSERT_EQ(first.size(), 4u);
  EXPECT_NE(first, second);
  std::vector<float> want;
  const std::vector<float> x = input(4, 0.25f).tolist<float>();
  for (int r = 0; r < 4; ++r) {
    float sum = 0;
    for (int c = 0; c < 3; ++c) sum += std::exp(x[r * 3 + c] * 2.0f + 1) * x[r * 3 + c];
    want.push_back(sum);
  }
  for (int r = 0; r < 4; ++r) EXPECT_NEAR(second[r], want[r], 1e-5 * std::abs(want[r]));
}

TEST(RealizationCache, NewConstantsAndShapesCompileAfresh) {
  step(input(5, 0.0f), 3.0f);
  const auto before = realization_cache_stats();
  const std::vector<float> other_constant = step(input(5, 0.0f), 3.5f);
  const auto after_constant = realization_cache_stats();
  EXPECT_EQ(after_constant.misses - before.misses, 1u);
  step(input(6, 0.0f), 3.0f);
  EXPECT_EQ(realization_cache_stats().misses - after_constant.misses, 1u);
  // The new constant is used, not the cached program's.
  EXPECT_NE(other_constant, step(input(5, 0.0f), 3.0f));
}

TEST(RealizationCache, ALongLoopOfTheSameStepDoesNotGrowTheCache) {
  Tensor w = ones({3, 3});
  Tensor x = full({2, 3}, 0.5f);
  // The first step reads constants and leaves `w` pending (an intermediate of a read,
  // frontend/realize.h), the second stores `w`, the next ones read buffers only.
  for (int i = 0; i < 3; ++i) {
    x = (x.matmul(w) * 0.1f).relu();
    eval(x);
  }
  const auto before = realization_cache_stats();
  for (int i = 0; i < 200; ++i) {
    x = (x.matmul(w) * 0.1f).relu();
    eval(x);
  }
  const auto after = realization_cache_stats();
  EXPECT_EQ(after.misses, before.misses);
  EXPECT_EQ(after.entries, before.entries);
  EXPECT_EQ(after.hits - before.hits, 200u);
}

}  // namespace
}  // namespace kiln
