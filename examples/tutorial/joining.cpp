// Tutorial, chapter "joining": putting tensors together.
//
// cat(tensors, dim) joins tensors along a dimension they already have: their sizes must
// agree everywhere except along `dim`. stack(tensors, dim) inserts a new dimension at
// `dim`, so all tensors must have the same shape. The list is written with braces.
#include <kiln/kiln.h>

#include <iostream>

using namespace kiln;

int main() {
  auto a = tensor({{1, 2, 3}, {4, 5, 6}});
  auto b = tensor({{7, 8, 9}, {10, 11, 12}});

  std::cout << "== cat joins along an existing dimension ==\n";
  std::cout << cat({a, b}) << '\n';      // dim defaults to 0: one below the other
  std::cout << cat({a, b}, 0) << '\n';
  std::cout << cat({a, b}, 1) << '\n';   // side by side
  std::cout << cat({a, b}, -1) << '\n';  // negative dims count from the end
  std::cout << cat({a, b, a}, 1) << '\n';

  std::cout << "== Sizes may differ along the joined dimension only ==\n";
  auto row = tensor({{0, 0, 0}});
  std::cout << cat({a, row}) << '\n';
  auto col = tensor({{-1}, {-2}});
  std::cout << cat({col, a, col}, 1) << '\n';
  std::cout << cat({tensor({1, 2}), tensor({3}), tensor({4, 5, 6})}) << '\n';

  std::cout << "== cat on 3-D tensors ==\n";
  auto x = arange(24).reshape({2, 3, 4});
  std::cout << cat({x, x}, 0).sizes() << '\n';
  std::cout << cat({x, x}, 1).sizes() << '\n';
  std::cout << cat({x, x}, 2).sizes() << '\n';
  std::cout << cat({x, x * 10}, 2)[0] << '\n';

  std::cout << "== The tutorial's example: three copies side by side ==\n";
  auto t = ones({4, 4});
  t.index_put_({Slice(), 1}, 0);  // Python: t[:, 1] = 0
  auto t1 = cat({t, t, t}, 1);
  std::cout << t1 << '\n';

  std::cout << "== stack adds a new dimension ==\n";
  auto s0 = stack({a, b});
  std::cout << s0.sizes() << '\n';
  std::cout << s0 << '\n';
  auto s1 = stack({a, b}, 1);
  std::cout << s1.sizes() << '\n';
  std::cout << s1 << '\n';
  auto s2 = stack({a, b}, 2);
  std::cout << s2.sizes() << '\n';
  std::cout << s2 << '\n';
  std::cout << (equal(stack({a, b}, -1), s2) ? "True" : "False") << '\n';

  std::cout << "== Stacking vectors into a matrix ==\n";
  auto u = tensor({1.0, 2.0, 3.0});
  auto v = tensor({4.0, 5.0, 6.0});
  std::cout << stack({u, v}) << '\n';
  std::cout << stack({u, v}, 1) << '\n';
  std::cout << stack({u, v, u + v}).sum(0) << '\n';

  std::cout << "== Mixed dtypes are promoted ==\n";
  std::cout << cat({tensor({1, 2}), tensor({0.5})}) << '\n';
  std::cout << stack({tensor({1, 2}, int32), tensor({3, 4})}) << '\n';
  return 0;
}
