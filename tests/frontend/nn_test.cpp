// kiln::nn modules: registration and dotted names, parameter order, state_dict round trips and
// every load_state_dict error, printing, train/eval, conversion, and Linear's initialisation
// against PyTorch's values for the same seed (nn_fixtures.inc). Layers, dropout and losses are
// in nn_layers_test.cpp.
#include <sstream>
#include <string>
#include <vector>

#include "frontend_test_util.h"
#include "nn_fixtures.h"

namespace kiln {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::matches_fixture;
using testing::values;

std::vector<std::string> names_of(const std::vector<std::pair<std::string, Tensor>>& named) {
  std::vector<std::string> out;
  for (const auto& [name, t] : named) out.push_back(name);
  return out;
}

std::vector<std::string> keys_of(const StateDict& sd) {
  std::vector<std::string> out;
  for (const auto& [name, t] : sd) out.push_back(name);
  return out;
}

template <class M>
std::string printed(const M& module) {
  std::ostringstream os;
  os << module;
  return os.str();
}

// A model written the libtorch way: handle members registered in the constructor.
struct Net : nn::Module {
  Net()
      : fc1(register_module("fc1", nn::Linear(3, 4))),
        body(register_module("body", nn::Sequential(nn::ReLU(), nn::Linear(4, 2)))) {
    scale = register_parameter("scale", ones({2}));
    register_buffer("steps", zeros({}, int64));
    register_buffer("scratch", zeros({2}), /*persistent=*/false);
  }
  Tensor forward(const Tensor& x) override { return body(fc1(x)) * scale; }

