// Golden-test helpers: IR text in, IR text out.
#pragma once

#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "kiln/ir/graph.h"
#include "kiln/passes/pass.h"

namespace kiln::passes::testing {

// Parses and verifies `text`, runs `pass` once, verifies again and returns the printed result
// (or an "error: ..." line, so a failing golden test shows what went wrong).
inline std::string run_on(Pass& pass, std::string_view text, bool* changed = nullptr) {
  auto g = ir::parse_graph(text);
  if (!g.ok()) return "error: " + std::string(g.status().message());
  if (auto s = ir::verify(*g); !s.ok()) return "error: input: " + std::string(s.message());
  const bool c = pass.run(*g);
  if (changed) *changed = c;
  if (auto s = ir::verify(*g); !s.ok()) return "error: output: " + std::string(s.message());
  return ir::to_string(*g);
}

// Golden check: the pass turns `before` into `after` and reports a change exactly when the
// text differs.
inline void expect_golden(Pass& pass, std::string_view before, std::string_view after) {
  bool changed = false;
  EXPECT_EQ(run_on(pass, before, &changed), after);
  auto normalized = ir::parse_graph(before);
  ASSERT_TRUE(normalized.ok()) << normalized.status();
  EXPECT_EQ(changed, ir::to_string(*normalized) != after);
}

}  // namespace kiln::passes::testing
