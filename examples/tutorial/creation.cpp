// Tutorial, chapter "creation": the ways to make a tensor.
//
// A tensor is an n-dimensional array with one element type (its dtype). You can build one
// from nested lists of values, fill one with a constant, take the shape of another tensor,
// count along a range, or draw random numbers. Python's torch.tensor(...), torch.zeros(...)
// and friends become kiln::tensor(...), kiln::zeros(...): same names, same results.
#include <kiln/kiln.h>

#include <iostream>

using namespace kiln;

int main() {
  std::cout << "== Tensors from nested lists ==\n";
  // The dtype is inferred from the literals: integers give int64, floating values float32,
  // bools boolean, exactly as in Python.
  auto x_data = tensor({{1, 2}, {3, 4}});
  std::cout << x_data << '\n';
  std::cout << x_data.dtype() << '\n';
  std::cout << tensor({{1.5, 2.0}, {3.0, 4.25}}) << '\n';
  std::cout << tensor({true, false, true}) << '\n';
  std::cout << tensor(3.5) << '\n';          // a single number gives a 0-d tensor
  std::cout << tensor(7).dim() << '\n';
  std::cout << tensor({{{1, 2}, {3, 4}}, {{5, 6}, {7, 8}}}) << '\n';

  std::cout << "== Choosing a dtype ==\n";
  // A trailing dtype converts the values (floats are truncated toward zero for integer types).
  std::cout << tensor({1, 2, 3}, float64) << '\n';
  std::cout << tensor({2.5, 3.3, -1.7}, int32) << '\n';
  std::cout << tensor({0, 1, 2}, boolean) << '\n';
  std::cout << tensor(2.5, float64) << '\n';
  auto x_int = tensor({1, 2, 3});
  std::cout << x_int.to(float32) << '\n';     // .to(dtype) makes a converted copy
  std::cout << x_int.to(uint8).dtype() << '\n';

  std::cout << "== zeros, ones, full ==\n";
  // Shapes are written with braces. full() takes its dtype from the fill value.
  std::cout << zeros({2, 3}) << '\n';
  std::cout << ones({2, 3}, int32) << '\n';
  std::cout << full({2, 2}, 7) << '\n';
  std::cout << full({2, 2}, 0.5) << '\n';
  std::cout << full({3}, true) << '\n';
  // Instead of a dtype you may pass options, named like Python's keyword arguments.
  std::cout << zeros({2, 2}, {.dtype = float64, .device = cpu}) << '\n';
  std::cout << eye(3) << '\n';

  std::cout << "== *_like: same shape (and dtype) as another tensor ==\n";
  auto x_ones = ones_like(x_data);
  std::cout << x_ones << '\n';
  std::cout << zeros_like(x_data) << '\n';
  std::cout << full_like(x_data, 9) << '\n';
  std::cout << ones_like(x_data, float32) << '\n';  // ... or override the dtype
  auto x_like = empty_like(x_data);
  std::cout << x_like.sizes() << '\n';
  std::cout << x_like.dtype() << '\n';

  std::cout << "== arange ==\n";
  // arange(start, end, step) stops before `end`; all-integer arguments give int64.
  std::cout << arange(5) << '\n';
  std::cout << arange(1, 4) << '\n';
  std::cout << arange(0, 10, 3) << '\n';
  std::cout << arange(1, 2.5, 0.5) << '\n';  // a floating argument gives float32
  std::cout << arange(5, int32) << '\n';
  std::cout << arange(10, 0, -2) << '\n';

  std::cout << "== linspace ==\n";
  // linspace(start, end, steps) includes both ends.
  std::cout << linspace(-10, 10, 5) << '\n';
  std::cout << linspace(0, 1, 5) << '\n';
  std::cout << linspace(3, 10, 5, float64) << '\n';

  std::cout << "== Random tensors with a fixed seed ==\n";
  // After manual_seed(s), kiln's CPU generator yields the very numbers PyTorch yields.
  manual_seed(42);
  std::cout << initial_seed() << '\n';
  std::cout << rand({2, 3}) << '\n';             // uniform on [0, 1)
  std::cout << randn({2, 3}) << '\n';            // standard normal
  std::cout << randint(0, 10, {3, 4}) << '\n';   // integers in [0, 10)
  std::cout << rand({2, 2}, float64) << '\n';
  manual_seed(42);
  // Each call continues the stream, so two draws differ...
  std::cout << (equal(rand({2, 3}), rand({2, 3})) ? "True" : "False") << '\n';
  // ... while re-seeding replays it.
  manual_seed(7);
  auto a = randn({4, 4});
  manual_seed(7);
  auto b = randn({4, 4});
  std::cout << (equal(a, b) ? "True" : "False") << '\n';
  std::cout << a << '\n';
  std::cout << randn({3}, float64) << '\n';
  std::cout << randint(10, {5}) << '\n';
  std::cout << rand_like(zeros({2, 2})) << '\n';

  std::cout << "== empty: uninitialized memory, so only look at shape and dtype ==\n";
  Shape shape = {2, 3};
  auto e = empty(shape);
  std::cout << e.sizes() << '\n';
  std::cout << e.dtype() << '\n';
  auto e32 = empty({4, 2}, int32);
  std::cout << e32.sizes() << '\n';
  std::cout << e32.dtype() << '\n';
  std::cout << e32.dim() << ' ' << e32.numel() << '\n';
  auto e0 = empty({0, 3});                       // a tensor with no elements is fine to print
  std::cout << e0.sizes() << ' ' << e0.numel() << '\n';
  std::cout << e0 << '\n';

  std::cout << "== Attributes of a tensor ==\n";
  auto t = ones({3, 4});
  std::cout << t.sizes() << '\n';
  std::cout << t.dtype() << '\n';
  std::cout << t.device() << '\n';
  std::cout << t.size(0) << ' ' << t.size(1) << ' ' << t.size(-1) << '\n';
  return 0;
}
