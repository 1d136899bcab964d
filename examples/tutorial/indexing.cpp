// Tutorial, chapter "indexing": reading and writing parts of a tensor.
//
// t[i] picks along the first dimension, like Python. For everything else Python writes
// inside the brackets, kiln uses t.index({...}) with the same pieces: integers, Slice(start,
// stop, step) for start:stop:step (None for a blank), None for a new axis, Ellipsis for ...,
// integer tensors for lists of indices and boolean tensors for masks. Assignment
// (Python's t[...] = value) is t.index_put_({...}, value).
#include <kiln/kiln.h>

#include <iostream>

using namespace kiln;

int main() {
  auto x = arange(12).reshape({3, 4});
  std::cout << x << '\n';

  std::cout << "== Rows and single elements ==\n";
  std::cout << x[0] << '\n';
  std::cout << x[-1] << '\n';                  // negative indices count from the end
  std::cout << x[1][2] << '\n';
  std::cout << x.index({1, 2}) << '\n';        // Python: x[1, 2], a 0-d tensor
  std::cout << x.index({1, 2}).item<int64_t>() << '\n';

  std::cout << "== Columns ==\n";
  std::cout << x.index({Slice(), 0}) << '\n';  // Python: x[:, 0]
  std::cout << x.index({Slice(), -1}) << '\n';
  std::cout << x.index({Ellipsis, 1}) << '\n'; // Python: x[..., 1]

  std::cout << "== Ranges and steps ==\n";
  std::cout << x.index({Slice(0, 2)}) << '\n';           // x[0:2]
  std::cout << x.index({Slice(1, None)}) << '\n';        // x[1:]
  std::cout << x.index({Slice(), Slice(1, 3)}) << '\n';  // x[:, 1:3]
  std::cout << x.index({Slice(None, None, 2)}) << '\n';  // x[::2]
  std::cout << x.index({Slice(), Slice(None, None, 2)}) << '\n';
  std::cout << x.index({Slice(), Slice(1, None, 2)}) << '\n';
  std::cout << x.index({Slice(-2, None), Slice(-2, None)}) << '\n';
  std::cout << x.index({0, Slice(1, None)}) << '\n';

  std::cout << "== New axes ==\n";
  std::cout << x.index({None}).sizes() << '\n';
  std::cout << x.index({Slice(), None}).sizes() << '\n';
  std::cout << x.index({Ellipsis, None}).sizes() << '\n';
  std::cout << tensor({1, 2, 3}).index({Slice(), None}) << '\n';

  std::cout << "== Lists of indices ==\n";
  // Python's lists of indices are integer tensors here.
  std::cout << x.index({tensor({0, 2})}) << '\n';                      // x[[0, 2]]
  std::cout << x.index({Slice(), tensor({0, 3})}) << '\n';             // x[:, [0, 3]]
  std::cout << x.index({tensor({0, 2}), tensor({1, 3})}) << '\n';      // pairs (0,1), (2,3)
  std::cout << x.index({tensor({{0, 1}, {2, 0}})}) << '\n';            // result takes its shape
  std::cout << x.index({tensor({2, 2, 0}), -1}) << '\n';
  std::cout << x.index({tensor({-1, 0}), Slice(1, 3)}) << '\n';

  std::cout << "== Boolean masks ==\n";
  auto mask = x > 5;
  std::cout << mask << '\n';
  std::cout << x.index({mask}) << '\n';                                // the selected elements
  std::cout << x.index({(x < 3).logical_or(x > 9)}) << '\n';
  std::cout << x.index({~mask}) << '\n';
  std::cout << x.index({(x > 2).logical_and(x < 8)}) << '\n';
  std::cout << x.index({tensor({true, false, true})}) << '\n';          // a mask over rows
  std::cout << x.index({Slice(), tensor({false, true, true, false})}) << '\n';
  std::cout << (x > 5).nonzero() << '\n';

  std::cout << "== Assigning with index_put_ ==\n";
  auto y = x.clone();
  y.index_put_({0}, 100);                             // y[0] = 100
  std::cout << y << '\n';
  y.index_put_({Slice(), 1}, 0);                      // y[:, 1] = 0
  std::cout << y << '\n';
  y.index_put_({y > 8}, -1);                          // y[y > 8] = -1
  std::cout << y << '\n';
  y.index_put_({tensor({0, 2}), tensor({0, 3})}, tensor({7, 8}));
  std::cout << y << '\n';
  y.index_put_({1}, tensor({1, 2, 3, 4}));
  std::cout << y << '\n';
  y.index_put_({Slice(1, None), Slice(2, None)}, tensor({{50}, {60}}));  // values broadcast
  std::cout << y << '\n';
  y.index_put_({tensor({0, 1}), tensor({3, 3})}, tensor(5));
  std::cout << y << '\n';
  auto f = zeros({2, 3});
  f.index_put_({f == 0}, 0.5);
  f.index_put_({0, 0}, 2);
  std::cout << f << '\n';

  std::cout << "== Basic indexing gives views, lists and masks give copies ==\n";
  auto row = x[0];
  row.add_(1000);                                     // writes into x
  std::cout << x << '\n';
  auto picked = x.index({tensor({0})});
  picked.fill_(0);                                    // a copy: x is unchanged
  std::cout << picked << '\n';
  std::cout << x[0] << '\n';
  x.index({Slice(), 3}).zero_();
  std::cout << x << '\n';
  return 0;
}
