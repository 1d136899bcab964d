// kiln-gpu-random-check OUTDIR: draws random tensors on cuda:0 after manual_seed, as a fixed
// program of calls, and writes each result's raw bytes (OUTDIR/NAME.bin) and the program
// (OUTDIR/manifest.txt, one call per line). tools/gpu_random_check.py replays the manifest
// with PyTorch on the same GPU and compares the bytes: kiln's CUDA random numbers are meant to
// be PyTorch's bit for bit. Exits nonzero when there is no GPU.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include "kiln/kiln.h"

namespace {

using namespace kiln;

// The bytes of a contiguous host tensor.
const void* bytes_of(const Tensor& t) {
  const DType d = t.dtype();
  if (d == float32) return t.data_ptr<float>();
  if (d == float64) return t.data_ptr<double>();
  if (d == float16) return t.data_ptr<Half>();
  if (d == bfloat16) return t.data_ptr<BFloat16>();
  if (d == int8) return t.data_ptr<int8_t>();
  if (d == int16) return t.data_ptr<int16_t>();
  if (d == int32) return t.data_ptr<int32_t>();
  if (d == int64) return t.data_ptr<int64_t>();
  if (d == uint8) return t.data_ptr<uint8_t>();
  return t.data_ptr<bool>();
}

std::string num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

class Program {
 public:
  explicit Program(std::filesystem::path dir) : dir_(std::move(dir)) {
    std::filesystem::create_directories(dir_);
    manifest_.open(dir_ / "manifest.txt");
  }

  void seed(uint64_t s) {
    manual_seed(s);
    manifest_ << "seed " << s << "\n";
  }

  // One line "NAME OP DTYPE N ARGS..." and NAME.bin with the result's bytes.
  void record(const std::string& name, const std::string& op, DType dtype, int64_t n,
              const std::string& args, const Tensor& result) {
    const Tensor host = result.cpu().contiguous();
    std::ofstream bin(dir_ / (name + ".bin"), std::ios::binary);
    bin.write(static_cast<const char*>(bytes_of(host)),
              static_cast<std::streamsize>(host.numel() * static_cast<int64_t>(itemsize(dtype))));
    manifest_ << name << " " << op << " " << kiln::name(dtype) << " " << n << " " << args << "\n";
    ++count_;
  }

  int count() const { return count_; }

 private:
  std::filesystem::path dir_;
  std::ofstream manifest_;
  int count_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: kiln-gpu-random-check OUTDIR\n";
    return 2;
  }
  if (!cuda_is_available()) {
    std::cerr << "kiln-gpu-random-check: no CUDA device\n";
    return 1;
  }
  try {
    Program p(argv[1]);
    const Options on_gpu{.device = cuda};
    auto opts = [](DType d) { return Options{.dtype = d, .device = cuda}; };
    // One seed, many calls: the offsets must advance as PyTorch's do.
    p.seed(0);
    for (int64_t n : {1000, 3'000'000})
      p.record("rand_f32_" + std::to_string(n), "rand", float32, n, "", rand({n}, on_gpu));
    for (int64_t n : {1000, 3'000'001})
      p.record("randn_f32_" + std::to_string(n), "randn", float32, n, "", randn({n}, on_gpu));
    for (DType d : {float64, float16, bfloat16}) {
      const std::string s(kiln::name(d));
      p.record("rand_" + s, "rand", d, 1001, "", rand({1001}, opts(d)));
      p.record("randn_" + s, "randn", d, 4097, "", randn({4097}, opts(d)));
    }
    struct Int {
      const char* name;
      DType dtype;
      int64_t low, high;
    };
    const Int ints[] = {{"randint_i64_small", int64, 0, 10},
                        {"randint_i64_wide", int64, -(int64_t{1} << 40), int64_t{1} << 40},
                        {"randint_i32_wide", int32, 0, 1 << 30},
                        {"randint_u8", uint8, 0, 256},
                        {"randint_f32", float32, -100, 100},
                        {"randint_f16", float16, 0, 2048},
                        {"randint_bool", boolean, 0, 2}};
    for (const Int& c : ints)
      p.record(c.name, "randint", c.dtype, 5000,
               std::to_string(c.low) + " " + std::to_string(c.high),
               randint(c.low, c.high, {5000}, opts(c.dtype)));
    {
      Tensor w = empty({1000}, on_gpu);
      p.record("uniform_f32", "uniform", float32, 1000, "-0.5 0.5",
               nn::init::uniform_(w, -0.5, 0.5));
    }
    for (DType d : {float32, float64, bfloat16}) {
      Tensor w = empty({1000}, opts(d));
      p.record("normal_" + std::string(kiln::name(d)), "normal", d, 1000, "2 0.5",
               nn::init::normal_(w, 2, 0.5));
    }
    {
      Tensor w = empty({64, 100}, on_gpu);
      p.record("kaiming_uniform", "kaiming_uniform", float32, 6400, "64 100 " + num(std::sqrt(5.0)),
               nn::init::kaiming_uniform_(w, std::sqrt(5.0)));
    }
    {
      Tensor w = empty({50, 30}, on_gpu);
      p.record("xavier_normal", "xavier_normal", float32, 1500, "50 30",
               nn::init::xavier_normal_(w));
    }
    p.record("dropout_mask", "bernoulli_dropout", float32, 100000, "0.25",
             nn::functional::dropout(ones({100000}, on_gpu), 0.25, true));
    p.record("rand_after_dropout", "rand", float32, 1000, "", rand({1000}, on_gpu));
    // manual_seed restarts the stream.
    p.seed(123);
    p.record("rand_seed123", "rand", float32, 1000, "", rand({1000}, on_gpu));
    p.record("randn_like_f16", "randn", float16, 300, "", randn_like(zeros({300}, opts(float16))));
    std::cout << "kiln-gpu-random-check: " << p.count() << " tensors written to " << argv[1]
              << "\n";
  } catch (const std::exception& e) {
    std::cerr << "kiln-gpu-random-check: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
