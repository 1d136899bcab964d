// kiln::load of files written by PyTorch 1.13's torch.save (tests/data/make_pth_fixtures.py):
// module state dicts, every dtype, tensors sharing storages through views, parameters, many
// entries (long memo indices), pickle protocol 4, and the refused legacy format.
#include "io_test_util.h"

namespace kiln {
namespace {

using namespace kiln::testing;  // NOLINT

StateDict fixture(const std::string& name) { return load(data_dir() + "/" + name); }

const std::vector<double> kFloats = {0.0, -0.0, 1.5, -2.25, 1024.0, kInf, -kInf, kNaN};

void expect_linear(const StateDict& sd) {
  ASSERT_EQ(sd.keys(), (std::vector<std::string>{"weight", "bias"}));
  EXPECT_EQ(sd.at("weight").dtype(), float32);
  EXPECT_EQ(shape_of(sd.at("weight")), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(values(sd.at("weight")), (std::vector<double>{-0.25, -0.125, 0.0, 0.125, 0.25, 0.375}));
  EXPECT_EQ(values(sd.at("bias")), (std::vector<double>{0.5, -1.5}));
  EXPECT_FALSE(sd.at("weight").requires_grad());  // state_dict() detaches
}

TEST(LoadTorch, LinearStateDict) { expect_linear(fixture("linear.pth")); }

TEST(LoadTorch, PickleProtocol4) { expect_linear(fixture("linear_protocol4.pth")); }

TEST(LoadTorch, EveryDtype) {
  const StateDict sd = fixture("all_dtypes.pth");
  EXPECT_EQ(sd.keys(),
            (std::vector<std::string>{"float32", "float64", "float16", "bfloat16", "int8", "int16",
                                      "int32", "int64", "uint8", "bool"}));
  for (DType d : {float32, float64, float16, bfloat16}) {
    const Tensor& t = sd.at(std::string(name(d)));
    EXPECT_EQ(t.dtype(), d);
    const std::vector<double> v = values(t);
    EXPECT_TRUE(same_values(v, kFloats)) << name(d);
    EXPECT_TRUE(std::signbit(v[1])) << name(d);  // -0.0
  }
  EXPECT_EQ(sd.at("int8").tolist<int64_t>(), (std::vector<int64_t>{0, 1, -1, 127, -128}));
  EXPECT_EQ(sd.at("int16").tolist<int64_t>(), (std::vector<int64_t>{0, 1, -1, 32767, -32768}));
  EXPECT_EQ(sd.at("int32").tolist<int64_t>(),
            (std::vector<int64_t>{0, 1, -1, INT32_MAX, INT32_MIN}));
  EXPECT_EQ(sd.at("int64").tolist<int64_t>(),
            (std::vector<int64_t>{0, 1, -1, INT64_MAX, INT64_MIN}));
  EXPECT_EQ(sd.at("uint8").tolist<int64_t>(), (std::vector<int64_t>{0, 1, 127, 128, 255}));
  EXPECT_EQ(sd.at("bool").tolist<bool>(), (std::vector<bool>{true, false, true}));
  for (const auto& [key, t] : sd) EXPECT_EQ(t.dtype(), *dtype_from_name(key));
}

TEST(LoadTorch, ViewsSharingAStorage) {
  const StateDict sd = fixture("views.pth");
  auto range = [](int from, int to, int step = 1) {
    std::vector<double> v;
    for (int i = from; i < to; i += step) v.push_back(i);
    return v;
  };
  EXPECT_EQ(values(sd.at("a")), range(0, 12));
  EXPECT_EQ(values(sd.at("b")), range(1, 12));
  EXPECT_EQ(shape_of(sd.at("c")), (std::vector<int64_t>{4, 3}));
  EXPECT_EQ(values(sd.at("c")), (std::vector<double>{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11}));
  EXPECT_EQ(shape_of(sd.at("d")), (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(values(sd.at("d")), (std::vector<double>{0, 2, 4, 6, 8, 10}));
  EXPECT_EQ(shape_of(sd.at("e")), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(values(sd.at("e")), std::vector<double>(6, 2.0));
  EXPECT_EQ(shape_of(sd.at("f")), std::vector<int64_t>{});
  EXPECT_EQ(sd.at("f").item<double>(), 5.0);
  EXPECT_EQ(sd.at("scalar").dtype(), int64);
  EXPECT_EQ(sd.at("scalar").item<int64_t>(), 7);
  EXPECT_EQ(shape_of(sd.at("empty")), (std::vector<int64_t>{0, 3}));
  // Loaded tensors are independent dense copies: writing one leaves the others alone.
  for (const auto& [key, t] : sd) EXPECT_TRUE(t.is_contiguous()) << key;
  sd.at("a").fill_(-1);
  EXPECT_EQ(values(sd.at("b")), range(1, 12));
}

TEST(LoadTorch, ParametersKeepRequiresGrad) {
  const StateDict sd = fixture("parameters.pth");
  EXPECT_TRUE(sd.at("w").requires_grad());
  EXPECT_EQ(values(sd.at("w")), std::vector<double>(4, 1.0));
  EXPECT_FALSE(sd.at("n").requires_grad());
  EXPECT_EQ(sd.at("n").tolist<int64_t>(), (std::vector<int64_t>{1, 2}));
}

TEST(LoadTorch, ManyEntriesUseLongMemoIndices) {
  const StateDict sd = fixture("many.pth");
  ASSERT_EQ(sd.size(), 100u);
  int i = 0;
  for (const auto& [key, t] : sd) {
    EXPECT_EQ(key, "t" + std::to_string(i));
    EXPECT_EQ(values(t), std::vector<double>(2, i));
    ++i;
  }
}

TEST(LoadTorch, LegacyFormatIsRefusedWithAReason) {
  EXPECT_THAT(error_of([] { fixture("linear_legacy.pth"); }),
              ::testing::AllOf(::testing::HasSubstr("linear_legacy.pth"),
                               ::testing::HasSubstr("legacy PyTorch format")));
}

TEST(LoadTorch, FormatIsToldByContentNotName) {
  ScratchDir dir;
  // A PyTorch file named .safetensors, and a safetensors file named .pth.
  write_file(dir.file("really_torch.safetensors"), read_file(data_dir() + "/linear.pth"));
  expect_linear(load(dir.file("really_torch.safetensors")));
  save(fixture("linear.pth"), dir.file("really_safetensors.pth"));
  expect_linear(load(dir.file("really_safetensors.pth")));
}

TEST(LoadTorch, MemoryAndFileLoadsAgree) {
  for (const char* name : {"linear.pth", "all_dtypes.pth", "views.pth", "many.pth"}) {
    const StateDict from_file = fixture(name);
    const StateDict from_memory = load_bytes(read_file(data_dir() + "/" + name), name);
    ASSERT_EQ(from_file.keys(), from_memory.keys());
    for (const auto& [key, t] : from_file)
      EXPECT_EQ(raw_bytes(t), raw_bytes(from_memory.at(key))) << name << " " << key;
  }
}

TEST(LoadTorch, Torch2ArchiveEntriesAreAccepted) {
  // PyTorch 2.x adds byteorder, .format_version, .storage_alignment and
  // .data/serialization_id next to data.pkl; only byteorder matters to a reader.
  const Bytes pickle = state_dict_pickle({{"w", "FloatStorage", "0", 2, 0, {2}, {1}}});
  const Bytes file = zip_archive({{"archive/data.pkl", pickle},
                                  {"archive/.format_version", to_bytes("1")},
                                  {"archive/.storage_alignment", to_bytes("64")},
                                  {"archive/byteorder", to_bytes("little")},
                                  {"archive/data/0", float_bytes({3, 4})},
                                  {"archive/version", to_bytes("3\n")},
                                  {"archive/.data/serialization_id", to_bytes("1234")}});
  EXPECT_EQ(values(load_bytes(file).at("w")), (std::vector<double>{3, 4}));
}

TEST(LoadTorch, HandWrittenPickleWithWideIntegerOpcodes) {
  // The storage size as LONG1 (8 bytes), the offset as BININT, the size as BININT2; the dict
  // memoized with LONG_BINPUT and fetched again with LONG_BINGET; hooks given as a list built
  // with APPENDS (any object is accepted there).
  Pickle p;
  p.proto().op('}').op('r').raw({7, 0, 0, 0}).mark();
  p.str("x").global("torch._utils", "_rebuild_tensor_v2").mark();
  p.mark().str("storage").global("torch", "IntStorage").str("0").str("cpu");
  p.op(0x8a).op(8).raw({0x0a, 0x01, 0, 0, 0, 0, 0, 0}).op('t').op('Q');  // numel 266
  p.op('J').raw({6, 0, 0, 0});                                           // offset 6
  p.mark().op('M').raw({0x04, 0x01}).op('t');                            // size (260,)
  p.mark().op('K').op(1).op('t');                                        // stride (1,)
  p.op(0x89).op(']').mark().op('N').op('K').op(3).op('e');               // False, [None, 3]
  p.op('t').op('R').op('u');
  p.op('j').raw({7, 0, 0, 0}).op('0').op('.');
  std::vector<int32_t> storage(266);
  for (int i = 0; i < 266; ++i) storage[static_cast<size_t>(i)] = i * 3 - 100;
  Bytes data(266 * 4);
  std::memcpy(data.data(), storage.data(), data.size());
  const StateDict sd = load_bytes(torch_archive(p.bytes(), {{"0", data}}));
  ASSERT_EQ(sd.keys(), std::vector<std::string>{"x"});
  EXPECT_EQ(sd.at("x").dtype(), int32);
  EXPECT_EQ(sd.at("x").tolist<int32_t>(), std::vector<int32_t>(storage.begin() + 6, storage.end()));
}

TEST(LoadTorch, StandardPickleBuilderMatchesTorch) {
  // The malformed-file tests start from state_dict_pickle(); check it loads as torch's would.
  const Bytes pickle = state_dict_pickle({{"w", "FloatStorage", "0", 6, 0, {2, 3}, {3, 1}},
                                          {"t", "FloatStorage", "0", 6, 1, {2, 2}, {1, 3}}});
  const StateDict sd = load_bytes(torch_archive(pickle, {{"0", float_bytes({0, 1, 2, 3, 4, 5})}}));
  EXPECT_EQ(values(sd.at("w")), (std::vector<double>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(values(sd.at("t")), (std::vector<double>{1, 4, 2, 5}));
}

}  // namespace
}  // namespace kiln