  nn::Linear fc1;
  nn::Sequential body;
  Tensor scale;
};

TEST(NnModule, RegistrationOrderAndDottedNames) {
  Net net;
  // PyTorch: a module's own parameters first, then each child's, in registration order.
  EXPECT_THAT(names_of(net.named_parameters()),
              ElementsAre("scale", "fc1.weight", "fc1.bias", "body.1.weight", "body.1.bias"));
  EXPECT_THAT(names_of(net.named_parameters(/*recurse=*/false)), ElementsAre("scale"));
  EXPECT_THAT(names_of(net.named_buffers()), ElementsAre("steps", "scratch"));
  const std::vector<Tensor> params = net.parameters();
  ASSERT_EQ(params.size(), 5u);
  EXPECT_EQ(params[1].impl(), net.fc1.weight().impl()) << "parameters() returns the tensors";
  EXPECT_EQ(params[4].impl(), net.body.at<nn::LinearImpl>(1)->bias().impl());
  EXPECT_EQ(net.children().size(), 2u);
  EXPECT_EQ(net.named_children()[1].first, "body");
  for (const Tensor& p : params) {
    EXPECT_TRUE(p.requires_grad());
    EXPECT_TRUE(p.is_leaf());
  }
  EXPECT_EQ(net(ones({5, 3})).sizes(), (Shape{5, 2}));
}

TEST(NnModule, SharedModulesAndTensorsAreListedOnce) {
  nn::Linear shared(2, 2);
  nn::Sequential seq(shared, nn::ReLU(), shared);
  EXPECT_THAT(names_of(seq.named_parameters()), ElementsAre("0.weight", "0.bias"));
  // state_dict keeps both names, as PyTorch does.
  EXPECT_THAT(keys_of(seq.state_dict()), ElementsAre("0.weight", "0.bias", "2.weight", "2.bias"));
}

TEST(NnModule, RegisterParameterMakesALeafSharingStorage) {
  nn::Module m;
  Tensor base = tensor({1.0, 2.0});
  Tensor computed = base * 2;  // no history, but not the registered tensor itself
  Tensor p = m.register_parameter("p", computed);
  EXPECT_TRUE(p.requires_grad());
  EXPECT_TRUE(p.is_leaf());
  EXPECT_FALSE(computed.requires_grad()) << "the argument is untouched";
  {
    NoGradGuard no_grad;
    p.add_(1.0);
  }
  EXPECT_THAT(values(computed), ElementsAre(3.0, 5.0)) << "nn.Parameter shares storage";
  Tensor frozen = m.register_parameter("frozen", ones({2}), /*requires_grad=*/false);
  EXPECT_FALSE(frozen.requires_grad());
  // An absent parameter (PyTorch's register_parameter(name, None)) is skipped everywhere.
  m.register_parameter("none", Tensor());
  EXPECT_THAT(names_of(m.named_parameters()), ElementsAre("p", "frozen"));
  EXPECT_THAT(keys_of(m.state_dict()), ElementsAre("p", "frozen"));
  // Re-registering a parameter replaces it in place (keeping its position).
  m.register_parameter("p", zeros({3}));
  EXPECT_THAT(names_of(m.named_parameters()), ElementsAre("p", "frozen"));
  EXPECT_EQ(m.parameters()[0].numel(), 3);
}

TEST(NnModule, RegistrationErrors) {
  nn::Linear m(2, 3);
  EXPECT_EQ(testing::error_of([&] { m->register_parameter("a.b", ones({1})); }),
            "parameter name can't contain \".\"");
  EXPECT_KILN_ERROR(m->register_parameter("", ones({1})),
                    "parameter name can't be empty string \"\"");
  EXPECT_KILN_ERROR(m->register_buffer("x.y", ones({1})), "buffer name can't contain \".\"");
  EXPECT_KILN_ERROR(m->register_module("a.b", nn::ReLU()),
                    "module name can't contain \".\", got: a.b");
  EXPECT_KILN_ERROR(m->register_buffer("weight", ones({1})), "attribute 'weight' already exists");
  EXPECT_KILN_ERROR(m->register_module("bias", nn::ReLU()), "attribute 'bias' already exists");
  EXPECT_KILN_ERROR(m->register_module("empty", nn::Linear(nullptr)), "is null");
  EXPECT_KILN_ERROR(nn::Module().forward(ones({1})),
                    "Module [Module] is missing the required \"forward\" function");
  EXPECT_KILN_ERROR(nn::Linear(nullptr).parameters(), "Accessing empty ModuleHolder");
}

TEST(NnModule, RegisterModuleReturnsTheSameModule) {
  nn::Module parent;
  auto relu = parent.register_module("act", std::make_shared<nn::ReLUImpl>());
  EXPECT_EQ(parent.children()[0].get(), relu.get());
  nn::Linear fc = parent.register_module("fc", nn::Linear(2, 1));
  EXPECT_EQ(parent.named_parameters()[0].second.impl(), fc.weight().impl());
}

TEST(NnModule, StateDictIsDetachedAndSharesStorage) {
  nn::Linear m(3, 2);
  StateDict sd = m.state_dict();
  EXPECT_THAT(keys_of(sd), ElementsAre("weight", "bias"));
  EXPECT_FALSE(sd["weight"].requires_grad());
  sd["bias"].fill_(7.0);  // like sd['bias'].fill_(7) in PyTorch: writes the module's bias
  EXPECT_THAT(values(m.bias()), ElementsAre(7.0, 7.0));
  Net net;
  // Persistent buffers follow each module's parameters; non-persistent ones are left out.
  EXPECT_THAT(keys_of(net.state_dict()), ElementsAre("scale", "steps", "fc1.weight", "fc1.bias",
                                                     "body.1.weight", "body.1.bias"));
}

TEST(NnModule, LoadStateDictRoundTrip) {
  Net a;
  Net b;
  ASSERT_FALSE(equal(a.fc1.weight(), b.fc1.weight()));
  {
    NoGradGuard no_grad;
    a.scale.mul_(3.0);
  }
  nn::IncompatibleKeys keys = b.load_state_dict(a.state_dict());
  EXPECT_TRUE(keys.missing_keys.empty());
  EXPECT_TRUE(keys.unexpected_keys.empty());
  const StateDict sa = a.state_dict();
  const StateDict sb = b.state_dict();
  for (const auto& [name, t] : sa) EXPECT_TRUE(equal(t, sb.at(name))) << name;
  // In place, without history: the same leaf tensors, still requiring grad.
  EXPECT_TRUE(b.fc1.weight().is_leaf());
  EXPECT_TRUE(b.fc1.weight().requires_grad());
  EXPECT_NE(b.fc1.weight().impl(), a.fc1.weight().impl());
  // Values convert to the parameter's dtype, as copy_ does.
  nn::Linear m(2, 1);
  StateDict doubles;
  doubles["weight"] = tensor({{0.5, -1.5}}, float64);
  doubles["bias"] = tensor({2.0}, float64);
  m.load_state_dict(doubles);
  EXPECT_EQ(m.weight().dtype(), float32);
  EXPECT_THAT(values(m.weight()), ElementsAre(0.5, -1.5));
  EXPECT_THAT(values(m(tensor({{2.0f, 1.0f}}))), ElementsAre(1.5));
}

TEST(NnModule, LoadStateDictErrors) {
  nn::Sequential seq(nn::Linear(2, 3), nn::ReLU(), nn::Linear(3, 1));
  StateDict sd = seq.state_dict();
  StateDict missing;
  missing["0.weight"] = sd["0.weight"];
  missing["2.bias"] = sd["2.bias"];
  EXPECT_KILN_ERROR(seq.load_state_dict(missing),
                    "Error(s) in loading state_dict for Sequential:\n\tMissing key(s) in "
                    "state_dict: \"0.bias\", \"2.weight\". ");
  StateDict extra = seq.state_dict();
  extra["0.extra"] = ones({1});
  extra["1.weight"] = ones({1});
  extra["head.weight"] = ones({1});
  EXPECT_KILN_ERROR(seq.load_state_dict(extra),
                    "Error(s) in loading state_dict for Sequential:\n\tUnexpected key(s) in "
                    "state_dict: \"head.weight\", \"0.extra\", \"1.weight\". ");
  StateDict wrong = seq.state_dict();
  wrong["2.weight"] = ones({2, 3});
  EXPECT_KILN_ERROR(seq.load_state_dict(wrong),
                    "Error(s) in loading state_dict for Sequential:\n\tsize mismatch for "
                    "2.weight: copying a param with shape [2, 3] from checkpoint, the shape in "
                    "current model is [1, 3].");
  // All at once: missing first, then unexpected, then the per-tensor errors.
  StateDict all;
  all["0.weight"] = ones({5});
  all["0.bias"] = sd["0.bias"];
  all["2.bias"] = sd["2.bias"];
  all["nope"] = ones({1});
  EXPECT_EQ(testing::error_of([&] { seq.load_state_dict(all); }),
            "Error(s) in loading state_dict for Sequential:\n\t"
            "Missing key(s) in state_dict: \"2.weight\". \n\t"
            "Unexpected key(s) in state_dict: \"nope\". \n\t"
            "size mismatch for 0.weight: copying a param with shape [5] from checkpoint, the "
            "shape in current model is [3, 2].");
  // Not strict: the key lists come back, shape mismatches still throw.
  nn::IncompatibleKeys keys = seq.load_state_dict(missing, /*strict=*/false);
  EXPECT_THAT(keys.missing_keys, ElementsAre("0.bias", "2.weight"));
  EXPECT_TRUE(keys.unexpected_keys.empty());
  keys = seq.load_state_dict(extra, /*strict=*/false);
  EXPECT_THAT(keys.unexpected_keys, ElementsAre("head.weight", "0.extra", "1.weight"));
  EXPECT_KILN_ERROR(seq.load_state_dict(wrong, /*strict=*/false), "size mismatch for 2.weight");
}

TEST(NnModule, LoadedValuesAreCopiedNotAliased) {
  nn::Linear a(2, 2);
  nn::Linear b(2, 2);
  b.load_state_dict(a.state_dict());
  {
    NoGradGuard no_grad;
    a.weight().fill_(0.0);
  }
  EXPECT_FALSE(equal(a.weight(), b.weight()));
}

TEST(NnModule, Printing) {
  EXPECT_EQ(printed(nn::Linear(10, 1)), "Linear(in_features=10, out_features=1, bias=True)");
  EXPECT_EQ(printed(nn::Linear(2, 3, false)), "Linear(in_features=2, out_features=3, bias=False)");
  EXPECT_EQ(printed(nn::ReLU()), "ReLU()");
  EXPECT_EQ(printed(nn::Sigmoid()), "Sigmoid()");
  EXPECT_EQ(printed(nn::Tanh()), "Tanh()");
  EXPECT_EQ(printed(nn::Dropout(0.1)), "Dropout(p=0.1, inplace=False)");
  EXPECT_EQ(printed(nn::Dropout()), "Dropout(p=0.5, inplace=False)");
  EXPECT_EQ(printed(nn::Flatten()), "Flatten(start_dim=1, end_dim=-1)");
  EXPECT_EQ(printed(nn::Softmax(1)), "Softmax(dim=1)");
  EXPECT_EQ(printed(nn::LogSoftmax(-1)), "LogSoftmax(dim=-1)");
  EXPECT_EQ(printed(nn::Sequential()), "Sequential()");
  EXPECT_EQ(printed(nn::Sequential(nn::Linear(10, 5), nn::ReLU(),
                                   nn::Sequential(nn::Linear(5, 1), nn::Sigmoid()))),
            "Sequential(\n"
            "  (0): Linear(in_features=10, out_features=5, bias=True)\n"
            "  (1): ReLU()\n"
            "  (2): Sequential(\n"
            "    (0): Linear(in_features=5, out_features=1, bias=True)\n"
            "    (1): Sigmoid()\n"
            "  )\n"
            ")");
  // A user's module is named after its class.
  EXPECT_EQ(printed(Net()),
            "Net(\n"
            "  (fc1): Linear(in_features=3, out_features=4, bias=True)\n"
            "  (body): Sequential(\n"
            "    (0): ReLU()\n"
            "    (1): Linear(in_features=4, out_features=2, bias=True)\n"
            "  )\n"
            ")");
  nn::Module named("Custom");
  EXPECT_EQ(printed(named), "Custom()");
}

TEST(NnModule, TrainAndEvalAreRecursive) {
  Net net;
  EXPECT_TRUE(net.is_training());
  net.eval();
  EXPECT_FALSE(net.is_training());
  EXPECT_FALSE(net.fc1.is_training());
  EXPECT_FALSE(net.body[1]->is_training());
  net.train();
  EXPECT_TRUE(net.body[0]->is_training());
  net.train(false);
  EXPECT_FALSE(net.body.is_training());
  int visited = 0;
  net.apply([&](nn::Module&) { ++visited; });
  EXPECT_EQ(visited, 5);  // fc1, body, body.0, body.1, net
}

TEST(NnModule, ZeroGrad) {
  nn::Linear m(3, 1);
  Tensor x = ones({2, 3});
  m(x).sum().backward();
  Tensor g = m.weight().grad();
  ASSERT_TRUE(g.defined());
  EXPECT_THAT(values(g), ElementsAre(2.0, 2.0, 2.0));
  m.zero_grad();
  EXPECT_THAT(values(g), ElementsAre(0.0, 0.0, 0.0)) << "zeroed in place (PyTorch 1.13)";
  m(x).sum().backward();
  EXPECT_THAT(values(m.weight().grad()), ElementsAre(2.0, 2.0, 2.0));
  m.zero_grad(/*set_to_none=*/true);
  EXPECT_FALSE(m.weight().grad().defined());
  EXPECT_FALSE(m.bias().grad().defined());
  m.zero_grad();  // nothing to zero
}

TEST(NnModule, ToDTypeConvertsInPlace) {
  Net net;
  Tensor weight = net.fc1.weight();
  net(ones({1, 3})).sum().backward();
  const std::vector<double> before = values(weight);
  net.to(float64);
  EXPECT_EQ(weight.dtype(), float64) << "the same tensor, rebound (param.data = ...)";
  EXPECT_EQ(net.fc1.weight().dtype(), float64);
  EXPECT_EQ(weight.grad().dtype(), float64);
  EXPECT_TRUE(weight.requires_grad());
  EXPECT_TRUE(weight.is_leaf());
  EXPECT_EQ(values(weight), before);
  EXPECT_EQ(net.named_buffers()[0].second.dtype(), int64) << "integer buffers keep their dtype";
  EXPECT_EQ(net.named_buffers()[1].second.dtype(), float64);
  EXPECT_EQ(net(ones({1, 3}, float64)).dtype(), float64);
  EXPECT_KILN_ERROR(net.to(int64),
                    "nn.Module.to only accepts floating point or complex dtypes, but got desired "
                    "dtype=int64");
  net.to(cpu);
  EXPECT_EQ(weight.device(), cpu);
}

// ---- Linear ----

TEST(NnLinear, InitialisationMatchesPyTorch) {
  manual_seed(0);
  nn::Linear m(10, 1);
  EXPECT_TRUE(matches_fixture(m.weight(), "linear.seed0.weight"));
  EXPECT_TRUE(matches_fixture(m.bias(), "linear.seed0.bias"));
  manual_seed(42);
  nn::Linear m42(4, 3);
  EXPECT_TRUE(matches_fixture(m42.weight(), "linear.seed42.weight"));
  EXPECT_TRUE(matches_fixture(m42.bias(), "linear.seed42.bias"));
  manual_seed(7);
  nn::Linear a(3, 5, /*bias=*/false);
  nn::Linear b(5, 2);
  EXPECT_FALSE(a.bias().defined());
  EXPECT_TRUE(matches_fixture(a.weight(), "linear.seed7.a.weight"));
  EXPECT_TRUE(matches_fixture(b.weight(), "linear.seed7.b.weight"));
  EXPECT_TRUE(matches_fixture(b.bias(), "linear.seed7.b.bias"));
  // Braces: C++ evaluates the elements of a braced list left to right, as Python evaluates
  // arguments, so the layers draw their weights in PyTorch's order (arguments in parentheses
  // are evaluated in an unspecified order: right to left with GCC).
  manual_seed(1);
  nn::Sequential seq{nn::Linear(2, 4), nn::ReLU(), nn::Linear(4, 1)};
  for (const auto& [name, p] : seq.named_parameters())
    EXPECT_TRUE(matches_fixture(p, "sequential.seed1." + name));
}

TEST(NnLinear, ForwardAndGradients) {
  nn::Linear m(3, 2);
  m.load_state_dict([] {
    StateDict sd;
    sd["weight"] = tensor({{1.0, 2.0, 3.0}, {-1.0, 0.5, 0.0}});
    sd["bias"] = tensor({0.5, -0.5});
    return sd;
  }());
  Tensor x = tensor({{1.0, 1.0, 1.0}, {2.0, 0.0, -1.0}});
  Tensor y = m(x);
  EXPECT_THAT(values(y), ElementsAre(6.5, -1.0, -0.5, -2.5));
  EXPECT_THAT(values(m(tensor({1.0, 0.0, 0.0}))), ElementsAre(1.5, -1.5)) << "1-d input";
  (y * tensor({1.0, 2.0})).sum().backward();
  EXPECT_THAT(values(m.weight().grad()), ElementsAre(3.0, 1.0, 0.0, 6.0, 2.0, 0.0));
  EXPECT_THAT(values(m.bias().grad()), ElementsAre(2.0, 4.0));
  EXPECT_EQ(m.in_features(), 3);
  EXPECT_EQ(m.out_features(), 2);
  nn::Linear copy = m;  // a handle: the same layer
  EXPECT_EQ(copy.weight().impl(), m.weight().impl());
}

TEST(NnSequential, IndexingAndPushBack) {
  nn::Sequential seq(nn::Linear(2, 3), nn::ReLU());
  EXPECT_EQ(seq.size(), 2);
  seq.push_back(nn::Linear(3, 1));
  seq.push_back("out", nn::Sigmoid());
  EXPECT_EQ(seq.size(), 4);
  EXPECT_EQ(seq[-1]->name(), "Sigmoid");
  EXPECT_EQ(seq[2]->name(), "Linear");
  EXPECT_EQ(seq.at<nn::LinearImpl>(2)->in_features(), 3);
  nn::Linear third(seq.at<nn::LinearImpl>(2));
  EXPECT_EQ(third.out_features(), 1);
  EXPECT_THAT(names_of(seq.named_parameters()),
              ElementsAre("0.weight", "0.bias", "2.weight", "2.bias"));
  EXPECT_KILN_ERROR(seq[4], "index 4 is out of range");
  EXPECT_KILN_ERROR(seq[-5], "index -5 is out of range");
  EXPECT_KILN_ERROR(seq.at<nn::LinearImpl>(1), "is not of the requested type");
  Tensor y = seq(ones({5, 2}));
  EXPECT_EQ(y.sizes(), (Shape{5, 1}));
  for (double v : values(y)) EXPECT_TRUE(v > 0 && v < 1);
  // A std::shared_ptr works too, and nesting a handle shares the module.
  auto relu = std::make_shared<nn::ReLUImpl>();
  nn::Sequential outer(seq, relu);
  EXPECT_EQ(outer[0].get(), seq.ptr().get());
  EXPECT_EQ(outer[1].get(), relu.get());
  nn::Sequential same(seq);  // one Sequential argument copies the handle
  EXPECT_EQ(same.ptr(), seq.ptr());
}

}  // namespace
}  // namespace kiln
