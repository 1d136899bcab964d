// jit::trace: a traced module computes what its eager forward computes, bit for bit, reads its
// parameters' current values, and refuses calls and modules it cannot replay faithfully.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "io_test_util.h"
#include "kiln/kiln.h"

namespace kiln::testing {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

nn::Sequential mlp() { return nn::Sequential{nn::Linear(64, 32), nn::ReLU(), nn::Linear(32, 10)}; }

Tensor eager_forward(nn::Module& module, const Tensor& x) {
  NoGradGuard no_grad;
  return module.forward(x);
}

// The traced module gives the eager bytes on the example and on new inputs of its shape.
void expect_traced_equals_eager(nn::Module& module, const Shape& shape) {
  const Tensor example = randn(shape);
  const jit::CompiledModule traced = jit::trace(module, {example});
  for (int i = 0; i < 3; ++i) {
    const Tensor x = i == 0 ? example : randn(shape);
    const Tensor got = traced.forward(x);
    const Tensor want = eager_forward(module, x);
    EXPECT_EQ(shape_of(got), shape_of(want)) << module.name() << " call " << i;
    EXPECT_EQ(raw_bytes(got), raw_bytes(want)) << module.name() << " call " << i;
  }
}

TEST(Jit, TracedSequentialEqualsEagerForwardBitwise) {
  manual_seed(0);
  nn::Sequential model = mlp();
  expect_traced_equals_eager(*model, {4, 64});
  expect_traced_equals_eager(*model, {1, 64});
}

TEST(Jit, TracedLinearAndActivationsEqualEager) {
  manual_seed(1);
  nn::Linear linear(5, 3);
  expect_traced_equals_eager(*linear, {7, 5});
  nn::Linear no_bias(5, 3, /*bias=*/false);
  expect_traced_equals_eager(*no_bias, {2, 5});
  nn::ReLU relu;
  expect_traced_equals_eager(*relu, {3, 11});
  nn::Sigmoid sigmoid;
  expect_traced_equals_eager(*sigmoid, {3, 11});
  nn::Tanh tanh;
  expect_traced_equals_eager(*tanh, {3, 11});
  nn::Softmax softmax(1);
  expect_traced_equals_eager(*softmax, {3, 11});
  nn::LogSoftmax log_softmax(1);
  expect_traced_equals_eager(*log_softmax, {3, 11});
  nn::Sequential deep{nn::Linear(8, 16), nn::Tanh(),        nn::Linear(16, 16),
                      nn::Sigmoid(),     nn::Linear(16, 4), nn::LogSoftmax(1)};
  expect_traced_equals_eager(*deep, {5, 8});
}

TEST(Jit, AcceptsHandlesPointersAndModules) {
  manual_seed(2);
  nn::Sequential model = mlp();
  const Tensor x = randn({2, 64});
  const Tensor want = eager_forward(*model, x);
  EXPECT_EQ(raw_bytes(jit::trace(model, {x}).forward(x)), raw_bytes(want));
  EXPECT_EQ(raw_bytes(jit::trace(model.ptr(), {x}).forward(x)), raw_bytes(want));
  EXPECT_EQ(raw_bytes(jit::trace(model.get(), {x})({x}).at(0)), raw_bytes(want));
  EXPECT_THAT(error_of([&] { jit::trace(std::shared_ptr<nn::Module>(), {x}); }),
              HasSubstr("null pointer"));
}

TEST(Jit, CallsAreCheckedAgainstTheTracedSignature) {
  manual_seed(3);
  nn::Sequential model = mlp();
  const jit::CompiledModule traced = jit::trace(model, {randn({1, 64})});
  EXPECT_EQ(traced.input_types(), (std::vector<ir::TensorType>{{float32, {1, 64}}}));
  EXPECT_THAT(error_of([&] {
                traced.forward(randn({2, 64}));
              }),
              HasSubstr("jit: input 0 must be float32[1, 64] (the shape it was traced with; "
                        "trace again for others), got float32[2, 64]"));
  EXPECT_THAT(error_of([&] {
                traced.forward(randn({1, 64}, float64));
              }),
              HasSubstr("(the dtype it was traced with; trace again for others), got "
                        "float64[1, 64]"));
  EXPECT_THAT(error_of([&] { traced.forward(randn({64}, float64)); }),
              HasSubstr("the dtype and shape it was traced with"));
  EXPECT_THAT(error_of([&] { traced({}); }),
              HasSubstr("jit: the module takes 1 input(s) (float32[1, 64]), got 0"));
  EXPECT_THAT(error_of([&] { traced({randn({1, 64}), randn({1, 64})}); }), HasSubstr("got 2"));
  EXPECT_THAT(error_of([&] { traced.forward(Tensor()); }), HasSubstr("undefined tensor"));
  EXPECT_THAT(error_of([&] { jit::trace(model, {}); }),
              HasSubstr("jit::trace: Sequential.forward takes one tensor, got 0 example inputs"));
  EXPECT_THAT(error_of([&] {
                jit::trace(model, {randn({1, 64}), randn({1, 64})});
              }),
              HasSubstr("got 2 example inputs"));
}

TEST(Jit, ViewsAndNonContiguousInputsAreRead) {
  manual_seed(4);
  nn::Linear linear(4, 3);
  const Tensor big = randn({6, 8});
  const Tensor view = big.index({Slice(1, 5), Slice(0, 8, 2)});  // 4 x 4, strided
  const jit::CompiledModule traced = jit::trace(linear, {view});
  EXPECT_EQ(raw_bytes(traced.forward(view)), raw_bytes(eager_forward(*linear, view)));
  const Tensor transposed = randn({4, 4}).t();
  EXPECT_EQ(raw_bytes(traced.forward(transposed)), raw_bytes(eager_forward(*linear, transposed)));
}

TEST(Jit, ParametersChangedAfterTracingAreRead) {
  manual_seed(5);
  nn::Sequential model = mlp();
  const Tensor x = randn({8, 64});
  const jit::CompiledModule traced = jit::trace(model, {x});
  const Tensor before = traced.forward(x);
  // A few SGD steps, left pending: the call realizes them first.
  optim::SGD sgd(model.parameters(), 0.5);
  for (int i = 0; i < 3; ++i) {
    sgd.zero_grad();
    nn::cross_entropy(model(x), randint(10, {8})).backward();
    sgd.step();
  }
  const Tensor after = traced.forward(x);
  EXPECT_NE(raw_bytes(after), raw_bytes(before));
  EXPECT_EQ(raw_bytes(after), raw_bytes(eager_forward(*model, x)));
  // load_state_dict copies in place; set_data rebinds the parameter, which is seen too.
  manual_seed(6);
  nn::Sequential other = mlp();
  model.load_state_dict(other.state_dict());
  EXPECT_EQ(raw_bytes(traced.forward(x)), raw_bytes(eager_forward(*other, x)));
  const Tensor w = model.named_parameters()[0].second;
  w.set_data(zeros({32, 64}));
  EXPECT_EQ(raw_bytes(traced.forward(x)), raw_bytes(eager_forward(*model, x)));
}

TEST(Jit, ParametersOfAnotherDtypeAreRefused) {
  manual_seed(7);
  nn::Linear linear(4, 2);
  const jit::CompiledModule traced = jit::trace(linear, {randn({1, 4})});
  linear.to(float64);
  EXPECT_THAT(error_of([&] {
                traced.forward(randn({1, 4}));
              }),
              AllOf(HasSubstr("jit: parameter:weight now holds 8 float64 elements, but the "
                              "program was traced with float32[2, 4]"),
                    HasSubstr("trace the module again")));
}

TEST(Jit, ResultsHaveNoHistory) {
  manual_seed(8);
  nn::Sequential model = mlp();
  const jit::CompiledModule traced = jit::trace(model, {randn({2, 64})});
  const Tensor y = traced.forward(randn({2, 64}).requires_grad_());
  EXPECT_FALSE(y.requires_grad());
  EXPECT_TRUE(is_grad_enabled());  // tracing left grad mode as it was
}

// Modules whose forward returns something other than a new tensor: the input itself, a view,
// a parameter.
struct Identity : nn::Module {
  Identity() : nn::Module("Identity") {}
  Tensor forward(const Tensor& x) override { return x; }
};
struct Transpose : nn::Module {
  Transpose() : nn::Module("Transpose") {}
  Tensor forward(const Tensor& x) override { return (x * 2).t(); }
};
struct ReturnsParameter : nn::Module {
  Tensor p;
  ReturnsParameter() : nn::Module("ReturnsParameter") {
    p = register_parameter("p", tensor({1.0f, 2.0f}));
  }
  Tensor forward(const Tensor&) override { return p; }
};

TEST(Jit, ForwardMayReturnItsInputAViewOrAParameter) {
  const Tensor x = arange(6.0f).reshape({2, 3});
  Identity identity;
  EXPECT_EQ(raw_bytes(jit::trace(identity, {x}).forward(x + 1)), raw_bytes(x + 1));
  Transpose transpose;
  const Tensor t = jit::trace(transpose, {x}).forward(x);
  EXPECT_EQ(shape_of(t), (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(raw_bytes(t), raw_bytes((x * 2).t()));
  ReturnsParameter returns_parameter;
  EXPECT_THAT(values(jit::trace(returns_parameter, {x}).forward(x)), ::testing::ElementsAre(1, 2));
}

// A forward that makes tensors from host values (constants) and reads a tensor it does not own.
struct UsesConstants : nn::Module {
  Tensor scale = tensor({0.5f, 2.0f, -1.0f});  // not registered
  UsesConstants() : nn::Module("UsesConstants") {}
  Tensor forward(const Tensor& x) override { return x * arange(3.0f) + scale; }
};

TEST(Jit, ConstantsAndUnregisteredTensorsAreInputs) {
  UsesConstants module;
  const Tensor x = tensor({1.0f, 1.0f, 1.0f});
  const jit::CompiledModule traced = jit::trace(module, {x});
  EXPECT_THAT(values(traced.forward(x)), ::testing::ElementsAre(0.5, 3, 1));
  // The unregistered tensor is read at each call, as a parameter is.
  module.scale.mul_(0);
  EXPECT_THAT(values(traced.forward(x)), ::testing::ElementsAre(0, 1, 2));
}

struct CountsCalls : nn::Module {
  Tensor count;
  CountsCalls() : nn::Module("CountsCalls") { count = register_buffer("count", zeros({})); }
  Tensor forward(const Tensor& x) override {
    count.add_(1);
    return x * 2;
  }
};
struct WritesInput : nn::Module {
  WritesInput() : nn::Module("WritesInput") {}
  Tensor forward(const Tensor& x) override { return x.mul_(2); }
};

TEST(Jit, ForwardThatChangesStateOrReadsValuesIsRefused) {
  CountsCalls counts;
  EXPECT_THAT(error_of([&] { jit::trace(counts, {ones({2})}); }),
              AllOf(HasSubstr("jit::trace: CountsCalls.forward changes 'count' in place"),
                    HasSubstr("call eval() before tracing")));
  WritesInput writes;
  EXPECT_THAT(error_of([&] { jit::trace(writes, {ones({2})}); }),
              HasSubstr("writes into its input in place"));
  nn::Sequential dropout{nn::Linear(4, 4), nn::Dropout(0.5)};
  EXPECT_THAT(error_of([&] {
                jit::trace(dropout, {ones({1, 4})});
              }),
              AllOf(HasSubstr("jit::trace: Sequential.forward: the traced function needs a "
                              "tensor's value"),
                    HasSubstr("random numbers")));
  dropout.eval();
  EXPECT_EQ(shape_of(jit::trace(dropout, {ones({1, 4})}).forward(ones({1, 4}))),
            (std::vector<int64_t>{1, 4}));
  // Eager work goes on after a refused trace.
  EXPECT_THAT(values(ones({2}) + 1), ::testing::ElementsAre(2, 2));
}

TEST(Jit, TheGraphIsOptimizedAndItsTextRoundTrips) {
  manual_seed(9);
  nn::Sequential model = mlp();
  const jit::CompiledModule traced = jit::trace(model, {randn({3, 64})});
  const ir::Graph& graph = traced.graph();
  EXPECT_TRUE(ir::verify(graph).ok());
  EXPECT_EQ(graph.num_inputs(), 5);  // x and four parameters
  EXPECT_EQ(graph.outputs().size(), 1u);
  const std::string text = ir::to_string(graph);
  EXPECT_THAT(text, AllOf(HasSubstr("matmul("), HasSubstr(": f32[3, 10]")));
  absl::StatusOr<ir::Graph> parsed = ir::parse_graph(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(ir::to_string(*parsed), text);
}

}  // namespace
}  // namespace kiln::testing
