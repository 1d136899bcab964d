// Aliasing exactly like PyTorch: writes through views reach the base and every other view,
// both while the storage is pending (lazy) and after it has been realized. Expected values come
// from torch 1.13 with base = torch.arange(12.).reshape(3, 4) (the expression is in each test).
#include <sstream>

#include "frontend_test_util.h"
#include "kiln/frontend/tensor_impl.h"

namespace kiln {
namespace {

using testing::values;
using V = std::vector<double>;

bool is_pending(const Tensor& t) { return !frontend::impl_of(t).storage->value->realized(); }

// kIntermediateOfItem reads only a value computed from the tensor (its sum): realization may
// leave a cheap tensor pending then (frontend/realize.h, realize_reading), or store it.
enum class Mode { kLazy, kRealizedByPrint, kRealizedByEval, kIntermediateOfItem };

std::string mode_name(const ::testing::TestParamInfo<Mode>& info) {
  switch (info.param) {
    case Mode::kLazy:
      return "Lazy";
    case Mode::kRealizedByPrint:
      return "RealizedByPrint";
    case Mode::kRealizedByEval:
      return "RealizedByEval";
    case Mode::kIntermediateOfItem:
      return "IntermediateOfItem";
  }
  return "?";
}

class Aliasing : public ::testing::TestWithParam<Mode> {
 protected:
  // A pending float32 [3, 4] base holding 0..11 (the cast keeps it lazy), settled per mode.
  Tensor base() const {
    Tensor b = arange(12).to(float32).reshape({3, 4});
    EXPECT_TRUE(is_pending(b));
    settle(b);
    return b;
  }
  void settle(const Tensor& t) const {
    if (GetParam() == Mode::kRealizedByPrint) {
      std::ostringstream os;
      os << t;
    } else if (GetParam() == Mode::kRealizedByEval) {
      eval(t);
    } else if (GetParam() == Mode::kIntermediateOfItem) {
      (void)t.sum().item<double>();
    }
    if (GetParam() == Mode::kRealizedByPrint || GetParam() == Mode::kRealizedByEval) {
      EXPECT_FALSE(is_pending(t));
    }
  }
};

TEST_P(Aliasing, SliceWithStepWritesReachBase) {
  // b[:, ::2].mul_(10)
  Tensor b = base();
  Tensor v = b.index({Slice(), Slice(None, None, 2)});
  v.mul_(10);
  EXPECT_EQ(values(b), (V{0, 1, 20, 3, 40, 5, 60, 7, 80, 9, 100, 11}));
  EXPECT_EQ(values(v), (V{0, 20, 40, 60, 80, 100}));
}

TEST_P(Aliasing, TransposeWritesReachBase) {
  // b.t()[1].fill_(7)
  Tensor b = base();
  b.t()[1].fill_(7);
  EXPECT_EQ(values(b), (V{0, 7, 2, 3, 4, 7, 6, 7, 8, 7, 10, 11}));
}

TEST_P(Aliasing, SelectWritesReachBase) {
  // b[2].zero_()
  Tensor b = base();
  b[2].zero_();
  EXPECT_EQ(values(b), (V{0, 1, 2, 3, 4, 5, 6, 7, 0, 0, 0, 0}));
}

TEST_P(Aliasing, NarrowWritesReachBase) {
  // b.narrow(1, 1, 2).add_(100)
  Tensor b = base();
  b.narrow(1, 1, 2).add_(100);
  EXPECT_EQ(values(b), (V{0, 101, 102, 3, 4, 105, 106, 7, 8, 109, 110, 11}));
}

TEST_P(Aliasing, ViewWritesReachBase) {
  // b.view(12)[0::5] = -1
  Tensor b = base();
  b.view({12}).index_put_({Slice(0, None, 5)}, -1);
  EXPECT_EQ(values(b), (V{-1, 1, 2, 3, 4, -1, 6, 7, 8, 9, -1, 11}));
}

TEST_P(Aliasing, ReshapeOfContiguousIsAViewThatWritesReachBase) {
  // b.reshape(2, 6)[1].fill_(5)
  Tensor b = base();
  b.reshape({2, 6})[1].fill_(5);
  EXPECT_EQ(values(b), (V{0, 1, 2, 3, 4, 5, 5, 5, 5, 5, 5, 5}));
}

TEST_P(Aliasing, FlattenOfContiguousIsAView) {
  // f = b.flatten(); f[3] = 99
  Tensor b = base();
  b.flatten().index_put_({3}, 99);
  EXPECT_EQ(values(b), (V{0, 1, 2, 99, 4, 5, 6, 7, 8, 9, 10, 11}));
}

TEST_P(Aliasing, UnsqueezeAndSqueezeWritesReachBase) {
  // b.unsqueeze(0)[0, 1].mul_(-1)
  Tensor b = base();
  b.unsqueeze(0).index({0, 1}).mul_(-1);
  EXPECT_EQ(values(b), (V{0, 1, 2, 3, -4, -5, -6, -7, 8, 9, 10, 11}));
  // sq = torch.arange(3.).reshape(3, 1); sq.squeeze(1)[1] = 10
  Tensor sq = arange(3).to(float32).reshape({3, 1});
  settle(sq);
  sq.squeeze(1).index_put_({1}, 10);
  EXPECT_EQ(values(sq), (V{0, 10, 2}));
}

TEST_P(Aliasing, SliceOfSliceAndPermuteWithStep) {
  // b[1:, 1:][1, ::2].add_(1000)
  Tensor b = base();
  b.index({Slice(1, None), Slice(1, None)}).index({1, Slice(None, None, 2)}).add_(1000);
  EXPECT_EQ(values(b), (V{0, 1, 2, 3, 4, 5, 6, 7, 8, 1009, 10, 1011}));
  // b.permute(1, 0)[::3].neg_()
  Tensor c = base();
  c.permute({1, 0}).index({Slice(None, None, 3)}).neg_();
  EXPECT_EQ(values(c), (V{-0.0, 1, 2, -3, -4, 5, 6, -7, -8, 9, 10, -11}));
}

TEST_P(Aliasing, OtherViewsCreatedEarlierSeeTheWrite) {
  // row = b[0]; col = b[:, 1]; row.fill_(-5); col -> [-5, 5, 9]
  Tensor b = base();
  Tensor row = b[0];
  Tensor col = b.index({Slice(), 1});
  Tensor t = b.t();
  row.fill_(-5);
  EXPECT_EQ(values(col), (V{-5, 5, 9}));
  EXPECT_EQ(values(t[0]), (V{-5, 4, 8}));
  // A second write after the first has been read.
  col.add_(1);
  EXPECT_EQ(values(row), (V{-5, -4, -5, -5}));
  EXPECT_EQ(values(b[2]), (V{8, 10, 10, 11}));
}

TEST_P(Aliasing, ExpandedViewReadsTheBaseButCannotBeWritten) {
  // e = b[0].unsqueeze(0).expand(3, 4); b[0, 0] = 42
  Tensor b = base();
  Tensor e = b[0].unsqueeze(0).expand({3, 4});
  b.index_put_({0, 0}, 42);
  EXPECT_EQ(values(e), (V{42, 1, 2, 3, 42, 1, 2, 3, 42, 1, 2, 3}));
  const char* overlap =
      "unsupported operation: more than one element of the written-to tensor "
      "refers to a single memory location";
  EXPECT_KILN_ERROR(e.add_(1), overlap);
  EXPECT_KILN_ERROR(e.neg_(), overlap);
  EXPECT_KILN_ERROR(e.copy_(ones({3, 4})), overlap);
  EXPECT_EQ(values(b[0]), (V{42, 1, 2, 3}));
  // torch allows fill_ and zero_ on expanded views: z = torch.zeros(1).expand(3); z.fill_(1)
  Tensor z = zeros({1});
  settle(z);
  Tensor ze = z.expand({3});
  ze.fill_(1);
  EXPECT_EQ(values(ze), (V{1, 1, 1}));
  EXPECT_EQ(values(z), (V{1}));
}

TEST_P(Aliasing, ValuesComputedBeforeAWriteKeepTheOldContents) {
  // s = b.sum(); y = b * 2; b.add_(1) -> s = 66, y = 2 * old b
  Tensor b = base();
  Tensor s = b.sum();
  Tensor y = b * 2;
  Tensor r = b.reshape({12});  // a view: follows the write
  b.add_(1);
  EXPECT_EQ(s.item<double>(), 66.0);
  EXPECT_EQ(values(y), (V{0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22}));
  EXPECT_EQ(values(r), (V{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}));
}

TEST_P(Aliasing, IndexPutThroughEllipsisAndNone) {
  // b[..., 1] = torch.tensor([1., 2., 3.])
  Tensor b = base();
  b.index_put_({Ellipsis, 1}, tensor({1.0f, 2.0f, 3.0f}));
  EXPECT_EQ(values(b), (V{0, 1, 2, 3, 4, 2, 6, 7, 8, 3, 10, 11}));
  // b[None, 1, 2:] = 0
  Tensor c = base();
  c.index_put_({None, 1, Slice(2, None)}, 0);
  EXPECT_EQ(values(c), (V{0, 1, 2, 3, 4, 5, 0, 0, 8, 9, 10, 11}));
}

TEST_P(Aliasing, InplaceReadingTheSameStorage) {
  // a = torch.arange(6.); a[:3] += a[3:] -> [3, 5, 7, 3, 4, 5] (disjoint halves)
  Tensor a = arange(6).to(float32);
  settle(a);
  a.index({Slice(None, 3)}).add_(a.index({Slice(3, None)}));
  EXPECT_EQ(values(a), (V{3, 5, 7, 3, 4, 5}));
  // a += a (full overlap is allowed) -> doubles
  Tensor f = arange(6).to(float32);
  settle(f);
  f += f;
  EXPECT_EQ(values(f), (V{0, 2, 4, 6, 8, 10}));
  // a.mul_(a) through two handles of the same view
  Tensor m = arange(6).to(float32);
  settle(m);
  m.mul_(m.view({6}));
  EXPECT_EQ(values(m), (V{0, 1, 4, 9, 16, 25}));
  // a[1:] += a[:-1].clone() -> [0, 1, 3, 5, 7, 9]
  Tensor c = arange(6).to(float32);
  settle(c);
  c.index({Slice(1, None)}) += c.index({Slice(None, -1)}).clone();
  EXPECT_EQ(values(c), (V{0, 1, 3, 5, 7, 9}));
  // a[[1, 2]] = a[[0, 1]] (advanced indexing reads a copy) -> [0, 0, 1, 3, 4, 5]
  Tensor g = arange(6).to(float32);
  settle(g);
  g.index_put_({tensor({1, 2})}, g.index({tensor({0, 1})}));
  EXPECT_EQ(values(g), (V{0, 0, 1, 3, 4, 5}));
  // a[::2] += a[1::2] (strided views are not checked by torch; they are disjoint) -> [1, 1, 5, 3,
  // 9, 5]
  Tensor s = arange(6).to(float32);
  settle(s);
  s.index({Slice(None, None, 2)}).add_(s.index({Slice(1, None, 2)}));
  EXPECT_EQ(values(s), (V{1, 1, 5, 3, 9, 5}));
  // b[0] += b[2]; b[2] *= b[0]
  Tensor b = base();
  b[0] += b[2];
  b[2] *= b[0];
  EXPECT_EQ(values(b), (V{8, 10, 12, 14, 4, 5, 6, 7, 64, 90, 120, 154}));
  // a[:, 0] = a[:, 1] on [[0, 1, 2], [3, 4, 5]] -> [[1, 1, 2], [4, 4, 5]]
  Tensor h = arange(6).to(float32).reshape({2, 3});
  settle(h);
  h.index_put_({Slice(), 0}, h.index({Slice(), 1}));
  EXPECT_EQ(values(h), (V{1, 1, 2, 4, 4, 5}));
}

TEST_P(Aliasing, PartialOverlapOfInputAndOutputThrowsLikeTorch) {
  const char* overlap =
      "unsupported operation: some elements of the input tensor and the "
      "written-to tensor refer to a single memory location. Please clone() the "
      "tensor before performing the operation.";
  Tensor a = arange(5).to(float32);
  settle(a);
  // a[1:] += a[:-1]
  EXPECT_KILN_ERROR(a.index({Slice(1, None)}) += a.index({Slice(None, -1)}), overlap);
  // a[1:] = a[:-1]
  EXPECT_KILN_ERROR(a.index_put_({Slice(1, None)}, a.index({Slice(None, -1)})), overlap);
  Tensor m = arange(4).to(float32).reshape({2, 2});
  settle(m);
  // a.mul_(a[0]): shares the start but not the end
  EXPECT_KILN_ERROR(m.mul_(m[0]), overlap);
  // a.t().add_(a): same bytes, different strides
  EXPECT_KILN_ERROR(m.t().add_(m), overlap);
  EXPECT_KILN_ERROR(m.add_(m.t()), overlap);
  // a[mask] = a[4:6] (index_put_ refuses any overlap with its values)
  Tensor p = arange(6).to(float32);
  settle(p);
  EXPECT_KILN_ERROR(
      p.index_put_({tensor({true, false, true, false, false, false})}, p.index({Slice(4, 6)})),
      overlap);
  // Nothing was written by the refused ops.
  EXPECT_EQ(values(a), (V{0, 1, 2, 3, 4}));
  EXPECT_EQ(values(m), (V{0, 1, 2, 3}));
  EXPECT_EQ(values(p), (V{0, 1, 2, 3, 4, 5}));
}

TEST_P(Aliasing, HandleCopiesShareAndAssignmentRebinds) {
  Tensor b = base();
  Tensor same = b;
  same.add_(1);
  EXPECT_EQ(b[0].tolist<double>(), (V{1, 2, 3, 4}));
  same = zeros({3, 4});  // rebinds `same`, never writes into b
  EXPECT_EQ(b[0].tolist<double>(), (V{1, 2, 3, 4}));
  EXPECT_EQ(values(same), V(12, 0.0));
}

TEST_P(Aliasing, CloneDoesNotAlias) {
  Tensor b = base();
  Tensor c = b.clone();
  c.add_(1);
  EXPECT_EQ(values(b[0]), (V{0, 1, 2, 3}));
  b.mul_(2);
  EXPECT_EQ(values(c[0]), (V{1, 2, 3, 4}));
  EXPECT_NE(b.data_ptr<float>(), c.data_ptr<float>());
  // A clone of a non-contiguous view is contiguous.
  Tensor ct = b.t().clone();
  EXPECT_TRUE(ct.is_contiguous());
  EXPECT_EQ(values(ct[0]), (V{0, 8, 16}));
}

TEST_P(Aliasing, ReshapeOfNonContiguousCopiesAndViewThrows) {
  Tensor b = base();
  Tensor t = b.t();
  Tensor r = t.reshape({12});
  r.fill_(0);
  EXPECT_EQ(values(b[0]), (V{0, 1, 2, 3}));
  EXPECT_KILN_ERROR(t.view({12}),
                    "view size is not compatible with input tensor's size and stride");
  EXPECT_KILN_ERROR(t.view({12}), "Use .reshape(...) instead.");
  // A reshape that only regroups contiguous dims stays a view even on a transposed tensor.
  Tensor u = t.unsqueeze(1);
  EXPECT_EQ(u.data_ptr<float>(), b.data_ptr<float>());
  // Reshape of a contiguous tensor shares the storage.
  EXPECT_EQ(b.reshape({2, 6}).data_ptr<float>(), b.data_ptr<float>());
}

TEST_P(Aliasing, ToSameDtypeAndContiguousReturnTheSameStorage) {
  Tensor b = base();
  EXPECT_EQ(b.to(float32).data_ptr<float>(), b.data_ptr<float>());
  EXPECT_EQ(b.contiguous().data_ptr<float>(), b.data_ptr<float>());
  Tensor t = b.t();
  Tensor tc = t.contiguous();
  EXPECT_TRUE(tc.is_contiguous());
  EXPECT_NE(tc.data_ptr<float>(), b.data_ptr<float>());
  Tensor d = b.to(float64);
  d.add_(1);
  EXPECT_EQ(values(b[0]), (V{0, 1, 2, 3}));
}

INSTANTIATE_TEST_SUITE_P(Modes, Aliasing,
                         ::testing::Values(Mode::kLazy, Mode::kRealizedByPrint,
                                           Mode::kRealizedByEval, Mode::kIntermediateOfItem),
                         mode_name);

// ---- caller memory and host copies ----

TEST(FromBlob, CallerWritesAreSeenByLaterReads) {
  std::vector<float> data{1, 2, 3, 4, 5, 6};
  Tensor t = from_blob(data.data(), {2, 3}, float32);
  EXPECT_EQ(t.data_ptr<float>(), data.data());
  data[4] = 50;
  EXPECT_EQ(t.index({1, 1}).item<float>(), 50.0f);
  data[0] = -1;
  EXPECT_EQ(values(t.sum(1)), (V{4, 60}));
}

TEST(FromBlob, KilnWritesLandInTheCallerMemory) {
  std::vector<float> data{1, 2, 3, 4, 5, 6};
  Tensor t = from_blob(data.data(), {2, 3}, float32);
  t.add_(1);
  EXPECT_EQ(data, (std::vector<float>{2, 3, 4, 5, 6, 7}));
  t.index_put_({1, Slice(None, None, 2)}, 0);
  EXPECT_EQ(data, (std::vector<float>{2, 3, 4, 0, 6, 0}));
  t.t()[2].mul_(10);  // column 2
  EXPECT_EQ(data, (std::vector<float>{2, 3, 40, 0, 6, 0}));
  Tensor pending = t * 2;  // recorded before the next write
  t.fill_(7);
  EXPECT_EQ(data, std::vector<float>(6, 7.0f));
  EXPECT_EQ(values(pending), (V{4, 6, 80, 0, 12, 0}));
  t.index_put_({tensor({0, 1}), tensor({2, 0})}, tensor({8.0f, 9.0f}));
  EXPECT_EQ(data, (std::vector<float>{7, 7, 8, 9, 7, 7}));
  t.copy_(tensor({1, 2, 3}));  // broadcast and cast from int64
  EXPECT_EQ(data, (std::vector<float>{1, 2, 3, 1, 2, 3}));
}

TEST(FromBlob, StridedAndIntegerMemory) {
  std::vector<int64_t> data{0, 1, 2, 3, 4, 5, 6, 7};
  // Every other element as a [2, 2] matrix: strides {4, 2}.
  Tensor t = from_blob(data.data(), {2, 2}, {4, 2}, int64);
  EXPECT_EQ(t.tolist<int64_t>(), (std::vector<int64_t>{0, 2, 4, 6}));
  t.mul_(-1);
  EXPECT_EQ(data, (std::vector<int64_t>{0, 1, -2, 3, -4, 5, -6, 7}));
  EXPECT_EQ(t.dtype(), int64);
  EXPECT_FALSE(t.is_contiguous());
}

TEST(HostVector, TensorFromVectorCopies) {
  std::vector<int32_t> data{1, 2, 3};
  Tensor t = tensor(data);
  EXPECT_EQ(t.dtype(), int32);
  data[0] = 100;
  EXPECT_EQ(t.tolist<int32_t>(), (std::vector<int32_t>{1, 2, 3}));
  t.add_(1);
  EXPECT_EQ(data, (std::vector<int32_t>{100, 2, 3}));
  EXPECT_NE(t.data_ptr<int32_t>(), data.data());
}

}  // namespace
}  // namespace kiln
