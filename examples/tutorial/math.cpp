// Tutorial, chapter "math": element-wise functions and reductions.
//
// Element-wise functions (sqrt, exp, log, sin, tanh, sigmoid, relu, pow, abs, ...) apply to
// every element and keep the shape; each is a method and a free function. Reductions
// (sum, mean, max, min, argmax, std, var, all, any) combine elements: over the whole tensor
// (giving a 0-d tensor), or along one dim, which disappears unless keepdim is true.
// max(dim) and min(dim) return the values and their indices, like torch.max(x, dim).
#include <kiln/kiln.h>

#include <iostream>
#include <sstream>
#include <string>

using namespace kiln;

// Formats a double the way Python prints a float (21.0, 2.5).
std::string py(double value) {
  std::ostringstream out;
  out << value;
  std::string text = out.str();
  if (text.find_first_of(".en") == std::string::npos) text += ".0";
  return text;
}

int main() {
  std::cout << "== Element-wise functions ==\n";
  auto x = tensor({{1.0, 4.0, 9.0}, {16.0, 25.0, 100.0}});
  std::cout << x.sqrt() << '\n';
  std::cout << sqrt(x) << '\n';
  std::cout << x.log() << '\n';     // natural logarithm
  std::cout << x.log2() << '\n';
  std::cout << x.log10() << '\n';
  std::cout << tensor({0.0, 1.0, -1.0, 2.0}).exp() << '\n';
  std::cout << x.exp() << '\n';     // wide ranges print in scientific notation; e^100 is inf in float32
  std::cout << x.pow(2) << '\n';
  std::cout << x.pow(0.5) << '\n';
  std::cout << pow(x, tensor({1.0, 0.5, 0.0})) << '\n';  // the exponents broadcast over rows
  std::cout << tensor({1, 2, 3}).pow(2) << '\n';         // integers stay integers

  std::cout << "== Trigonometry and activations ==\n";
  auto angles = tensor({0.0, 0.5, 1.0, 1.5, 2.0, 3.0});
  std::cout << angles.sin() << '\n';
  std::cout << angles.cos() << '\n';
  auto z = tensor({-3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0});
  std::cout << z.tanh() << '\n';
  std::cout << z.sigmoid() << '\n';
  std::cout << sigmoid(z) << '\n';
  std::cout << z.relu() << '\n';
  std::cout << relu(tensor({-2, 0, 2})) << '\n';
  std::cout << z.abs() << '\n';
  std::cout << abs(tensor({-7, 0, 7})) << '\n';
  std::cout << z.neg() << '\n';     // note the -0.0000: negating zero gives negative zero

  std::cout << "== Special values ==\n";
  auto s = tensor({-1.0, 0.0, 1.0});
  std::cout << s.sqrt() << '\n';
  std::cout << s.log() << '\n';
  std::cout << s / 0 << '\n';
  std::cout << tensor({1000.0}).exp() << '\n';

  std::cout << "== Reductions over everything ==\n";
  auto y = tensor({{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}});
  std::cout << y.sum() << '\n';
  std::cout << y.mean() << '\n';
  std::cout << y.max() << '\n';
  std::cout << y.min() << '\n';
  std::cout << y.argmax() << '\n';  // index into the flattened tensor
  std::cout << y.argmin() << '\n';
  std::cout << y.std() << '\n';     // sample standard deviation (divides by n - 1)
  std::cout << y.var() << '\n';
  std::cout << py(y.sum().item<double>()) << '\n';  // a 0-d tensor's value as a number
  std::cout << tensor({1, 2, 3}, int32).sum() << '\n';  // integer sums are int64
  std::cout << tensor({true, true, false}).sum() << '\n';

  std::cout << "== Reductions along a dimension ==\n";
  std::cout << y.sum(0) << '\n';    // down the columns
  std::cout << y.sum(1) << '\n';    // across each row
  std::cout << y.sum(1, /*keepdim=*/true) << '\n';
  std::cout << y.mean(0) << '\n';
  std::cout << y.mean(-1, /*keepdim=*/true) << '\n';
  std::cout << y.std(0) << '\n';
  std::cout << y.var(1) << '\n';
  std::cout << y.var(1, /*keepdim=*/true) << '\n';
  auto [values, indices] = y.max(1);
  std::cout << values << '\n';
  std::cout << indices << '\n';
  auto [min_values, min_indices] = y.min(0, /*keepdim=*/true);
  std::cout << min_values << '\n';
  std::cout << min_indices << '\n';
  std::cout << y.argmax(0) << '\n';
  std::cout << y.argmax(1, /*keepdim=*/true) << '\n';
  std::cout << y.argmin(1) << '\n';
  std::cout << std::get<1>(tensor({{3, 1, 2}, {0, 5, 5}}).max(1)) << '\n';  // ties: the first

  std::cout << "== all and any ==\n";
  auto b = y > 2;
  std::cout << b << '\n';
  std::cout << b.all() << '\n';
  std::cout << b.any() << '\n';
  std::cout << b.all(0) << '\n';
  std::cout << b.any(1) << '\n';
  std::cout << b.all(1, /*keepdim=*/true) << '\n';
  std::cout << (y > 0).all() << '\n';
  std::cout << (y > 10).any() << '\n';
  std::cout << tensor({1, 0, 2}).all() << '\n';  // non-zero counts as true
  std::cout << tensor({0.0, 0.0}).any() << '\n';

  std::cout << "== Putting it together ==\n";
  // Standardize each row: subtract its mean, divide by its standard deviation.
  auto data = tensor({{2.0, 4.0, 4.0, 4.0}, {5.0, 5.0, 7.0, 9.0}});
  auto mean = data.mean(1, /*keepdim=*/true);
  auto stddev = data.std(1, /*keepdim=*/true);
  std::cout << mean << '\n';
  std::cout << stddev << '\n';
  std::cout << (data - mean) / stddev << '\n';  // the (2, 1) statistics broadcast over columns
  std::cout << (data - mean).pow(2).mean(1).sqrt() << '\n';
  return 0;
}
