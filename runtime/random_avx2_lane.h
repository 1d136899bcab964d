// One SIMD lane of PyTorch's AVX2 float normal kernel, replayed in scalar code.
//
// PyTorch on x86 with AVX2 (its default CPU capability) turns float blocks of 16 into normals with
// avx_mathfun.h's Cephes-style log256_ps and sincos256_ps, not with libm. The functions below
// replay one SIMD lane of that kernel exactly as Debian's libtorch_cpu 1.13.1 executes it: the same
// constants, operation order and, where GCC contracted a multiply and an add into one instruction,
// the same fused multiply-adds. The coefficients are Cephes's single-precision logf/sinf/cosf ones.
#pragma once

namespace kiln::runtime::avx2_lane {

// normal_fill_16_AVX2 on one lane pair: d[j] -> cosine normal, d[j + 8] -> sine normal, for
// j < 8; d holds 16 uniforms in [0, 1).
void box_muller_block16(float* d, float mean, float std);

}  // namespace kiln::runtime::avx2_lane
