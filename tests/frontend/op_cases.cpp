// The runner of op_cases.h.
#include "op_cases.h"

#include <set>

namespace kiln::testing {
namespace {

// About one unit in the last place of the dtype (kernels may round differently from torch's).
double relative_tolerance(DType d) {
  if (d == float16) return 1e-3;
  if (d == bfloat16) return 8e-3;
  if (d == float64) return 1e-12;
  return 2e-6;
}

// The expression compiled (traced, then replayed) gives the eager result bit for bit, or is
// refused because it reads values on the host (boolean masks, item()).
void check_compiled_equals_eager(const std::function<Tensor()>& expression, const Tensor& eager) {
  auto compiled = compile([&] { return expression(); });
  for (const char* call : {"traced call", "replay"}) {
    SCOPED_TRACE(call);
    Tensor got;
    try {
      got = compiled();
    } catch (const Error& e) {
      EXPECT_THAT(e.what(),
                  ::testing::HasSubstr("compile: the traced function needs a tensor's value"));
      return;
    }
    EXPECT_EQ(got.dtype(), eager.dtype());
    EXPECT_EQ(shape_of(got), shape_of(eager));
    EXPECT_TRUE(same_values(values(got), values(eager)))
        << ::testing::PrintToString(values(got)) << " vs eager "
        << ::testing::PrintToString(values(eager));
  }
  EXPECT_EQ(compiled.stats().replays, 1);
}

// Cases the fixture (made by PyTorch on the CPU) computes but PyTorch refuses on CUDA, with
// PyTorch's CUDA message: cuBLAS has no integer GEMM, and ATen's CUDA addmm dispatches floating
// types only (pytorch/pytorch#44428).
const char* cuda_refusal(const std::string& name) {
  if (name == "shape.matmul_int") return "\"addmm_cuda\" not implemented for 'Long'";
  return nullptr;
}

}  // namespace

void check_op_cases(const std::string& prefix, const CaseTable& table) {
  std::set<std::string> seen;
  for (const OpCase& c : op_cases()) {
    const std::string name = c.name;
    if (name.rfind(prefix, 0) != 0) continue;
    seen.insert(name);
    SCOPED_TRACE(name);
    auto it = table.find(name);
    if (it == table.end()) {
      ADD_FAILURE() << "no kiln expression for fixture case " << name;
      continue;
    }
    if (std::string(c.dtype) == "error") {
      EXPECT_THAT(error_of([&] { (void)it->second(); }), ::testing::HasSubstr(""))
          << "torch refuses this with: " << c.torch_error;
      continue;
    }
    if (const char* refusal = cuda_refusal(name); refusal && get_default_device().is_cuda()) {
      EXPECT_THAT(error_of([&] { (void)it->second(); }), ::testing::HasSubstr(refusal));
      continue;
    }
    Tensor out;
    try {
      out = it->second();
    } catch (const std::exception& e) {
      ADD_FAILURE() << "threw: " << e.what();
      continue;
    }
    check_compiled_equals_eager(it->second, out);
    const DType want = *dtype_from_name(c.dtype);
    EXPECT_EQ(out.dtype(), want);
    EXPECT_EQ(shape_of(out), c.shape);
    const std::vector<double> got = values(out);
    if (is_floating_point(want)) {
      EXPECT_TRUE(close_values(got, c.values, relative_tolerance(want), 1e-6))
          << ::testing::PrintToString(got) << " vs torch " << ::testing::PrintToString(c.values);
    } else {
      EXPECT_EQ(got, c.values);
    }
  }
  for (const auto& [name, fn] : table) {
    if (name.rfind(prefix, 0) != 0) continue;
    EXPECT_TRUE(seen.count(name)) << "no fixture row for " << name << " (rerun make_op_cases.py)";
  }
}

}  // namespace kiln::testing
