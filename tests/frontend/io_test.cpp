// kiln::save / kiln::load with safetensors: round trips of every dtype (bit for bit), views,
// the byte layout against an independent Python writer (tests/data/layout.safetensors), files
// in the reference writer's layout, and atomic saving.
#include <sys/stat.h>

#include <random>

#include "io_test_util.h"

namespace kiln {
namespace {

using namespace kiln::testing;  // NOLINT

// Random bits of every dtype, NaN payloads and subnormals included (bools are 0 or 1).
struct RandomBits {
  Bytes bytes;
  Tensor tensor;  // a from_blob view of `bytes`: saved exactly as stored
};

RandomBits random_bits(DType dtype, const Shape& shape, uint64_t seed) {
  RandomBits r;
  std::mt19937_64 gen(seed);
  r.bytes.resize(static_cast<size_t>(numel(shape)) * itemsize(dtype) + 1);
  for (uint8_t& b : r.bytes) b = static_cast<uint8_t>(dtype == boolean ? gen() & 1 : gen());
  r.tensor = from_blob(r.bytes.data(), shape, dtype);
  return r;
}

TEST(SaveLoad, EveryDtypeRoundTripsBitForBit) {
  ScratchDir dir;
  std::vector<RandomBits> keep;
  StateDict sd;
  uint64_t seed = 1;
  for (DType dtype : kAllDTypes) {
    for (const Shape& shape : {Shape{3, 4}, Shape{}, Shape{0, 2}, Shape{2, 1, 3}}) {
      keep.push_back(random_bits(dtype, shape, seed++));
      sd.insert(std::string(name(dtype)) + "/" + std::to_string(keep.size()), keep.back().tensor);
    }
  }
  save(sd, dir.file("all.safetensors"));
  const StateDict loaded = load(dir.file("all.safetensors"));
  ASSERT_EQ(loaded.keys(), sd.keys());  // insertion order, whatever the data layout
  for (const auto& [key, t] : sd) {
    SCOPED_TRACE(key);
    const Tensor& l = loaded.at(key);
    EXPECT_EQ(l.dtype(), t.dtype());
    EXPECT_EQ(shape_of(l), shape_of(t));
    EXPECT_TRUE(l.is_contiguous());
    EXPECT_EQ(raw_bytes(l), raw_bytes(t));
    EXPECT_FALSE(l.requires_grad());
  }
}

TEST(SaveLoad, ViewsAndNonContiguousTensorsAreSavedDense) {
  ScratchDir dir;
  const Tensor t = arange(24, float32).reshape({4, 6});
  StateDict sd;
  sd.insert("t", t);
  sd.insert("transposed", t.t());
  sd.insert("columns", t.narrow(1, 2, 3));
  sd.insert("row", t[2]);
  sd.insert("element", t[1][4]);
  sd.insert("expanded", tensor({1.5f, -2.5f}).expand({3, 2}));
  sd.insert("permuted", arange(24, int16).reshape({2, 3, 4}).permute({2, 0, 1}));
  const Tensor grad_leaf = ones({2}).requires_grad_();
  sd.insert("needs_grad", grad_leaf * 3);
  save(sd, dir.file("views.safetensors"));
  const StateDict loaded = load(dir.file("views.safetensors"));
  ASSERT_EQ(loaded.keys(), sd.keys());
  for (const auto& [key, original] : sd) {
    SCOPED_TRACE(key);
    EXPECT_EQ(shape_of(loaded.at(key)), shape_of(original));
    EXPECT_EQ(loaded.at(key).dtype(), original.dtype());
    EXPECT_TRUE(same_values(values(loaded.at(key)), values(original)));
  }
  // The file holds exactly the elements of each view, not their storages.
  const Bytes file = read_file(dir.file("views.safetensors"));
  uint64_t header = 0;
  std::memcpy(&header, file.data(), 8);
  EXPECT_EQ(file.size() - 8 - header, (24 + 24 + 12 + 6 + 1 + 6) * 4 + 24 * 2 + 2 * 4);
}

TEST(SaveLoad, EmptyStateDict) {
  ScratchDir dir;
  save(StateDict(), dir.file("empty.safetensors"));
  EXPECT_EQ(read_file(dir.file("empty.safetensors")),
            to_bytes(std::string("\x08\0\0\0\0\0\0\0{}      ", 16)));
  EXPECT_EQ(load(dir.file("empty.safetensors")).size(), 0u);
}

// The state dict of make_safetensors_fixtures.py's layout_dict(), built with kiln.
StateDict layout_dict() {
  StateDict sd;
  sd.insert("weight", arange(6, float32).reshape({2, 3}) * 0.5 - 1);
  sd.insert("bias", tensor({0.5, -1.0, 2.0}, float16));
  sd.insert("ids", tensor(std::vector<int64_t>{1, -2, int64_t{1} << 40, -(int64_t{1} << 62)}));
  sd.insert("mask", tensor({{true, false}, {false, true}}));
  sd.insert("scale", tensor(0.125, float64));
  sd.insert("bytes", tensor(std::vector<uint8_t>{0, 1, 128, 254, 255}));
  sd.insert("emb", tensor({1.5, -3.0}, bfloat16));
  sd.insert("i8", tensor(std::vector<int8_t>{-128, 0, 127}));
  sd.insert("i16", tensor(std::vector<int16_t>{-32768, 32767}));
  sd.insert("i32", tensor(std::vector<int32_t>{INT32_MIN, INT32_MAX}));
  sd.insert("empty", zeros({0, 4}));
  sd.insert("na\xc3\xafve/\xd0\xba\xd0\xbb\xd1\x8e\xd1\x87", tensor({42.0f}));
  sd.insert(std::string("q\"uote\\back\nslash\x01"), tensor(std::vector<int16_t>{7}));
  return sd;
}

TEST(SaveLoad, ByteLayoutMatchesIndependentWriter) {
  ScratchDir dir;
  save(layout_dict(), dir.file("layout.safetensors"));
  const Bytes expected = read_file(data_dir() + "/layout.safetensors");
  const Bytes written = read_file(dir.file("layout.safetensors"));
  ASSERT_FALSE(expected.empty());
  EXPECT_EQ(written.size(), expected.size());
  for (size_t i = 0; i < std::min(written.size(), expected.size()); ++i)
    ASSERT_EQ(written[i], expected[i]) << "first difference at byte " << i;
  // And the fixture loads back as the same dict.
  const StateDict sd = layout_dict();
  const StateDict loaded = load(data_dir() + "/layout.safetensors");
  ASSERT_EQ(loaded.keys(), sd.keys());
  for (const auto& [key, t] : sd) EXPECT_EQ(raw_bytes(loaded.at(key)), raw_bytes(t)) << key;
}

TEST(SaveLoad, EveryTensorIsAlignedToItsElementSize) {
  ScratchDir dir;
  StateDict sd;
  sd.insert("u8", ones({3}, uint8));
  sd.insert("f16", ones({3}, float16));
  sd.insert("f64", ones({3}, float64));
  sd.insert("f32", ones({3}, float32));
  save(sd, dir.file("a.safetensors"));
  const Bytes file = read_file(dir.file("a.safetensors"));
  uint64_t header = 0;
  std::memcpy(&header, file.data(), 8);
  EXPECT_EQ(header % 8, 0u);
  const std::string text(file.begin() + 8, file.begin() + 8 + static_cast<std::ptrdiff_t>(header));
  EXPECT_NE(text.find("\"f64\":{\"dtype\":\"F64\",\"shape\":[3],\"data_offsets\":[0,24]}"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("\"f32\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[24,36]}"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("\"f16\":{\"dtype\":\"F16\",\"shape\":[3],\"data_offsets\":[36,42]}"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("\"u8\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[42,45]}"),
            std::string::npos)
      << text;
}

TEST(SaveLoad, ReadsTheReferenceWritersLayoutInHeaderOrder) {
  // __metadata__ first, tensors sorted by dtype then name (as Hugging Face's writer does).
  const StateDict sd = load(data_dir() + "/reference.safetensors");
  EXPECT_EQ(sd.keys(), (std::vector<std::string>{"c", "a", "b", "d"}));
  EXPECT_EQ(sd.at("a").tolist<float>(), (std::vector<float>{0.25f, 0.5f}));
  EXPECT_EQ(sd.at("b").dtype(), int32);
  EXPECT_EQ(sd.at("b").tolist<int64_t>(), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(sd.at("c").tolist<int64_t>(), (std::vector<int64_t>{3}));
  EXPECT_EQ(sd.at("d").tolist<bool>(), (std::vector<bool>{true, false}));
}

TEST(SaveLoad, LoadedBoolsAreZeroOrOne) {
  // A BOOL byte other than 0 or 1 reads as true (and is stored as 1).
  const Bytes file = safetensors_file(R"({"m":{"dtype":"BOOL","shape":[4],"data_offsets":[0,4]}})",
                                      Bytes{0, 1, 2, 255});
  const StateDict sd = load_bytes(file);
  EXPECT_EQ(raw_bytes(sd.at("m")), (Bytes{0, 1, 1, 1}));
}

TEST(SaveLoad, MapLocation) {
  ScratchDir dir;
  StateDict sd;
  sd.insert("x", ones({2}));
  save(sd, dir.file("x.safetensors"));
  EXPECT_EQ(load(dir.file("x.safetensors"), cpu).at("x").device(), cpu);
  if (!cuda_is_available()) {
    EXPECT_THAT(error_of([&] { load(dir.file("x.safetensors"), cuda); }),
                ::testing::HasSubstr("cuda"));
  }
}

TEST(SaveErrors, BadKeysAndTensors) {
  ScratchDir dir;
  const std::string path = dir.file("bad.safetensors");
  StateDict undefined;
  undefined["w"];
  EXPECT_THAT(error_of([&] { save(undefined, path); }),
              ::testing::AllOf(::testing::HasSubstr(path), ::testing::HasSubstr("undefined")));
  StateDict reserved;
  reserved.insert("__metadata__", ones({1}));
  EXPECT_THAT(error_of([&] { save(reserved, path); }), ::testing::HasSubstr("reserved"));
  StateDict not_utf8;
  not_utf8.insert("bad\xff", ones({1}));
  EXPECT_THAT(error_of([&] { save(not_utf8, path); }), ::testing::HasSubstr("UTF-8"));
  EXPECT_THAT(error_of([&] { save(StateDict(), dir.file("no/such/dir/x.safetensors")); }),
              ::testing::HasSubstr("cannot create a temporary file"));
  EXPECT_TRUE(dir.listing().empty());
}

TEST(LoadErrors, MissingFileAndDirectory) {
  ScratchDir dir;
  EXPECT_THAT(error_of([&] { load(dir.file("missing.safetensors")); }),
              ::testing::AllOf(::testing::HasSubstr("missing.safetensors"),
                               ::testing::HasSubstr("cannot open")));
  EXPECT_THAT(error_of([&] { load(dir.path()); }), ::testing::HasSubstr("directory"));
}

// ---- atomic save ----

StateDict numbered(float value, int64_t n) {
  StateDict sd;
  sd.insert("a", full({n}, value));
  sd.insert("b", arange(n, int64));
  return sd;
}

TEST(AtomicSave, FailureMidWriteLeavesTheOldFileAndNoTemporaryFile) {
  ScratchDir dir;
  const std::string path = dir.file("model.safetensors");
  save(numbered(1.0f, 10), path);
  const Bytes old = read_file(path);
  const uint64_t new_size = 8 + 128 + 1000 * 12;  // about: a header, then 12,000 data bytes
  for (int64_t fail_after : {int64_t{0}, int64_t{1}, int64_t{8}, int64_t{100}, int64_t{5000},
                             static_cast<int64_t>(new_size) - 200}) {
    SCOPED_TRACE(fail_after);
    const std::string message =
        error_of([&] { io::save(numbered(2.0f, 1000), path, {.fail_after_bytes = fail_after}); });
    EXPECT_THAT(message,
                ::testing::AllOf(::testing::HasSubstr(path), ::testing::HasSubstr("simulated"),
                                 ::testing::HasSubstr("unchanged")));
    EXPECT_EQ(read_file(path), old);
    EXPECT_EQ(dir.listing(), std::vector<std::string>{"model.safetensors"});
  }
  // The old file still loads, and an unhindered save replaces it.
  EXPECT_EQ(values(load(path).at("a")), std::vector<double>(10, 1.0));
  save(numbered(2.0f, 1000), path);
  EXPECT_EQ(values(load(path).at("a")), std::vector<double>(1000, 2.0));
  EXPECT_EQ(dir.listing(), std::vector<std::string>{"model.safetensors"});
}

TEST(AtomicSave, FailureWithoutAnOldFileLeavesNothing) {
  ScratchDir dir;
  EXPECT_THAT(error_of([&] {
                io::save(numbered(1.0f, 10), dir.file("new.safetensors"), {.fail_after_bytes = 20});
              }),
              ::testing::HasSubstr("simulated"));
  EXPECT_TRUE(dir.listing().empty());
}

TEST(AtomicSave, KeepsPermissionsAndWritesThroughSymlinks) {
  ScratchDir dir;
  const std::string target = dir.file("real.safetensors");
  save(numbered(1.0f, 3), target);
  ASSERT_EQ(::chmod(target.c_str(), 0600), 0);
  std::filesystem::create_symlink(target, dir.file("link.safetensors"));
  save(numbered(5.0f, 3), dir.file("link.safetensors"));
  EXPECT_TRUE(std::filesystem::is_symlink(dir.file("link.safetensors")));
  EXPECT_EQ(values(load(target).at("a")), std::vector<double>(3, 5.0));
  struct stat st;
  ASSERT_EQ(::stat(target.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(dir.listing(), (std::vector<std::string>{"link.safetensors", "real.safetensors"}));
}

TEST(AtomicSave, FileFromThisDirectoryWithoutASlash) {
  // A bare file name is saved in the working directory (the temporary file too).
  ScratchDir dir;
  const std::filesystem::path previous = std::filesystem::current_path();
  std::filesystem::current_path(dir.path());
  save(numbered(3.0f, 2), "bare.safetensors");
  const StateDict loaded = load("bare.safetensors");
  std::filesystem::current_path(previous);
  EXPECT_EQ(values(loaded.at("a")), std::vector<double>(2, 3.0));
  EXPECT_EQ(dir.listing(), std::vector<std::string>{"bare.safetensors"});
}

}  // namespace
}  // namespace kiln
