// Tutorial, chapter "arithmetic": doing math with tensors.
//
// The operators + - * / work element by element, with numbers or with other tensors, in
// both operand orders. Every operator also exists as a method (a.add(b)) and as a free
// function (add(a, b)); the methods ending in an underscore change the tensor in place.
// Python's a @ b is written matmul(a, b), and a ** b is a.pow(b) or pow(a, b).
#include <kiln/kiln.h>

#include <iostream>

using namespace kiln;

int main() {
  auto a = tensor({{1, 2}, {3, 4}});
  auto b = tensor({{5, 6}, {7, 8}});

  std::cout << "== With a scalar ==\n";
  std::cout << a + 10 << '\n';
  std::cout << a - 1 << '\n';
  std::cout << a * 3 << '\n';
  std::cout << a / 2 << '\n';     // true division: integers divide into floats
  std::cout << 10 - a << '\n';
  std::cout << 2 * a << '\n';
  std::cout << 12 / a << '\n';
  std::cout << a.pow(2) << '\n';  // Python: a ** 2
  std::cout << pow(2, a) << '\n'; // Python: 2 ** a
  std::cout << -a << '\n';

  std::cout << "== Element by element with another tensor ==\n";
  std::cout << a + b << '\n';
  std::cout << a - b << '\n';
  std::cout << a * b << '\n';
  std::cout << b / a << '\n';
  std::cout << a.pow(b) << '\n';

  std::cout << "== Methods and free functions ==\n";
  std::cout << a.add(b) << '\n';
  std::cout << add(a, b) << '\n';
  std::cout << a.sub(1) << '\n';
  std::cout << sub(a, b) << '\n';
  std::cout << a.mul(b) << '\n';
  std::cout << mul(a, 2) << '\n';
  std::cout << a.div(b) << '\n';
  std::cout << div(a, 4) << '\n';
  std::cout << a.neg() << '\n';

  std::cout << "== In-place operations ==\n";
  // In-place methods write into the tensor itself. clone() first so that `a` stays intact.
  // (An in-place op whose result would need a wider dtype, such as dividing an int64 tensor
  // in place, throws kiln::Error, as PyTorch raises.)
  auto c = a.clone();
  c.add_(5);
  std::cout << c << '\n';
  c.mul_(2);
  std::cout << c << '\n';
  c.sub_(b);
  std::cout << c << '\n';
  c += 1;
  std::cout << c << '\n';
  c *= a;
  std::cout << c << '\n';
  std::cout << a << '\n';
  auto f = ones({2, 3});
  f += 0.5;
  std::cout << f << '\n';
  f /= 2;
  std::cout << f << '\n';
  f.pow_(2);
  std::cout << f << '\n';
  f.neg_();
  std::cout << f << '\n';
  f.fill_(7);
  std::cout << f << '\n';
  f.copy_(tensor({1.0, 2.0, 3.0}));  // copy_ broadcasts its source to the tensor's shape
  std::cout << f << '\n';
  f.zero_();
  std::cout << f << '\n';

  std::cout << "== Hadamard (element-wise) product ==\n";
  auto x = tensor({{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}});
  std::cout << x * x << '\n';
  std::cout << x.mul(x) << '\n';
  std::cout << mul(x, x) << '\n';

  std::cout << "== Matrix multiplication ==\n";
  auto w = tensor({{1.0, 0.0}, {0.0, 1.0}, {1.0, 1.0}});
  std::cout << matmul(x, w) << '\n';  // Python: x @ w
  std::cout << x.matmul(w) << '\n';
  std::cout << matmul(x, w) << '\n';
  std::cout << mm(x, w) << '\n';      // mm: 2-D only, no broadcasting
  std::cout << matmul(x, x.t()) << '\n';
  auto v = tensor({1.0, 0.0, -1.0});
  std::cout << matmul(x, v) << '\n';  // matrix @ vector gives a vector
  std::cout << matmul(v, v) << '\n';  // vector @ vector gives a 0-d dot product
  auto batch = arange(12).reshape({2, 2, 3});
  auto m = arange(6).reshape({3, 2});
  std::cout << matmul(batch, m) << '\n';  // the matrix is broadcast over the batch
  std::cout << bmm(batch, batch.transpose(1, 2)) << '\n';

  std::cout << "== Broadcasting ==\n";
  // Shapes are aligned from the right; a size-1 (or missing) dimension is stretched.
  auto row = tensor({10, 20, 30});
  auto col = tensor({{1}, {2}});
  auto grid = arange(6).reshape({2, 3});
  std::cout << grid + row << '\n';
  std::cout << grid * col << '\n';
  std::cout << row + col << '\n';
  std::cout << grid - tensor(100) << '\n';
  auto z = zeros({2, 1, 3});
  std::cout << (z + ones({4, 1})).sizes() << '\n';

  std::cout << "== Type promotion ==\n";
  // The result dtype follows torch.result_type: a floating operand wins over integers, and a
  // plain number or a 0-d tensor only decides when it is of a higher kind.
  auto i = tensor({1, 2, 3});
  std::cout << i + 1.5 << '\n';
  std::cout << i * 2 << '\n';
  std::cout << i / 2 << '\n';
  std::cout << i + tensor({0.5, 0.5, 0.5}, float64) << '\n';
  std::cout << i.to(int32) + 1 << '\n';
  std::cout << i.to(int32) + i << '\n';
  std::cout << tensor({1, 2}, uint8) + tensor({1, 2}, int8) << '\n';
  std::cout << tensor({1.0, 2.0}) + tensor(1.0, float64) << '\n';
  std::cout << tensor({true, false}) + 1 << '\n';
  std::cout << i * true << '\n';
  std::cout << (i + 0.5).dtype() << '\n';
  std::cout << tensor({1, 2}, float16) + tensor({1.0, 2.0}) << '\n';

  std::cout << "== Comparisons give boolean tensors ==\n";
  std::cout << (a > 2) << '\n';
  std::cout << (a == b - 4) << '\n';
  std::cout << (a != 3) << '\n';
  std::cout << a.le(b) << '\n';
  std::cout << eq(a, tensor({{1, 0}, {3, 0}})) << '\n';
  std::cout << (a >= 2.5) << '\n';
  return 0;
}
