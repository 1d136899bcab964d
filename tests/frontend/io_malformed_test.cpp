// kiln::load on malformed input: every fault is a kiln::Error naming the file and the fault,
// never a crash or a read outside the input (the suite also runs under ASan and UBSan).
#include "io_test_util.h"

namespace kiln {
namespace {

using namespace kiln::testing;  // NOLINT
using ::testing::AllOf;
using ::testing::HasSubstr;

// ---- safetensors ----

const char kTwoTensors[] = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                           R"("b":{"dtype":"I16","shape":[2],"data_offsets":[8,12]}})";

Bytes two_tensors() { return safetensors_file(kTwoTensors, Bytes(12, 1)); }

std::string safetensors_error(const std::string& json, size_t data_bytes) {
  return load_error(safetensors_file(json, Bytes(data_bytes, 0)));
}

TEST(MalformedSafetensors, ValidBaseLoads) { EXPECT_EQ(load_bytes(two_tensors()).size(), 2u); }

TEST(MalformedSafetensors, EveryTruncationIsAnError) {
  const Bytes file = two_tensors();
  for (size_t n = 0; n < file.size(); ++n) {
    const std::string message =
        load_error(Bytes(file.begin(), file.begin() + static_cast<std::ptrdiff_t>(n)));
    EXPECT_THAT(message, HasSubstr("kiln::load: bad.bin: ")) << n;
  }
  EXPECT_THAT(load_error({}), HasSubstr("file is empty"));
  EXPECT_THAT(load_error({1, 2, 3}), HasSubstr("too short"));
  EXPECT_THAT(load_error(Bytes(file.begin(), file.end() - 1)),
              HasSubstr("outside the data section"));
  EXPECT_THAT(load_error(Bytes(file.begin(), file.begin() + 30)), HasSubstr("exceeds"));
}

TEST(MalformedSafetensors, HeaderLength) {
  Bytes file = two_tensors();
  set_le(file, 0, uint64_t{1} << 40, 8);
  EXPECT_THAT(load_error(file), HasSubstr("100000000-byte limit"));
  set_le(file, 0, ~uint64_t{0}, 8);
  EXPECT_THAT(load_error(file), AllOf(HasSubstr("(negative)"), HasSubstr("limit")));
  set_le(file, 0, 99'000'000, 8);
  EXPECT_THAT(load_error(file), HasSubstr("truncated"));
}

TEST(MalformedSafetensors, HeaderIsNotJson) {
  EXPECT_THAT(safetensors_error("{not json}", 0), HasSubstr("not valid JSON"));
  EXPECT_THAT(safetensors_error("{}x", 0), HasSubstr("unexpected data after the JSON value"));
  EXPECT_THAT(safetensors_error(R"({"a":1,})", 0), HasSubstr("not valid JSON"));
  EXPECT_THAT(safetensors_error(R"({"a":[1 2]})", 0), HasSubstr("not valid JSON"));
  EXPECT_THAT(safetensors_error(R"({"a":01})", 0), HasSubstr("not valid JSON"));
  EXPECT_THAT(safetensors_error(R"({"a":"\q"})", 0), HasSubstr("invalid escape"));
  EXPECT_THAT(safetensors_error(R"({"a":"\ud800"})", 0), HasSubstr("surrogate"));
  EXPECT_THAT(safetensors_error("{\"a\xff\":1}", 0), HasSubstr("UTF-8"));
  EXPECT_THAT(safetensors_error("{\"a\nb\":1}", 0), HasSubstr("control character"));
  EXPECT_THAT(safetensors_error(R"({"a":"unterminated)", 0), HasSubstr("unterminated"));
  EXPECT_THAT(safetensors_error(R"({"a":tru})", 0), HasSubstr("invalid literal"));
  // A header must start with '{' (a JSON array, or whitespace first, is not safetensors).
  EXPECT_THAT(safetensors_error(" {}", 0), HasSubstr("unrecognized format"));
  EXPECT_THAT(safetensors_error("[]", 0), HasSubstr("unrecognized format"));
  // Deep nesting is refused before it can exhaust the parser's stack.
  EXPECT_THAT(safetensors_error("{\"__metadata__\":" + std::string(10000, '[') + "}", 0),
              HasSubstr("nesting deeper than 64"));
}

TEST(MalformedSafetensors, WrongTypes) {
  auto entry = [](const std::string& fields) { return "{\"t\":{" + fields + "}}"; };
  EXPECT_THAT(safetensors_error(R"({"t":[1]})", 0),
              AllOf(HasSubstr("tensor 't'"), HasSubstr("expected an object, found an array")));
  EXPECT_THAT(safetensors_error(entry(R"("dtype":"F32","shape":[1])"), 4),
              HasSubstr("missing \"data_offsets\""));
  EXPECT_THAT(safetensors_error(entry(R"("dtype":3,"shape":[1],"data_offsets":[0,4])"), 4),
              HasSubstr("\"dtype\" must be a string, found a number"));
  EXPECT_THAT(safetensors_error(entry(R"("dtype":"F32","shape":"1","data_offsets":[0,4])"), 4),
              HasSubstr("\"shape\" must be an array"));
  EXPECT_THAT(safetensors_error(entry(R"("dtype":"F32","shape":[-1],"data_offsets":[0,4])"), 4),
              HasSubstr("non-negative integers"));
  EXPECT_THAT(safetensors_error(entry(R"("dtype":"F32","shape":[1.0],"data_offsets":[0,4])"), 4),
              HasSubstr("non-negative integers"));
  EXPECT_THAT(safetensors_error(
                  entry(R"("dtype":"F32","shape":[99999999999999999999],"data_offsets":[0,4])"), 4),
              HasSubstr("non-negative integers"));
  EXPECT_THAT(safetensors_error(entry(R"("dtype":"F32","shape":[1],"data_offsets":[0,4,8])"), 8),
              HasSubstr("array of two integers"));
  EXPECT_THAT(safetensors_error(entry(R"("dtype":"F32","shape":[1],"data_offsets":[0,"4"])"), 4),
              HasSubstr("non-negative integers"));
  EXPECT_THAT(safetensors_error(R"({"__metadata__":{"k":1}})", 0),
              HasSubstr("\"__metadata__\" value of \"k\" must be a string, found a number"));
  EXPECT_THAT(safetensors_error(R"({"__metadata__":[]})", 0),
              HasSubstr("\"__metadata__\" must be an object"));
  // Unknown members of a tensor entry are ignored (forward compatibility), metadata is read.
  EXPECT_EQ(load_bytes(
                safetensors_file(R"({"__metadata__":{"format":"pt"},"t":{"dtype":"U8","shape":[1],)"
                                 R"("data_offsets":[0,1],"future":{"x":[1,2]}}})",
                                 Bytes{9}))
                .at("t")
                .item<int64_t>(),
            9);
}

TEST(MalformedSafetensors, Dtypes) {
  EXPECT_THAT(safetensors_error(R"({"t":{"dtype":"F7","shape":[1],"data_offsets":[0,1]}})", 1),
              HasSubstr("unknown dtype \"F7\""));
  EXPECT_THAT(safetensors_error(R"({"t":{"dtype":"U16","shape":[1],"data_offsets":[0,2]}})", 2),
              HasSubstr("dtype U16 is not supported by kiln"));
  EXPECT_THAT(safetensors_error(R"({"t":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}})", 1),
              HasSubstr("not supported"));
}

TEST(MalformedSafetensors, Offsets) {
  const auto one = [](const std::string& dtype, const std::string& shape,
                      const std::string& offsets) {
    return R"({"t":{"dtype":")" + dtype + R"(","shape":)" + shape + R"(,"data_offsets":)" +
           offsets + "}}";
  };
  EXPECT_THAT(safetensors_error(one("F32", "[2]", "[0,8]"), 4),
              AllOf(HasSubstr("lie outside the data section (4 bytes)"), HasSubstr("truncated")));
  EXPECT_THAT(safetensors_error(one("F32", "[2]", "[0,12]"), 12),
              HasSubstr("hold 12 bytes, but dtype F32 and its shape need 8"));
  EXPECT_THAT(safetensors_error(one("F32", "[2]", "[8,0]"), 8), HasSubstr("reversed"));
  EXPECT_THAT(safetensors_error(one("F32", "[1000000,1000000,1000000]", "[0,4]"), 4),
              HasSubstr("need more than the file has"));
  EXPECT_THAT(
      safetensors_error(one("F32", "[4611686018427387904,4611686018427387904,0]", "[0,0]"), 0),
      HasSubstr("too large"));
  EXPECT_THAT(safetensors_error(one("F32", "[1]", "[9223372036854775807,9223372036854775807]"), 0),
              HasSubstr("outside the data section"));
  // Two tensors on the same bytes, a gap between tensors, bytes after the last one.
  EXPECT_THAT(safetensors_error(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                R"("b":{"dtype":"I32","shape":[1],"data_offsets":[4,8]}})",
                                8),
              AllOf(HasSubstr("tensors 'a' and 'b' overlap"), HasSubstr("[4, 8]")));
  EXPECT_THAT(safetensors_error(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                                R"("b":{"dtype":"I32","shape":[1],"data_offsets":[8,12]}})",
                                12),
              HasSubstr("bytes 4 to 8 of the data section belong to no tensor"));
  EXPECT_THAT(safetensors_error(one("F32", "[1]", "[0,4]"), 8),
              HasSubstr("4 bytes after the last tensor"));
}

TEST(MalformedSafetensors, DuplicateKeys) {
  EXPECT_THAT(safetensors_error(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                                R"("a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})",
                                2),
              HasSubstr("duplicate key \"a\""));
}

// ---- ZIP ----

Bytes small_archive(ZipLayout* layout = nullptr) {
  const Bytes pickle = state_dict_pickle({{"w", "FloatStorage", "0", 2, 0, {2}, {1}}});
  std::vector<ZipEntry> entries{{"archive/data.pkl", pickle},
                                {"archive/data/0", float_bytes({1, 2})},
                                {"archive/version", to_bytes("3\n")}};
  return zip_archive(entries, true, layout);
}

TEST(MalformedZip, ValidBaseLoads) {
  EXPECT_EQ(values(load_bytes(small_archive()).at("w")), (std::vector<double>{1, 2}));
  // Without the ZIP64 records too.
  const Bytes pickle = state_dict_pickle({{"w", "FloatStorage", "0", 2, 0, {2}, {1}}});
  EXPECT_EQ(
      load_bytes(zip_archive({{"a/data.pkl", pickle}, {"a/data/0", float_bytes({1, 2})}}, false))
          .size(),
      1u);
}

TEST(MalformedZip, EveryTruncationIsAnError) {
  const Bytes file = small_archive();
  for (size_t n = 4; n < file.size(); ++n) {
    const std::string message =
        load_error(Bytes(file.begin(), file.begin() + static_cast<std::ptrdiff_t>(n)));
    EXPECT_THAT(message, HasSubstr("kiln::load: bad.bin: ")) << n;
  }
}

TEST(MalformedZip, BadSignatures) {
  ZipLayout l;
  Bytes file = small_archive(&l);
  Bytes bad = file;
  set_le(bad, l.end, 0x12345678, 4);
  EXPECT_THAT(load_error(bad), HasSubstr("no end of central directory record"));
  bad = file;
  set_le(bad, l.central_directory, 0, 4);
  EXPECT_THAT(load_error(bad), HasSubstr("bad signature of central directory record 0"));
  bad = file;
  set_le(bad, l.local_header[1], 0x04034b51, 4);
  EXPECT_THAT(load_error(bad), HasSubstr("entry 'archive/data/0': bad local header signature"));
  bad = file;
  set_le(bad, l.zip64_end, 0, 4);
  EXPECT_THAT(load_error(bad), HasSubstr("bad zip64 end record signature"));
}

TEST(MalformedZip, RangesOutsideTheFile) {
  ZipLayout l;
  const Bytes file = small_archive(&l);
  const size_t second = l.central_directory + 46 + std::string("archive/data.pkl").size();
  Bytes bad = file;
  // A "zip bomb" size: far more bytes than the file has.
  set_le(bad, second + 20, 0x7FFFFFFF, 4);
  set_le(bad, second + 24, 0x7FFFFFFF, 4);
  EXPECT_THAT(load_error(bad), AllOf(HasSubstr("entry 'archive/data/0' (2147483647 bytes"),
                                     HasSubstr("extends beyond the end of the file")));
  bad = file;
  set_le(bad, second + 42, 0x7FFFFFF0, 4);  // local header offset
  EXPECT_THAT(load_error(bad), HasSubstr("local header offset 2147483632 lies outside the file"));
  bad = file;
  set_le(bad, l.zip64_end + 48, 1 << 30, 8);  // central directory offset
  EXPECT_THAT(load_error(bad), HasSubstr("central directory (offset 1073741824"));
  bad = file;
  set_le(bad, l.zip64_end + 32, 1000000, 8);  // entry count
  EXPECT_THAT(load_error(bad), HasSubstr("1000000 entries cannot fit"));
  bad = file;
  set_le(bad, l.end - 20 + 8, 1 << 20, 8);  // zip64 locator -> record offset
  EXPECT_THAT(load_error(bad), HasSubstr("does not lie before its locator"));
  bad = file;
  set_le(bad, second + 20, 4, 4);  // compressed size differs from the size
  EXPECT_THAT(load_error(bad), HasSubstr("has compressed size 4 and uncompressed size 8"));
}

TEST(MalformedZip, Zip64ExtraFields) {
  // Entries past 4 GiB keep their sizes and offset in a ZIP64 extra field.
  const Bytes pickle = state_dict_pickle({{"w", "FloatStorage", "0", 2, 0, {2}, {1}}});
  const auto archive = [&](int extra) {
    return zip_archive(
        {{"a/data.pkl", pickle, 0, extra}, {"a/data/0", float_bytes({1, 2}), 0, extra}});
  };
  EXPECT_EQ(values(load_bytes(archive(24)).at("w")), (std::vector<double>{1, 2}));
  EXPECT_THAT(load_error(archive(16)),
              HasSubstr("entry 'a/data.pkl': zip64 extra field is too short"));
  EXPECT_THAT(load_error(archive(0)), HasSubstr("zip64 extra field is too short"));
  ZipLayout l;
  Bytes bad = small_archive(&l);
  set_le(bad, l.central_directory + 20, 0xFFFFFFFF, 4);
  EXPECT_THAT(load_error(bad), HasSubstr("needs a zip64 extra field and has none"));
}

TEST(MalformedZip, CompressedEncryptedAndDuplicateEntries) {
  const Bytes pickle = state_dict_pickle({{"w", "FloatStorage", "0", 2, 0, {2}, {1}}});
  EXPECT_THAT(load_error(zip_archive({{"archive/data.pkl", pickle, 8}})),
              AllOf(HasSubstr("entry 'archive/data.pkl' is compressed (method 8, deflate)"),
                    HasSubstr("only stored (uncompressed) entries")));
  ZipLayout l;
  Bytes encrypted = small_archive(&l);
  set_le(encrypted, l.central_directory + 8, 1, 2);
  EXPECT_THAT(load_error(encrypted), HasSubstr("is encrypted"));
  EXPECT_THAT(load_error(zip_archive({{"archive/data.pkl", pickle},
                                      {"archive/data/0", float_bytes({1, 2})},
                                      {"archive/data/0", float_bytes({1, 2})}})),
              HasSubstr("duplicate entry 'archive/data/0'"));
  // A local header naming another file than the central directory does.
  Bytes renamed = small_archive(&l);
  renamed[l.local_header[0] + 30] = 'X';
  EXPECT_THAT(load_error(renamed), HasSubstr("local header names another file"));
}

TEST(MalformedZip, NotATorchArchive) {
  EXPECT_THAT(load_error(zip_archive({})), HasSubstr("zip archive is empty"));
  EXPECT_THAT(load_error(zip_archive({{"data.pkl", Bytes{1}}})), HasSubstr("is not in a folder"));
  EXPECT_THAT(load_error(zip_archive({{"a/other", Bytes{1}}})), HasSubstr("no entry 'a/data.pkl'"));
  const Bytes pickle = state_dict_pickle({{"w", "FloatStorage", "0", 2, 0, {2}, {1}}});
  EXPECT_THAT(load_error(zip_archive({{"a/data.pkl", pickle},
                                      {"a/byteorder", to_bytes("big")},
                                      {"a/data/0", float_bytes({1, 2})}})),
              HasSubstr("byteorder is not \"little\""));
  EXPECT_EQ(load_bytes(zip_archive({{"a/data.pkl", pickle},
                                    {"a/byteorder", to_bytes("little")},
                                    {"a/data/0", float_bytes({1, 2})}}))
                .size(),
            1u);
}

// ---- pickle ----

std::string pickle_error(const Bytes& pickle,
                         const std::vector<std::pair<std::string, Bytes>>& storages = {}) {
  return load_error(torch_archive(pickle, storages));
}

TEST(MalformedPickle, OpcodesAndStack) {
  EXPECT_THAT(pickle_error(Pickle().proto().op(0xFF).bytes()),
              AllOf(HasSubstr("archive/data.pkl (pickle) at byte 2"),
                    HasSubstr("unsupported or invalid pickle opcode 0xff")));
  EXPECT_THAT(pickle_error(Pickle().proto().op('.').bytes()), HasSubstr("stack underflow"));
  EXPECT_THAT(pickle_error(Pickle().proto().op('}').op('s').bytes()), HasSubstr("stack underflow"));
  EXPECT_THAT(pickle_error(Pickle().proto().op('}').bytes()), HasSubstr("no STOP opcode"));
  EXPECT_THAT(pickle_error(Pickle().proto().op('h').op(5).bytes()),
              HasSubstr("memo key 5 was never stored (memo miss)"));
  EXPECT_THAT(pickle_error(Pickle().proto().op('}').op('t').bytes()), HasSubstr("no MARK"));
  EXPECT_THAT(pickle_error(Pickle().proto().op('X').raw({0xFF, 0xFF, 0xFF, 0x7F}).bytes()),
              HasSubstr("truncated"));
  EXPECT_THAT(pickle_error(Pickle().proto().op(0x8a).op(9).raw(Bytes(9, 0)).bytes()),
              HasSubstr("does not fit in 64 bits"));
  EXPECT_THAT(pickle_error(Pickle().proto(6).bytes()), HasSubstr("unsupported pickle protocol 6"));
  EXPECT_THAT(pickle_error(Pickle().proto().op('c').raw(to_bytes("os\nsys")).bytes()),
              HasSubstr("no newline"));
  // A MARK starts a fresh stack: SETITEM cannot reach the dict below it.
  EXPECT_THAT(pickle_error(Pickle().proto().op('}').mark().str("k").str("v").op('s').bytes()),
              HasSubstr("stack underflow"));
  EXPECT_THAT(pickle_error(Pickle().proto().op('}').mark().str("k").op('u').bytes()),
              HasSubstr("odd item count"));
  EXPECT_THAT(pickle_error(Pickle().proto().op(')').mark().str("k").str("v").op('u').bytes()),
              HasSubstr("SETITEMS target must be a dict, found a tuple"));
}

TEST(MalformedPickle, GlobalsAndCalls) {
  EXPECT_THAT(pickle_error(Pickle().proto().global("os", "system").bytes()),
              HasSubstr("unsupported global os.system"));
  EXPECT_THAT(pickle_error(Pickle().proto().global("builtins", "eval").bytes()),
              HasSubstr("unsupported global builtins.eval"));
  EXPECT_THAT(
      pickle_error(Pickle().proto().global("torch", "FloatStorage").op(')').op('R').bytes()),
      HasSubstr("cannot call torch.FloatStorage"));
  EXPECT_THAT(pickle_error(Pickle().proto().str("x").op(')').op('R').bytes()),
              HasSubstr("REDUCE callable must be a global, found a str"));
  EXPECT_THAT(pickle_error(Pickle()
                               .proto()
                               .global("torch._utils", "_rebuild_tensor_v2")
                               .mark()
                               .integer(1)
                               .op('t')
                               .op('R')
                               .bytes()),
              HasSubstr("_rebuild_tensor_v2 takes 6 or 7 arguments, got 1"));
  EXPECT_THAT(pickle_error(Pickle()
                               .proto()
                               .global("collections", "OrderedDict")
                               .mark()
                               .integer(1)
                               .op('t')
                               .op('R')
                               .bytes()),
              HasSubstr("OrderedDict with arguments"));
}

TEST(MalformedPickle, ResultIsNotAStateDictOfTensors) {
  EXPECT_THAT(pickle_error(Pickle().proto().integer(3).op('.').bytes()),
              HasSubstr("the pickled object (a state dict) must be a dict, found an int"));
  EXPECT_THAT(pickle_error(Pickle().proto().op('}').str("a").integer(1).op('s').op('.').bytes()),
              HasSubstr("state dict entry 'a' is an int, not a tensor"));
  EXPECT_THAT(pickle_error(Pickle().proto().op('}').integer(1).op('}').op('s').op('.').bytes()),
              HasSubstr("state dict key must be a str, found an int"));
  Pickle dup;
  dup.proto().op('}').mark();
  for (int i = 0; i < 2; ++i) dup.str("w").tensor("FloatStorage", "0", 2, 0, {2}, {1});
  dup.op('u').op('.');
  EXPECT_THAT(pickle_error(dup.bytes(), {{"0", float_bytes({1, 2})}}),
              HasSubstr("duplicate state dict key 'w'"));
}

TEST(MalformedPickle, StoragesAndViews) {
  const auto one = [](const PickledTensor& t, const Bytes& storage) {
    return pickle_error(state_dict_pickle({t}), {{"0", storage}});
  };
  const Bytes four = float_bytes({1, 2, 3, 4});
  EXPECT_THAT(one({"w", "FloatStorage", "1", 4, 0, {4}, {1}}, four),
              AllOf(HasSubstr("tensor 'w': its storage '1' is missing from the archive"),
                    HasSubstr("no entry 'archive/data/1'")));
  EXPECT_THAT(one({"w", "FloatStorage", "0", 5, 0, {4}, {1}}, four),
              HasSubstr("should hold 5 elements of 4 bytes, but the archive entry has 16 bytes"));
  EXPECT_THAT(one({"w", "DoubleStorage", "0", 4, 0, {4}, {1}}, four),
              HasSubstr("should hold 4 elements of 8 bytes"));
  EXPECT_THAT(one({"w", "FloatStorage", "0", 4, 2, {3}, {1}}, four),
              HasSubstr("view (offset 2, size [3], stride [1]) reaches beyond its storage '0' "
                        "of 4 elements"));
  EXPECT_THAT(one({"w", "FloatStorage", "0", 4, 0, {2, 2}, {3, 1}}, four),
              HasSubstr("reaches beyond"));
  EXPECT_THAT(one({"w", "FloatStorage", "0", 4, 4, {1}, {1}}, four), HasSubstr("reaches beyond"));
  EXPECT_THAT(one({"w", "FloatStorage", "0", 4, 0, {int64_t{1} << 40}, {0}}, four),
              HasSubstr("-byte limit for loading this file"));
  EXPECT_THAT(
      one({"w", "FloatStorage", "0", 4, 0, {int64_t{1} << 62, int64_t{1} << 62, 0}, {0, 0, 0}},
          four),
      HasSubstr("too large"));
  EXPECT_THAT(one({"w", "ComplexFloatStorage", "0", 4, 0, {4}, {1}}, four),
              HasSubstr("unsupported global torch.ComplexFloatStorage"));
  // Empty views need no elements of their storage; an expanded view is copied out.
  EXPECT_EQ(
      shape_of(load_bytes(torch_archive(
                              state_dict_pickle({{"w", "FloatStorage", "0", 4, 9, {0, 3}, {3, 1}}}),
                              {{"0", four}}))
                   .at("w")),
      (std::vector<int64_t>{0, 3}));
  EXPECT_EQ(values(load_bytes(torch_archive(state_dict_pickle(
                                                {{"w", "FloatStorage", "0", 4, 3, {2, 3}, {0, 0}}}),
                                            {{"0", four}}))
                       .at("w")),
            std::vector<double>(6, 4.0));
  // The same storage key described with two dtypes.
  EXPECT_THAT(pickle_error(state_dict_pickle({{"a", "FloatStorage", "0", 4, 0, {4}, {1}},
                                              {"b", "IntStorage", "0", 4, 0, {4}, {1}}}),
                           {{"0", four}}),
              HasSubstr("storage '0' is described twice, differently"));
  // Mismatched size and stride tuples.
  EXPECT_THAT(one({"w", "FloatStorage", "0", 4, 0, {4}, {1, 1}}, four),
              HasSubstr("1 sizes but 2 strides"));
}

TEST(MalformedPickle, SparseViewsReadOnlyTheirElements) {
  // Two elements at the ends of a 100,000-element storage, and a strided 3x2 corner: the
  // reader takes the element-by-element path for such views.
  std::vector<float> big(100000);
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<float>(i);
  const Bytes storage = float_bytes(big);
  const StateDict sd = load_bytes(torch_archive(
      state_dict_pickle({{"ends", "FloatStorage", "0", 100000, 0, {2}, {99999}},
                         {"corner", "FloatStorage", "0", 100000, 7, {3, 2}, {40000, 3}}}),
      {{"0", storage}}));
  EXPECT_EQ(values(sd.at("ends")), (std::vector<double>{0, 99999}));
  EXPECT_EQ(values(sd.at("corner")), (std::vector<double>{7, 10, 40007, 40010, 80007, 80010}));
  // More dimensions than PyTorch allows.
  EXPECT_THAT(
      pickle_error(state_dict_pickle({{"w", "FloatStorage", "0", 1, 0, std::vector<int64_t>(65, 1),
                                       std::vector<int64_t>(65, 1)}}),
                   {{"0", float_bytes({1})}}),
      HasSubstr("tensor has 65 dimensions, more than 64"));
}

TEST(MalformedPickle, LegacyAndUnknownFormats) {
  EXPECT_THAT(load_error(to_bytes("hello, world: not a checkpoint")),
              AllOf(HasSubstr("kiln::load: bad.bin: "), HasSubstr("unrecognized format")));
  Bytes legacy = read_file(data_dir() + "/linear_legacy.pth");
  EXPECT_THAT(load_error(legacy), HasSubstr("legacy PyTorch format"));
}

}  // namespace
}  // namespace kiln
