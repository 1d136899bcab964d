// Tutorial, chapter "shapes": changing how the same elements are arranged.
//
// A tensor's elements live in a storage; sizes and strides say how to walk it. view,
// transpose, permute, squeeze, unsqueeze and expand only change that walk, so they return
// views that share the storage (writes through one show in the other). reshape and flatten
// return a view when they can and copy only when they must; contiguous() copies a tensor
// whose elements are not laid out in row-major order.
#include <kiln/kiln.h>

#include <cstdint>
#include <iostream>

using namespace kiln;

// Python prints booleans as True and False.
const char* py(bool b) { return b ? "True" : "False"; }

int main() {
  auto x = arange(12);

  std::cout << "== reshape ==\n";
  std::cout << x.reshape({3, 4}) << '\n';
  std::cout << x.reshape({2, -1}) << '\n';  // -1: inferred from the element count
  std::cout << x.reshape({2, 3, 2}).sizes() << '\n';
  std::cout << x.reshape({3, 4}).reshape({-1}) << '\n';
  std::cout << reshape(x, {4, 3}) << '\n';

  std::cout << "== view shares storage ==\n";
  auto v = x.view({3, 4});
  std::cout << v << '\n';
  v.index_put_({0, 0}, 100);               // write through the view...
  std::cout << x << '\n';                  // ... and x changes
  x.index_put_({0}, 0);
  std::cout << v[0] << '\n';
  std::cout << py(v.is_contiguous()) << '\n';
  std::cout << v.strides() << '\n';        // elements to skip per step along each dim

  std::cout << "== transpose, t, permute ==\n";
  auto m = arange(6).reshape({2, 3});
  std::cout << m.t() << '\n';
  std::cout << m.transpose(0, 1) << '\n';
  std::cout << transpose(m, 1, 0) << '\n';
  std::cout << m.t().strides() << '\n';    // the same storage, walked column by column
  auto c = arange(24).reshape({2, 3, 4});
  std::cout << c.transpose(0, 2).sizes() << '\n';
  auto p = c.permute({2, 0, 1});           // new dim i is old dim dims[i]
  std::cout << p.sizes() << '\n';
  std::cout << p.strides() << '\n';
  std::cout << p[1] << '\n';
  std::cout << permute(c, {1, 2, 0}).sizes() << '\n';
  std::cout << c.permute({0, -1, -2}).sizes() << '\n';

  std::cout << "== contiguous ==\n";
  // view() needs compatible strides (on a transposed tensor it throws and suggests reshape);
  // contiguous() first makes a row-major copy.
  auto mt = m.t();
  std::cout << py(mt.is_contiguous()) << '\n';
  auto mc = mt.contiguous();
  std::cout << py(mc.is_contiguous()) << '\n';
  std::cout << mc.strides() << '\n';
  std::cout << mc.view({6}) << '\n';
  std::cout << mt.reshape({6}) << '\n';
  // An already contiguous tensor is returned as is, without a copy.
  std::cout << py(m.contiguous().data_ptr<int64_t>() == m.data_ptr<int64_t>()) << '\n';
  mt.index_put_({0, 1}, 33);               // mt is still a view of m
  std::cout << m << '\n';

  std::cout << "== squeeze and unsqueeze ==\n";
  auto s = zeros({1, 3, 1, 2});
  std::cout << s.squeeze().sizes() << '\n';    // drops every size-1 dim
  std::cout << s.squeeze(0).sizes() << '\n';
  std::cout << s.squeeze(1).sizes() << '\n';   // size 3: nothing to drop
  std::cout << s.squeeze(-2).sizes() << '\n';
  auto r = tensor({1, 2, 3});
  std::cout << r.unsqueeze(0) << '\n';         // a row
  std::cout << r.unsqueeze(1) << '\n';         // a column
  std::cout << r.unsqueeze(-1).sizes() << '\n';
  std::cout << unsqueeze(r, 0).sizes() << '\n';
  std::cout << squeeze(tensor({{{5}}})) << '\n';

  std::cout << "== flatten ==\n";
  std::cout << c.flatten() << '\n';
  std::cout << c.flatten(1).sizes() << '\n';   // keep dim 0, merge the rest
  std::cout << c.flatten(0, 1).sizes() << '\n';
  std::cout << flatten(c, 1)[1] << '\n';
  std::cout << tensor(7).flatten() << '\n';    // a 0-d tensor flattens to one element

  std::cout << "== expand: broadcast without copying ==\n";
  auto col = tensor({{1}, {2}, {3}});
  auto e = col.expand({3, 4});
  std::cout << e << '\n';
  std::cout << e.strides() << '\n';            // stride 0: the column is reused
  std::cout << col.expand({-1, 2}) << '\n';    // -1 keeps that size
  std::cout << tensor({1, 2, 3}).expand({2, 3}) << '\n';
  std::cout << tensor(5).expand({2, 2}).sizes() << '\n';
  std::cout << zeros({2, 3}).expand_as(zeros({4, 2, 3})).sum(0) << '\n';
  std::cout << py(e.contiguous().is_contiguous()) << '\n';

  std::cout << "== Sizes ==\n";
  std::cout << c.dim() << ' ' << c.numel() << ' ' << c.size(0) << ' ' << c.size(-1) << '\n';
  std::cout << c.sizes() << '\n';
  return 0;
}
