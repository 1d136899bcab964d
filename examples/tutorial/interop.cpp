// Tutorial, chapter "interop": tensors and plain C++ memory.
//
// PyTorch's NumPy bridge lets a tensor and an array share one buffer. In C++ the array is
// any memory you own, here a std::vector: from_blob(pointer, shape, dtype) wraps it without
// copying, so a write through either side is seen by the other (keep the vector alive while
// the tensor is in use). tensor(std::vector) instead copies the values, keeping their
// element type, like torch.tensor(array).
#include <kiln/kiln.h>

#include <cstdint>
#include <iostream>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

using namespace kiln;

// Formats a number the way Python prints it (a float always shows its decimal point).
template <class T>
std::string py(T value) {
  std::ostringstream out;
  out << value;
  std::string text = out.str();
  if (std::is_floating_point_v<T> && text.find_first_of(".en") == std::string::npos) text += ".0";
  return text;
}

// Prints n elements the way Python prints a list: [1.0, 2.5].
template <class T>
void print_list(const T* data, size_t n) {
  std::cout << '[';
  for (size_t i = 0; i < n; ++i) std::cout << (i ? ", " : "") << py(data[i]);
  std::cout << "]\n";
}
template <class T>
void print_list(const std::vector<T>& values) {
  print_list(values.data(), values.size());
}

int main() {
  std::cout << "== Wrapping an array shares its memory ==\n";
  std::vector<float> n(5, 1.0f);
  auto t = from_blob(n.data(), {5}, float32);  // Python: torch.from_numpy(n)
  std::cout << t << '\n';
  for (float& value : n) value += 1;            // change the vector...
  std::cout << t << '\n';                       // ... and the tensor sees it
  t.mul_(3);                                    // change the tensor...
  print_list(n);                                // ... and the vector sees it
  t.index_put_({0}, 100);
  print_list(n);

  std::cout << "== The tensor's own memory, seen as an array ==\n";
  // data_ptr<T>() points at a tensor's elements (Python: t.numpy()).
  t = ones({5});                                // rebinds the handle to a new tensor
  float* p = t.data_ptr<float>();
  t.add_(1);
  print_list(p, 5);
  p[4] = 42;
  std::cout << t << '\n';

  std::cout << "== A shape over flat memory ==\n";
  std::vector<int64_t> flat = {0, 1, 2, 3, 4, 5};
  auto m = from_blob(flat.data(), {2, 3}, int64);
  std::cout << m << '\n';
  m.index_put_({1, 2}, -1);
  print_list(flat);
  std::cout << m.t() << '\n';                   // views of the tensor share the vector too
  m.t().index_put_({0, 1}, 7);
  print_list(flat);

  std::cout << "== Copying with tensor(...) ==\n";
  std::vector<int64_t> values = {1, 2, 3};
  auto c = tensor(values);
  c.index_put_({0}, 100);
  std::cout << c << '\n';
  print_list(values);                           // the vector is unchanged
  values[1] = 200;
  std::cout << c << '\n';                       // and the tensor keeps its copy

  std::cout << "== The element type is kept ==\n";
  std::cout << tensor(std::vector<double>{0.5, 0.25}) << '\n';
  std::cout << tensor(std::vector<int32_t>{1, 2, 3}) << '\n';
  std::cout << tensor(std::vector<uint8_t>{7, 8}) << '\n';
  std::cout << tensor(std::vector<bool>{true, false, true}) << '\n';
  std::cout << tensor(std::vector<double>{0.5, 0.25}, float32) << '\n';  // or convert

  std::cout << "== clone() and results of operations do not follow later writes ==\n";
  // A clone, like the result of any operation, holds the values of the moment it was made.
  std::vector<float> zeros3(3, 0.0f);
  auto shared = from_blob(zeros3.data(), {3}, float32);
  auto copied = shared.clone();
  auto shifted = shared + 1;
  for (float& value : zeros3) value = 5;        // Python: n[:] = 5
  std::cout << shared << '\n';
  std::cout << copied << '\n';
  std::cout << shifted << '\n';
  shared.fill_(7);
  std::cout << copied << '\n';
  print_list(zeros3);

  std::cout << "== Back to plain values ==\n";
  auto f = tensor({{1.0, 2.5}, {-3.0, 4.0}});
  print_list(f.flatten().tolist<float>());      // Python: t.flatten().tolist()
  std::cout << py(f.sum().item<double>()) << '\n';
  print_list(tensor({4, 5, 6}).tolist<int64_t>());
  std::cout << tensor({4, 5, 6}).sum().item<int64_t>() << '\n';
  return 0;
}
