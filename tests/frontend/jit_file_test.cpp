// .kiln files: CompiledModule::save writes safetensors whose tensors are the module's weights
// under their names and whose metadata holds the program; jit::load runs it without the model's
// code, and refuses damaged or inconsistent files with a kiln::Error naming the fault.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <functional>

#include "io_test_util.h"
#include "kiln/frontend/io/byte_source.h"
#include "kiln/kiln.h"

namespace kiln::testing {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

nn::Sequential mlp() { return nn::Sequential{nn::Linear(64, 32), nn::ReLU(), nn::Linear(32, 10)}; }

// The metadata of a safetensors file, in the file's order.
io::safetensors::Metadata metadata_of(const std::string& path, StateDict* tensors = nullptr) {
  const io::FileSource source(path);
  io::safetensors::Metadata metadata;
  StateDict loaded = io::load_safetensors(source, cpu, &metadata);
  if (tensors != nullptr) *tensors = std::move(loaded);
  return metadata;
}

std::string metadata_value(const io::safetensors::Metadata& metadata, const std::string& key) {
  for (const auto& [k, v] : metadata)
    if (k == key) return v;
  return "<absent>";
}

TEST(JitFile, SaveThenLoadGivesTheSameOutputs) {
  ScratchDir dir;
  manual_seed(0);
  nn::Sequential model = mlp();
  const Tensor x = randn({2, 64});
  const jit::CompiledModule traced = jit::trace(model, {x});
  traced.save(dir.file("mlp.kiln"));
  const jit::CompiledModule loaded = jit::load(dir.file("mlp.kiln"), get_default_device());
  for (int i = 0; i < 2; ++i) {
    const Tensor input = i == 0 ? x : randn({2, 64});
    EXPECT_EQ(raw_bytes(loaded.forward(input)), raw_bytes(traced.forward(input))) << i;
    EXPECT_EQ(raw_bytes(loaded({input}).at(0)), raw_bytes(traced.forward(input))) << i;
  }
  EXPECT_EQ(ir::to_string(loaded.graph()), ir::to_string(traced.graph()));
  EXPECT_EQ(loaded.input_types(), traced.input_types());
  EXPECT_EQ(loaded.device(), get_default_device());
  // A loaded module saves the same program again.
  loaded.save(dir.file("again.kiln"));
  EXPECT_EQ(read_file(dir.file("again.kiln")), read_file(dir.file("mlp.kiln")));
  EXPECT_THAT(error_of([&] {
                loaded.forward(randn({3, 64}));
              }),
              HasSubstr("jit: input 0 must be float32[2, 64] (the shape it was traced with"));
  EXPECT_THAT(error_of([&] {
                loaded.forward(randn({2, 64}, float64));
              }),
              HasSubstr("got float64[2, 64]"));
}

TEST(JitFile, TheWeightsAreAnOrdinaryStateDict) {
  ScratchDir dir;
  manual_seed(1);
  nn::Sequential model = mlp();
  jit::trace(model, {randn({1, 64})}).save(dir.file("mlp.kiln"));
  // kiln::load reads it as any safetensors file: the module's state dict, under its names.
  const StateDict weights = load(dir.file("mlp.kiln"));
  const StateDict want = model.state_dict();
  ASSERT_EQ(weights.size(), want.size());
  for (const auto& [name, t] : want) {
    ASSERT_TRUE(weights.contains(name)) << name;
    EXPECT_EQ(shape_of(weights.at(name)), shape_of(t)) << name;
    EXPECT_EQ(raw_bytes(weights.at(name)), raw_bytes(t)) << name;
  }
  nn::Sequential copy = mlp();
  copy.load_state_dict(weights);
}

TEST(JitFile, TheMetadataDescribesTheProgram) {
  ScratchDir dir;
  manual_seed(2);
  nn::Sequential model = mlp();
  const jit::CompiledModule traced = jit::trace(model, {randn({2, 64})});
  traced.save(dir.file("mlp.kiln"));
  const io::safetensors::Metadata metadata = metadata_of(dir.file("mlp.kiln"));
  EXPECT_EQ(metadata_value(metadata, "kiln.format"), "1");
  EXPECT_EQ(metadata_value(metadata, "kiln.ir"), ir::to_string(traced.graph()));
  EXPECT_EQ(metadata_value(metadata, "kiln.arguments"), R"([{"dtype":"F32","shape":[2,64]}])");
  EXPECT_THAT(metadata_value(metadata, "kiln.inputs"),
              AllOf(HasSubstr("\"argument:0\""), HasSubstr("\"parameter:0.weight\""),
                    HasSubstr("\"parameter:0.bias\""), HasSubstr("\"parameter:2.weight\""),
                    HasSubstr("\"parameter:2.bias\"")));
  EXPECT_EQ(metadata_value(metadata, "kiln.outputs"), R"(["result:0"])");
  EXPECT_THAT(metadata_value(metadata, "kiln.module"), HasSubstr("(0): Linear(in_features=64"));
}

TEST(JitFile, SafetensorsMetadataRoundTripsAnyString) {
  ScratchDir dir;
  io::SaveOptions options;
  options.metadata = {{"quote\"and\\", "line\nbreak\ttab"}, {"unicode \u00e9\u4e2d", ""}};
  StateDict tensors;
  tensors.insert("w", tensor({1.0f}));
  io::save(tensors, dir.file("m.safetensors"), options);
  EXPECT_EQ(metadata_of(dir.file("m.safetensors")), options.metadata);
  // No metadata: no "__metadata__" key, as before.
  save(tensors, dir.file("plain.safetensors"));
  EXPECT_TRUE(metadata_of(dir.file("plain.safetensors")).empty());
  const Bytes plain = read_file(dir.file("plain.safetensors"));
  EXPECT_EQ(std::string(plain.begin(), plain.end()).find("__metadata__"), std::string::npos);
  options.metadata = {{"bad\xff", "x"}};
  EXPECT_THAT(error_of([&] { io::save(tensors, dir.file("bad.safetensors"), options); }),
              HasSubstr("not valid UTF-8"));
}

// Buffers, constants made in forward, and tensors the module reads without owning them.
struct Normalize : nn::Module {
  Tensor mean;
  Tensor outside = tensor({1.0f, 10.0f, 100.0f});
  Normalize() : nn::Module("Normalize") {
    mean = register_buffer("running_mean", tensor({0.5f, 0.25f, 0.125f}));
  }
  Tensor forward(const Tensor& x) override { return (x - mean) * arange(1.0f, 4.0f) + outside; }
};

TEST(JitFile, BuffersAndConstantsAreSavedUnderTheirNames) {
  ScratchDir dir;
  Normalize module;
  const Tensor x = tensor({{1.0f, 2.0f, 3.0f}});
  const jit::CompiledModule traced = jit::trace(module, {x});
  traced.save(dir.file("norm.kiln"));
  StateDict tensors;
  const io::safetensors::Metadata metadata = metadata_of(dir.file("norm.kiln"), &tensors);
  EXPECT_THAT(metadata_value(metadata, "kiln.inputs"),
              AllOf(HasSubstr("\"buffer:running_mean\""), HasSubstr("\"constant:constant.")));
  EXPECT_THAT(values(tensors.at("running_mean")), ElementsAre(0.5, 0.25, 0.125));
  module.outside.fill_(0);  // the saved file keeps the value it had when saved
  const jit::CompiledModule loaded = jit::load(dir.file("norm.kiln"), get_default_device());
  EXPECT_THAT(values(loaded.forward(x)), ElementsAre(1.5, 13.5, 108.625));
  EXPECT_THAT(values(traced.forward(x)), ElementsAre(0.5, 3.5, 8.625));
}

TEST(JitFile, SaveFailuresNameThePath) {
  manual_seed(3);
  nn::Linear linear(2, 2);
  const jit::CompiledModule traced = jit::trace(linear, {randn({1, 2})});
  EXPECT_THAT(error_of([&] { traced.save("/nonexistent-dir/model.kiln"); }),
              HasSubstr("kiln::save: /nonexistent-dir/model.kiln"));
}

// ---- malformed files ----

// A valid file of a small model, whose parts the tests below break one at a time.
class MalformedKiln : public ::testing::Test {
 protected:
  void SetUp() override {
    manual_seed(4);
    nn::Sequential model{nn::Linear(3, 4), nn::ReLU(), nn::Linear(4, 2)};
    jit::trace(model, {randn({1, 3})}).save(dir_.file("good.kiln"));
    metadata_ = metadata_of(dir_.file("good.kiln"), &tensors_);
  }

