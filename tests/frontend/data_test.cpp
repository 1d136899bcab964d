// kiln::data: CSV files (plain and gzip), randperm against PyTorch, minibatches.
#include <zlib.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kiln/kiln.h"

namespace kiln {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string temp_path(const std::string& name) {
  return ::testing::TempDir() + "kiln_data_test_" + name;
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

void write_gzip(const std::string& path, const std::string& text) {
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(gzwrite(f, text.data(), static_cast<unsigned>(text.size())),
            static_cast<int>(text.size()));
  gzclose(f);
}

template <class Fn>
std::string error_of(Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(Data, ReadsPlainAndGzipCsvByContent) {
  const std::string text = "a,b,c\n1,2,3\n4.5, -6 ,7e1\n";
  write_text(temp_path("plain.csv"), text);
  write_gzip(temp_path("packed.txt"), text);  // the name says nothing: the content does
  for (std::string name : {"plain.csv", "packed.txt"}) {
    Tensor t = data::read_csv(temp_path(name), {.skip_header = true});
    EXPECT_EQ(t.sizes(), (Shape{2, 3})) << name;
    EXPECT_EQ(t.dtype(), float32);
    EXPECT_THAT(t.tolist<float>(), ElementsAre(1, 2, 3, 4.5f, -6, 70)) << name;
  }
  Tensor d = data::read_csv(temp_path("plain.csv"), {.skip_header = true, .dtype = float64});
  EXPECT_EQ(d.dtype(), float64);
}

TEST(Data, BadCsvFilesThrowWithTheLine) {
  write_text(temp_path("ragged.csv"), "1,2\n3\n");
  EXPECT_THAT(error_of([] { data::read_csv(temp_path("ragged.csv")); }),
              HasSubstr("line 2 has 1 fields, expected 2"));
  write_text(temp_path("word.csv"), "1,x\n");
  EXPECT_THAT(error_of([] { data::read_csv(temp_path("word.csv")); }),
              HasSubstr("line 1 column 2: not a number: 'x'"));
  EXPECT_THAT(error_of([] { data::read_csv(temp_path("missing.csv")); }), HasSubstr("cannot open"));
}

TEST(Data, TheDigitsDataSet) {
  const char* root = std::getenv("KILN_DATA_DIR");
  ASSERT_NE(root, nullptr) << "KILN_DATA_DIR (the project's data/ folder) is not set";
  Tensor t = data::read_csv(std::string(root) + "/digits.csv.gz");
  EXPECT_EQ(t.sizes(), (Shape{1797, 65}));
  EXPECT_EQ(t.index({Slice(), Slice(0, 64)}).max().item<float>(), 16.0f);
  EXPECT_EQ(t.index({Slice(), 64}).max().item<float>(), 9.0f);
}

TEST(Data, RandpermGivesTorchsNumbers) {
  // torch.manual_seed(0); torch.randperm(10) and torch.randperm(1437)[:8] in torch 1.13.
  manual_seed(0);
  EXPECT_THAT(randperm(10).tolist<int64_t>(), ElementsAre(4, 1, 7, 5, 3, 9, 0, 8, 6, 2));
  manual_seed(0);
  const std::vector<int64_t> long_perm = randperm(1437).tolist<int64_t>();
  EXPECT_THAT(std::vector<int64_t>(long_perm.begin(), long_perm.begin() + 8),
              ElementsAre(515, 532, 1290, 1059, 1198, 208, 895, 370));
  EXPECT_EQ(randperm(0).numel(), 0);
}

TEST(Data, LoaderBatchesInOrderOrShuffled) {
  Tensor x = arange(10, float32).reshape({5, 2});
  Tensor y = arange(5);
  data::DataLoader ordered(x, y, 2);
  EXPECT_EQ(ordered.size(), 3);
  std::vector<int64_t> seen;
  int64_t batches = 0;
  for (const data::Batch& b : ordered) {
    ++batches;
    for (int64_t v : b.targets.tolist<int64_t>()) seen.push_back(v);
    EXPECT_EQ(b.inputs.size(0), b.targets.size(0));
  }
  EXPECT_EQ(batches, 3);
  EXPECT_THAT(seen, ElementsAre(0, 1, 2, 3, 4));

  data::DataLoader shuffled(x, y, 2, true);
  manual_seed(0);
  std::vector<int64_t> order;
  for (const data::Batch& b : shuffled) {
    const std::vector<int64_t> t = b.targets.tolist<int64_t>();
    const std::vector<float> in = b.inputs.tolist<float>();
    for (size_t i = 0; i < t.size(); ++i) {
      order.push_back(t[i]);
      EXPECT_EQ(in[2 * i], 2.0f * static_cast<float>(t[i])) << "rows stay paired";
    }
  }
  manual_seed(0);
  EXPECT_EQ(order, randperm(5).tolist<int64_t>());
  EXPECT_THAT(error_of([&] { data::DataLoader(x, arange(4), 2); }),
              HasSubstr("the same number of rows"));
}

}  // namespace
}  // namespace kiln
