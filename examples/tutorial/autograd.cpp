// Tutorial, chapter "autograd": gradients of tensor computations.
//
// A tensor marked with requires_grad_() records the operations applied to it; backward() on a
// result then fills .grad() of every such leaf with d(result)/d(leaf). In kiln the recording
// is IR, so the backward pass is a graph like the forward one: it fuses and runs lazily.
// Gradients accumulate until zeroed; NoGradGuard stops recording; detach() and data() share
// the elements without the history; set_data() rebinds a tensor to new elements (Python's
// `x.data = ...`), the standard way to update a parameter by hand.
#include <kiln/kiln.h>

#include <cstdio>
#include <iostream>

using namespace kiln;

const char* py(bool b) { return b ? "True" : "False"; }

int main() {
  std::cout << "== gradient basics ==\n";
  auto x = tensor(10.0, float64).requires_grad_();
  auto f = x.pow(2) + 20;
  std::cout << py(x.requires_grad()) << ' ' << py(f.requires_grad()) << ' ' << py(x.is_leaf())
            << ' ' << py(f.is_leaf()) << '\n';
  f.backward();  // df/dx = 2x
  std::cout << x.grad() << '\n';
  auto v = tensor({1.0f, 2.0f, 3.0f, 4.0f}).requires_grad_();
  auto y = (v.pow(2) + 20).mean();
  y.backward();  // d/dv mean(v^2 + 20) = 2v / 4
  std::cout << v.grad() << '\n';
  auto w = tensor({{1.0f, 2.0f}, {3.0f, 4.0f}}).requires_grad_();
  auto b = tensor({0.5f, -0.5f}).requires_grad_();
  auto out = (w.matmul(tensor({1.0f, 2.0f})) + b).relu().sum();
  out.backward();
  std::cout << w.grad() << '\n';
  std::cout << b.grad() << '\n';

  std::cout << "== no_grad ==\n";
  {
    NoGradGuard guard;  // nothing inside records history
    std::cout << py((x * 2).requires_grad()) << '\n';
  }
  set_grad_enabled(false);
  std::cout << py((x * 2).requires_grad()) << '\n';
  set_grad_enabled(true);
  std::cout << py((x * 2).requires_grad()) << '\n';

  std::cout << "== gradients accumulate ==\n";
  auto a = tensor({10.0, 20.0, 30.0, 40.0}, float64).requires_grad_();
  for (int i = 0; i < 3; ++i) {
    (a.pow(2) + 20).mean().backward();
    std::cout << a.grad() << '\n';  // each backward adds to .grad()
  }
  a.grad().zero_();
  (a.pow(2) + 20).mean().backward();
  std::cout << a.grad() << '\n';

  std::cout << "== gradient descent on x^2 ==\n";
  x = tensor(10.0, float64).requires_grad_();
  for (int i = 0; i < 5000; ++i) {
    auto fx = x.pow(2);
    if (x.grad().defined()) x.grad().zero_();
    fx.backward();
    x.set_data(x.data() - 0.001 * x.grad());  // a step against the gradient, not recorded
    if (i % 1000 == 0) std::printf("step %d: x = %.10f\n", i, x.item<double>());
  }
  std::printf("%.10f\n", x.item<double>());

  std::cout << "== detach ==\n";
  auto x1 = tensor({10.0, 20.0}, float64).requires_grad_();
  auto x2 = x1.detach();  // same elements, no history
  std::cout << x2 << '\n';
  std::cout << py(x2.requires_grad()) << '\n';
  x2.set_data(tensor({100, 200}));  // rebinds x2 only
  std::cout << x1 << '\n';
  std::cout << x2 << '\n';
}
