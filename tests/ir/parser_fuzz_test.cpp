// The parser and verifier never crash: thousands of random mutations of valid IR text either
// fail with an error or give a graph that prints and parses back identically. Run under
// ASan/UBSan this also checks that no mutation reaches undefined behaviour (overflowing size
// arithmetic in inference, out-of-range operand ids).
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "ir/op_samples.h"
#include "kiln/ir/graph.h"

namespace kiln::ir {
namespace {

std::vector<std::string> seed_texts() {
  std::vector<std::string> texts;
  for (int i = 0; i < kNumOps; ++i) {
    auto g = testing::sample_graph(static_cast<Op>(i));
    if (g.ok()) texts.push_back(to_string(*g));
  }
  return texts;
}

// Characters that matter to the grammar, plus digits and extreme numbers.
std::string random_piece(std::mt19937_64& rng) {
  static const char* const kPieces[] = {"%",
                                        "=",
                                        "(",
                                        ")",
                                        "{",
                                        "}",
                                        "[",
                                        "]",
                                        ",",
                                        ":",
                                        "-",
                                        "0",
                                        "1",
                                        "9",
                                        "\n",
                                        " ",
                                        "#",
                                        "//",
                                        "nan",
                                        "inf",
                                        "e",
                                        ".",
                                        "f32",
                                        "i64",
                                        "b8",
                                        "-1",
                                        "return",
                                        "9223372036854775807",
                                        "-9223372036854775808",
                                        "4611686018427387904",
                                        "2147483647",
                                        "x",
                                        "\r",
                                        "\t"};
  return kPieces[rng() % std::size(kPieces)];
}

std::string mutate(std::string text, std::mt19937_64& rng) {
  const int edits = 1 + static_cast<int>(rng() % 4);
  for (int e = 0; e < edits; ++e) {
    const size_t pos = text.empty() ? 0 : rng() % text.size();
    switch (rng() % 5) {
      case 0:  // delete a short run
        text.erase(pos, 1 + rng() % 3);
        break;
      case 1:  // insert a grammar piece
        text.insert(pos, random_piece(rng));
        break;
      case 2:  // replace a character with a piece
        if (!text.empty()) text.replace(pos, 1, random_piece(rng));
        break;
      case 3:  // replace a digit with another number
        if (!text.empty() && text[pos] >= '0' && text[pos] <= '9')
          text.replace(pos, 1, std::to_string(static_cast<int64_t>(rng() % 20) - 5));
        break;
      case 4: {  // duplicate a slice elsewhere
        const size_t len = rng() % 24;
        const std::string slice = text.substr(pos, len);
        text.insert(text.empty() ? 0 : rng() % text.size(), slice);
        break;
      }
    }
  }
  return text;
}

TEST(ParserFuzz, MutatedTextNeverCrashes) {
  const std::vector<std::string> seeds = seed_texts();
  ASSERT_EQ(static_cast<int>(seeds.size()), kNumOps);
  std::mt19937_64 rng(12345);
  int parsed = 0, verified = 0;
  for (int iteration = 0; iteration < 30000; ++iteration) {
    const std::string text = mutate(seeds[rng() % seeds.size()], rng);
    auto g = parse_graph(text);
    if (!g.ok()) {
      EXPECT_EQ(g.status().message().substr(0, 5), "line ") << g.status();
      continue;
    }
    ++parsed;
    const std::string printed = to_string(*g);
    auto again = parse_graph(printed);
    ASSERT_TRUE(again.ok()) << "input:\n" << text << "\nprinted:\n" << printed << again.status();
    EXPECT_EQ(to_string(*again), printed);
    if (verify(*g).ok()) ++verified;
  }
  // The mutations must leave enough text valid for the later stages to be exercised.
  EXPECT_GT(parsed, 1000);
  EXPECT_GT(verified, 100);
}

}  // namespace
}  // namespace kiln::ir