  using Edit = std::function<void(io::safetensors::Metadata&, StateDict&)>;
  // The good file after `edit` changed its metadata or tensors.
  std::string edited(const Edit& edit) {
    io::safetensors::Metadata metadata = metadata_;
    StateDict tensors = tensors_;
    edit(metadata, tensors);
    const std::string path = dir_.file("edited.kiln");
    io::SaveOptions options;
    options.metadata = metadata;
    io::save(tensors, path, options);
    return path;
  }
  std::string error_after(const Edit& edit) {
    const std::string path = edited(edit);
    return error_of([&] { jit::load(path); });
  }
  static Edit set(const std::string& key, const std::string& value) {
    return [=](io::safetensors::Metadata& m, StateDict&) {
      bool found = false;
      for (auto& [k, v] : m) {
        if (k != key) continue;
        v = value;
        found = true;
      }
      if (!found) m.emplace_back(key, value);
    };
  }
  std::string error_with(const std::string& key, const std::string& value) {
    return error_after(set(key, value));
  }
  std::string error_without(const std::string& key) {
    return error_after([&](io::safetensors::Metadata& m, StateDict&) {
      std::erase_if(m, [&](const auto& kv) { return kv.first == key; });
    });
  }

  ScratchDir dir_;
  io::safetensors::Metadata metadata_;
  StateDict tensors_;
};

TEST_F(MalformedKiln, TheUnchangedFileAndUnknownKeysLoad) {
  jit::load(edited([](auto&, auto&) {}));
  jit::load(edited(set("kiln.unknown-key", "ignored")));
}

TEST_F(MalformedKiln, EveryTruncationIsAnError) {
  const Bytes file = read_file(dir_.file("good.kiln"));
  for (size_t n = 0; n < file.size(); ++n) {
    write_file(dir_.file("cut.kiln"), Bytes(file.begin(), file.begin() + static_cast<long>(n)));
    EXPECT_THAT(error_of([&] { jit::load(dir_.file("cut.kiln")); }), HasSubstr("cut.kiln")) << n;
  }
}

TEST_F(MalformedKiln, MissingFilesAndWeightFiles) {
  EXPECT_THAT(error_of([&] { jit::load(dir_.file("absent.kiln")); }), HasSubstr("absent.kiln"));
  EXPECT_THAT(error_of([&] { jit::load(dir_.file("")); }), HasSubstr("kiln::load"));
  save(tensors_, dir_.file("weights.safetensors"));
  EXPECT_THAT(error_of([&] { jit::load(dir_.file("weights.safetensors")); }),
              AllOf(HasSubstr("jit::load: "), HasSubstr("weights.safetensors: "),
                    HasSubstr("no \"kiln.format\": a file of weights, not a saved program")));
  write_file(dir_.file("text.kiln"), to_bytes("%0 = input() {index=0} : f32[2]\nreturn %0\n"));
  EXPECT_THAT(error_of([&] { jit::load(dir_.file("text.kiln")); }), HasSubstr("text.kiln"));
}

TEST_F(MalformedKiln, FormatVersion) {
  EXPECT_THAT(error_with("kiln.format", "2"),
              HasSubstr("\"kiln.format\" is \"2\", but this kiln reads format 1"));
  EXPECT_THAT(error_with("kiln.format", ""), HasSubstr("\"kiln.format\" is \"\""));
}

TEST_F(MalformedKiln, TheIr) {
  EXPECT_THAT(error_without("kiln.ir"), HasSubstr("the metadata has no \"kiln.ir\""));
  EXPECT_THAT(error_with("kiln.ir", "%0 = nonsense()"), HasSubstr("\"kiln.ir\" does not parse"));
  // Parses, but a declared type disagrees with inference.
  EXPECT_THAT(error_with("kiln.ir",
                         "%0 = input() {index=0} : f32[1, 3]\n%1 = neg(%0) : f32[7]\nreturn %1\n"),
              HasSubstr("\"kiln.ir\" is not a valid graph"));
}

TEST_F(MalformedKiln, Arguments) {
  EXPECT_THAT(error_without("kiln.arguments"), HasSubstr("no \"kiln.arguments\""));
  EXPECT_THAT(error_with("kiln.arguments", "[{"),
              HasSubstr("\"kiln.arguments\" is not valid JSON"));
  EXPECT_THAT(error_with("kiln.arguments", "{}"),
              HasSubstr("must be a JSON array, found an object"));
  EXPECT_THAT(error_with("kiln.arguments", "[1]"), HasSubstr("entry 0 must be an object"));
  EXPECT_THAT(error_with("kiln.arguments", R"([{"dtype":"X","shape":[1,3]}])"),
              HasSubstr("unknown dtype \"X\""));
  EXPECT_THAT(error_with("kiln.arguments", R"([{"dtype":"F32","shape":[1,-3]}])"),
              HasSubstr("non-negative integers"));
  EXPECT_THAT(error_with("kiln.arguments", R"([{"dtype":"F32"}])"), HasSubstr("needs \"shape\""));
  EXPECT_THAT(error_with("kiln.arguments", R"([{"dtype":"F64","shape":[1,3]}])"),
              HasSubstr("(argument:0) is float32[1, 3] in the graph, but \"kiln.arguments\" says "
                        "float64[1, 3]"));
  EXPECT_THAT(error_with("kiln.arguments", "[]"),
              HasSubstr("bound to argument:0, but a call passes 0 argument(s)"));
}

TEST_F(MalformedKiln, InputBindings) {
  EXPECT_THAT(error_without("kiln.inputs"), HasSubstr("no \"kiln.inputs\""));
  EXPECT_THAT(error_with("kiln.inputs", R"(["argument:0"])"),
              HasSubstr("\"kiln.inputs\" binds 1 inputs, but the graph has 5"));
  const std::string inputs = metadata_value(metadata_, "kiln.inputs");
  auto replaced = [&](const std::string& from, const std::string& to) {
    std::string s = inputs;
    s.replace(s.find(from), from.size(), to);
    return error_with("kiln.inputs", s);
  };
  EXPECT_THAT(replaced("\"argument:0\"", "\"argument:x\""), HasSubstr("must be a number"));
  EXPECT_THAT(replaced("\"argument:0\"", "\"argument:01\""), HasSubstr("must be a number"));
  EXPECT_THAT(replaced("\"argument:0\"", "\"argument:99999999999\""),
              HasSubstr("must be a number"));
  EXPECT_THAT(replaced("\"argument:0\"", "\"weights:0\""),
              HasSubstr("unknown binding \"weights:0\" (expected argument:N, parameter:NAME"));
  EXPECT_THAT(replaced("\"argument:0\"", "7"), HasSubstr("must be a string"));
  EXPECT_THAT(replaced("\"parameter:0.weight\"", "\"parameter:missing\""),
              HasSubstr("bound to parameter:missing, but the file holds no tensor 'missing'"));
  EXPECT_THAT(replaced("\"parameter:0.weight\"", "\"parameter:\""), HasSubstr("names no tensor"));
  EXPECT_THAT(replaced("\"parameter:0.weight\"", "\"parameter:0.bias\""),
              HasSubstr("(parameter:0.bias) is float32[4, 3] in the graph, but tensor '0.bias' "
                        "is float32[4]"));
}

TEST_F(MalformedKiln, StoredTensorsOfTheWrongType) {
  EXPECT_THAT(error_after([](auto&, StateDict& t) {
                t.insert("0.weight", zeros({3, 4}));
              }),
              HasSubstr("tensor '0.weight' is float32[3, 4]"));
  EXPECT_THAT(error_after([](auto&, StateDict& t) { t.insert("0.bias", zeros({4}, int64)); }),
              HasSubstr("tensor '0.bias' is int64[4]"));
}

TEST_F(MalformedKiln, Outputs) {
  EXPECT_THAT(error_without("kiln.outputs"), HasSubstr("no \"kiln.outputs\""));
  EXPECT_THAT(error_with("kiln.outputs", "[]"),
              HasSubstr("\"kiln.outputs\" describes 0 outputs, but the graph has 1"));
  EXPECT_THAT(error_with("kiln.outputs", R"(["state:0"])"), HasSubstr("must be \"result:N\""));
  EXPECT_THAT(error_with("kiln.outputs", R"(["result:1"])"),
              HasSubstr("results must be numbered 0 to 0, each once"));
}

// ---- a file saved by an earlier build, kept in the repository ----

// tests/data/traced_mlp.kiln: Sequential{Linear(4, 8), ReLU, Linear(8, 3)} after
// manual_seed(0), traced on float32[2, 4]. Regenerate with KILN_UPDATE_GOLDEN=1 (only when the
// format changes on purpose: the test exists to notice when it changes by accident).
TEST(JitFile, AFileSavedByAnEarlierBuildStillLoads) {
  const std::string path = data_dir() + "/traced_mlp.kiln";
  manual_seed(0);
  nn::Sequential model{nn::Linear(4, 8), nn::ReLU(), nn::Linear(8, 3)};
  const Tensor x = arange(8.0f).reshape({2, 4}) / 8 - 0.5;
  if (const char* update = std::getenv("KILN_UPDATE_GOLDEN"); update && *update == '1')
    jit::trace(model, {x}).save(path);
  const jit::CompiledModule loaded = jit::load(path);
  EXPECT_EQ(raw_bytes(loaded.forward(x)), raw_bytes(jit::trace(model, {x}).forward(x)));
  EXPECT_EQ(load(path).keys(),
            (std::vector<std::string>{"0.weight", "0.bias", "2.weight", "2.bias"}));
}

}  // namespace
}  // namespace kiln::testing
