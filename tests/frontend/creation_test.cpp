// Creation functions, dtype conversion and the random generator against PyTorch: every
// "create.", "random." and "to." row of op_cases.inc (make_op_cases.py holds the torch
// expression of each name), plus creation in every dtype.
#include "op_cases.h"

namespace kiln {
namespace {

using namespace kiln::testing;  // NOLINT: the inputs in_x() ...

// Runs fn right after manual_seed(seed), as the generator's torch expressions do.
template <class Fn>
std::function<Tensor()> seeded(uint64_t seed, Fn fn) {
  return [seed, fn] {
    manual_seed(seed);
    return fn();
  };
}

CaseTable creation_cases() {
  return {
      {"create.scalar_int", [] { return tensor(3); }},
      {"create.scalar_float", [] { return tensor(2.5); }},
      {"create.scalar_bool", [] { return tensor(true); }},
      {"create.scalar_with_dtype", [] { return tensor(2.7, int32); }},
      {"create.list_float",
       [] {
         return tensor({1.5f, 2.0f});
       }},
      {"create.nested_3d",
       [] {
         return tensor({{{1, 2}}, {{3, 4}}});
       }},
      {"create.nested_4d",
       [] {
         return tensor({{{{true}}, {{false}}}});
       }},
      {"create.list_with_dtype",
       [] {
         return tensor({{1, 2}, {3, 4}}, float16);
       }},
      {"create.list_float_to_int",
       [] {
         return tensor({1.9, -1.9}, int64);
       }},
      {"create.empty_list", [] { return tensor(std::initializer_list<double>{}); }},
      {"create.zeros",
       [] {
         return zeros({2, 3});
       }},
      {"create.zeros_int8", [] { return zeros({2}, int8); }},
      {"create.ones_bool",
       [] {
         return ones({2, 2}, boolean);
       }},
      {"create.ones_0d", [] { return ones({}); }},
      {"create.ones_empty",
       [] {
         return ones({0, 3});
       }},
      {"create.full_int", [] { return full({2}, 7); }},
      {"create.full_float",
       [] {
         return full({2, 2}, 1.5);
       }},
      {"create.full_bool", [] { return full({3}, true); }},
      {"create.full_dtype", [] { return full({2}, 2.9, uint8); }},
      {"create.zeros_like", [] { return zeros_like(in_xi()); }},
      {"create.ones_like_dtype", [] { return ones_like(in_xi(), float64); }},
      {"create.full_like", [] { return full_like(in_x(), 2.5); }},
      {"create.full_like_int_truncates", [] { return full_like(in_xi(), 2.5); }},
      {"create.empty_like_shape", [] { return zeros_like(empty_like(in_x3())); }},
      {"create.eye", [] { return eye(3); }},
      {"create.eye_int", [] { return eye(2, int64); }},
      {"create.arange", [] { return arange(5); }},
      {"create.arange_dtype", [] { return arange(5, int32); }},
      {"create.arange_float_end", [] { return arange(5.0); }},
      {"create.arange_start_end", [] { return arange(2, 6); }},
      {"create.arange_float_step", [] { return arange(1, 2.5, 0.5); }},
      {"create.arange_tenths", [] { return arange(0, 1, 0.1); }},
      {"create.arange_negative_step", [] { return arange(0, -3, -1); }},
      {"create.arange_negative_float_step", [] { return arange(1.0, -1.0, -0.5); }},
      {"create.arange_int_step_not_dividing", [] { return arange(10, 0, -3); }},
      {"create.arange_empty", [] { return arange(5, 5); }},
      {"create.arange_half_offsets", [] { return arange(-1.5, 1.5); }},
      {"create.arange_float64", [] { return arange(0, 10, 3, float64); }},
      {"create.arange_float_to_int_dtype", [] { return arange(0.5, 4, 1.5, int64); }},
      {"create.linspace", [] { return linspace(0, 1, 5); }},
      {"create.linspace_sevenths", [] { return linspace(0, 1, 7); }},
      {"create.linspace_one", [] { return linspace(-1, 1, 1); }},
      {"create.linspace_empty", [] { return linspace(0, 1, 0); }},
      {"create.linspace_descending", [] { return linspace(1, 0, 3); }},
      {"create.linspace_int", [] { return linspace(0, 10, 4, int64); }},
      {"create.linspace_float64", [] { return linspace(-2, 3, 6, float64); }},
      {"create.linspace_float16", [] { return linspace(0, 1, 5, float16); }},
      {"create.float16_round_trip",
       [] {
         return tensor({0.1, 1.0 / 3, 65504.0, 1e-8, 70000.0, 2049.0}).to(float16).to(float32);
       }},
      {"create.bfloat16_round_trip",
       [] {
         return tensor({0.1, 1.0 / 3, 65504.0, 1e-8, 70000.0, 257.0}).to(bfloat16).to(float32);
       }},
      {"create.float64_to_float16",
       [] {
         return tensor({0.1, 1e5, -1e-9}, float64).to(float16);
       }},
      {"random.rand", seeded(0, [] { return rand({5}); })},
      {"random.rand_float64", seeded(1,
                                     [] {
                                       return rand({2, 2}, float64);
                                     })},
      {"random.rand_float16", seeded(2, [] { return rand({4}, float16); })},
      {"random.rand_bfloat16", seeded(2, [] { return rand({4}, bfloat16); })},
      {"random.randn_small", seeded(0,
                                    [] {
                                      return randn({2, 3});
                                    })},
      {"random.randn_16", seeded(3, [] { return randn({16}); })},
      {"random.randn_19", seeded(3, [] { return randn({19}); })},
      {"random.randn_float64", seeded(4, [] { return randn({3}, float64); })},
      {"random.randn_float64_big", seeded(4,
                                          [] {
                                            return randn({4, 5}, float64);
                                          })},
      {"random.randn_twice_uses_cache", seeded(5,
                                               [] {
                                                 (void)randn({1});
                                                 return randn({1});
                                               })},
      {"random.randint", seeded(0, [] { return randint(0, 10, {6}); })},
      {"random.randint_high_only", seeded(0,
                                          [] {
                                            return randint(5, {2, 2});
                                          })},
      {"random.randint_negative_low", seeded(7, [] { return randint(-5, 5, {4}, int32); })},
      {"random.randint_uint8", seeded(7, [] { return randint(0, 256, {4}, uint8); })},
      {"random.randint_bool", seeded(3, [] { return randint(0, 2, {8}, boolean); })},
      {"random.randint_float32", seeded(3, [] { return randint(-4, 4, {5}, float32); })},
      {"random.sequence", seeded(42,
                                 [] {
                                   (void)rand({2});
                                   (void)randint(0, 100, {2});
                                   return randn({3});
                                 })},
      {"random.rand_like", seeded(9, [] { return rand_like(in_x3()[0]); })},
  };
}

CaseTable conversion_cases() {
  CaseTable table;
  for (DType from : kAllDTypes) {
    for (DType to : kAllDTypes) {
      const std::string name =
          "to." + std::string(kiln::name(from)) + "." + std::string(kiln::name(to));
      table[name] = [from, to] {
        return tensor({0.0, 1.0, 2.5, -3.75, 100.0, 0.5, 127.0, 255.0}, float64).to(from).to(to);
      };
    }
  }
  return table;
}

TEST(Creation, MatchTorch) { check_op_cases("create.", creation_cases()); }
TEST(Creation, RandomStreamsMatchTorch) { check_op_cases("random.", creation_cases()); }
TEST(Creation, EveryDtypeConversionMatchesTorch) { check_op_cases("to.", conversion_cases()); }

TEST(Creation, EveryDtypeForEveryFilledCreation) {
  for (DType d : kAllDTypes) {
    SCOPED_TRACE(name(d));
    EXPECT_EQ(zeros({2, 3}, d).dtype(), d);
    EXPECT_EQ(values(zeros({2}, d)), (std::vector<double>{0, 0}));
    EXPECT_EQ(values(ones({2}, Options{.dtype = d})), (std::vector<double>{1, 1}));
    EXPECT_EQ(values(full({2}, 1, d)), (std::vector<double>{1, 1}));
    EXPECT_EQ(empty({4, 0}, d).sizes(), (Shape{4, 0}));
    EXPECT_EQ(empty({3}, d).dtype(), d);
    EXPECT_EQ(tensor(1, d).dtype(), d);
    EXPECT_EQ(tensor({1, 0, 1}, d).dtype(), d);
    EXPECT_EQ(values(eye(2, d)), (std::vector<double>{1, 0, 0, 1}));
    EXPECT_EQ(zeros_like(ones({2}, d)).dtype(), d);
    EXPECT_EQ(full_like(ones({2}, d), 1).dtype(), d);
    EXPECT_EQ(empty_like(ones({2}, d)).dtype(), d);
    EXPECT_EQ(ones({2}, d).to(d).dtype(), d);
    if (d != boolean) {
      EXPECT_EQ(values(arange(3, d)), (std::vector<double>{0, 1, 2}));
      EXPECT_EQ(values(linspace(0, 4, 3, d)), (std::vector<double>{0, 2, 4}));
    }
  }
  // Options in field order: dtype, device, requires_grad
  Tensor t = zeros({2, 3}, {.dtype = float64, .device = cpu});
  EXPECT_EQ(t.dtype(), float64);
  EXPECT_EQ(t.device(), cpu);
  EXPECT_EQ(zeros({1}, {}).dtype(), float32);
}

TEST(Creation, VectorsKeepTheirElementType) {
  EXPECT_EQ(tensor(std::vector<float>{1, 2}).dtype(), float32);
  EXPECT_EQ(tensor(std::vector<double>{1, 2}).dtype(), float64);
  EXPECT_EQ(tensor(std::vector<int8_t>{1, 2}).dtype(), int8);
  EXPECT_EQ(tensor(std::vector<int16_t>{1, 2}).dtype(), int16);
  EXPECT_EQ(tensor(std::vector<int32_t>{1, 2}).dtype(), int32);
  EXPECT_EQ(tensor(std::vector<int64_t>{1, 2}).dtype(), int64);
  EXPECT_EQ(tensor(std::vector<uint8_t>{1, 2}).dtype(), uint8);
  EXPECT_EQ(tensor(std::vector<bool>{true, false}).dtype(), boolean);
  EXPECT_EQ(values(tensor(std::vector<bool>{true, false})), (std::vector<double>{1, 0}));
  EXPECT_EQ(values(tensor(std::vector<double>{1.25, -2.5})), (std::vector<double>{1.25, -2.5}));
  // With a dtype, the values are converted: torch.tensor(np.array([1.7, -1.7]), dtype=torch.int32)
  Tensor c = tensor(std::vector<double>{1.7, -1.7}, int32);
  EXPECT_EQ(c.dtype(), int32);
  EXPECT_EQ(c.tolist<int32_t>(), (std::vector<int32_t>{1, -1}));
  EXPECT_EQ(tensor(std::vector<float>{}).sizes(), (Shape{0}));
}

TEST(Creation, FromBlobInEveryDtypeWrapsTheBytes) {
  alignas(8) unsigned char bytes[64] = {};
  for (DType d : kAllDTypes) {
    SCOPED_TRACE(name(d));
    std::fill(std::begin(bytes), std::end(bytes), 0);
    Tensor t = from_blob(bytes, {2, 2}, d);
    EXPECT_EQ(t.dtype(), d);
    EXPECT_EQ(t.sizes(), (Shape{2, 2}));
    t.fill_(1);
    EXPECT_EQ(values(t), (std::vector<double>(4, 1.0)));
    // The bytes changed in place: the first element reads back as 1 from the raw memory.
    EXPECT_EQ(values(from_blob(bytes, {1}, d)), (std::vector<double>{1.0}));
  }
}

TEST(Creation, HalfPrecisionValuesThroughHostTypes) {
  Tensor h = tensor({0.1, 2.5}, float16);
  EXPECT_EQ(static_cast<float>(h[1].item<Half>()), 2.5f);
  EXPECT_FLOAT_EQ(h[0].item<float>(), 0.0999755859375f);
  Tensor b = tensor({0.1, 2.5}, bfloat16);
  EXPECT_FLOAT_EQ(b[0].item<float>(), 0.10009765625f);
  EXPECT_EQ(b.tolist<BFloat16>().size(), 2u);
  EXPECT_EQ(h.data_ptr<Half>(), h.data_ptr<Half>());
  EXPECT_KILN_ERROR(h.data_ptr<BFloat16>(), "expected scalar type BFloat16 but found Half");
  // float16 arithmetic rounds to float16: torch.tensor([2048.], dtype=torch.float16) + 1 -> 2048
  EXPECT_EQ((tensor({2048.0}, float16) + 1).item<float>(), 2048.0f);
}

TEST(Creation, ItemAndTolistConvert) {
  EXPECT_EQ(tensor(2.75).item<int64_t>(), 2);
  EXPECT_EQ(tensor(-2.75).item<int32_t>(), -2);
  EXPECT_TRUE(tensor(0.5).item<bool>());
  EXPECT_EQ(tensor(true).item<double>(), 1.0);
  EXPECT_EQ(tensor(300).item<int64_t>(), 300);
  EXPECT_EQ(tensor({{1, 2}, {3, 4}}).t().tolist<int>(), (std::vector<int>{1, 3, 2, 4}));
  EXPECT_EQ(tensor({{7}}).item<int>(), 7);  // any shape with one element
}

TEST(Creation, SeedsAreReproducibleAndReported) {
  manual_seed(123);
  EXPECT_EQ(initial_seed(), 123u);
  Tensor a = randn({5});
  Tensor r = rand({3});
  manual_seed(123);
  EXPECT_TRUE(equal(randn({5}), a));
  EXPECT_TRUE(equal(rand({3}), r));
  // torch uses seed & 0xffffffff for mt19937 but reports the full seed
  manual_seed((uint64_t{1} << 32) + 123);
  EXPECT_EQ(initial_seed(), (uint64_t{1} << 32) + 123);
  EXPECT_TRUE(equal(randn({5}), a));
  // Values are drawn at the call, in program order, even when never read.
  manual_seed(0);
  (void)rand({5});
  Tensor second = rand({5});
  manual_seed(0);
  Tensor both = rand({10});
  EXPECT_TRUE(equal(second, both.index({Slice(5, None)})));
  // torch.manual_seed(0); torch.rand(5) starts 0.4963, 0.7682
  manual_seed(0);
  EXPECT_FLOAT_EQ(rand({5})[1].item<float>(), 0.7682217955589294f);
}

TEST(Creation, RandomRanges) {
  manual_seed(11);
  Tensor u = rand({1000});
  EXPECT_TRUE((u >= 0).all().item<bool>());
  EXPECT_TRUE((u < 1).all().item<bool>());
  Tensor i = randint(-3, 4, {1000});
  EXPECT_EQ(i.min().item<int64_t>(), -3);
  EXPECT_EQ(i.max().item<int64_t>(), 3);
  EXPECT_EQ(randint(10, {2}, int16).dtype(), int16);
  EXPECT_EQ(randn({2}, float64).dtype(), float64);
  EXPECT_EQ(randn_like(ones({2}, float16)).dtype(), float16);
  // torch.randint(0, 300, (3,), dtype=torch.uint8) / torch.randint(0, 3, (3,), dtype=torch.bool)
  EXPECT_KILN_ERROR(randint(0, 300, {3}, uint8), "to - 1 is out of bounds for unsigned char");
  EXPECT_KILN_ERROR(randint(-1, 5, {3}, uint8), "from is out of bounds for unsigned char");
  EXPECT_KILN_ERROR(randint(0, 3, {3}, boolean), "to - 1 is out of bounds for bool");
  EXPECT_KILN_ERROR(randint(1, 1, {3}, boolean), "random_ expects 'from' to be less than 'to'");
}

}  // namespace
}  // namespace kiln
