// The table printed after all benchmarks: kiln's best time against the best LibTorch time
// (the faster of 1 and 2 threads) for each workload, the ratio kiln / LibTorch and the goal.
// Rows whose benchmarks were filtered out or failed show "n/a".
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include <kiln/runtime/thread_pool.h>

#include "bench_common.h"

namespace kiln_bench {
namespace {

std::string format_ms(std::optional<double> seconds) {
  if (!seconds) return "n/a";
  char text[32];
  std::snprintf(text, sizeof text, "%.3f ms", *seconds * 1e3);
  return text;
}

std::string format_best(std::optional<BestOf> b) {
  if (!b) return "n/a";
  return format_ms(b->seconds) + " (" + std::to_string(b->threads) + "t)";
}

std::optional<double> ratio_of(std::optional<double> kiln, std::optional<BestOf> base) {
  if (!kiln || !base || base->seconds <= 0) return std::nullopt;
  return *kiln / base->seconds;
}

std::string format_ratio(std::optional<double> r) {
  if (!r) return "n/a";
  char text[32];
  std::snprintf(text, sizeof text, "%.3f", *r);
  return text;
}

// "<= 0.10  ok" or "<= 0.10  MISS"; empty without a goal.
std::string format_goal(std::optional<double> value, std::optional<double> goal,
                        const char* relation = "<=") {
  if (!goal) return "";
  char text[48];
  std::snprintf(text, sizeof text, "%s %-6g %s", relation, *goal,
                !value            ? "n/a"
                : *value <= *goal ? "ok"
                                  : "MISS");
  return text;
}

void row(const std::string& workload, const std::string& kiln_key, const std::string& base_prefix,
         std::optional<double> goal) {
  const std::optional<double> kiln = best(kiln_key);
  const std::optional<BestOf> base = best_of_threads(base_prefix);
  const std::optional<double> r = ratio_of(kiln, base);
  std::printf("%-34s %14s %20s %8s   %s\n", workload.c_str(), format_ms(kiln).c_str(),
              format_best(base).c_str(), format_ratio(r).c_str(), format_goal(r, goal).c_str());
}

void rule() { std::printf("%s\n", std::string(100, '-').c_str()); }

}  // namespace

void print_summary() {
  const char* backend = std::getenv("KILN_BACKEND");
  std::printf("\n");
  rule();
  std::printf("kiln vs LibTorch: best (minimum) time per workload; ratio = kiln / LibTorch\n");
  std::printf("kiln: KILN_BACKEND=%s, %d threads; LibTorch: the faster of 1 and 2 threads (nt)\n",
              backend != nullptr ? backend : "(unset)", kiln::runtime::num_threads());
  std::printf("LibTorch: %s\n", torch_build_summary().c_str());
  rule();
  std::printf("%-34s %14s %20s %8s   %s\n", "workload", "kiln", "LibTorch", "ratio", "goal");
  row("chain+sum 16M f32", "chain_sum.kiln", "chain_sum.torch", 0.10);
  row("chain+sum 16M f32, compiled", "chain_sum.kiln_compiled", "chain_sum.torch", 0.05);
  row("chain, no sum 16M f32", "chain.kiln", "chain.torch", 0.20);
  row("softmax rows 4096x4096 f32", "softmax.kiln", "softmax.torch", std::nullopt);
  row("cross-entropy fwd+bwd 4096x4096", "cross_entropy.kiln", "cross_entropy.torch", std::nullopt);
  row("10k adds 2x3, realized at end", "adds.kiln", "adds.torch", 1.0);
  row("10k adds 2x3, realized each add", "adds_each.kiln", "adds.torch", std::nullopt);
  row("MLP 784-256-10 train step, b128", "mlp_step.kiln", "mlp_step.torch", 0.8);
  row("MLP train step, compiled", "mlp_step.kiln_compiled", "mlp_step.torch", 0.5);
  row("digits train 20 ep (LibTorch C++)", "digits.kiln", "digits.torch", std::nullopt);
  row("polyfit tutorial, 2000 steps", "polyfit.kiln", "polyfit.torch", std::nullopt);

  rule();
  std::printf("%-14s %14s %20s %8s %20s %8s   %s\n", "matmul f32 n", "kiln", "LibTorch", "ratio",
              "OpenBLAS", "ratio", "goal (LibTorch)");
  for (int n : {64, 128, 256, 512, 1024, 2048}) {
    const std::string prefix = "matmul" + std::to_string(n) + ".";
    const std::optional<double> kiln = best(prefix + "kiln");
    const std::optional<BestOf> torch = best_of_threads(prefix + "torch");
    const std::optional<BestOf> blas = best_of_threads(prefix + "openblas");
    const std::optional<double> r = ratio_of(kiln, torch);
    std::printf("%-14d %14s %20s %8s %20s %8s   %s\n", n, format_ms(kiln).c_str(),
                format_best(torch).c_str(), format_ratio(r).c_str(), format_best(blas).c_str(),
                format_ratio(ratio_of(kiln, blas)).c_str(),
                format_goal(r, n == 1024 ? std::optional<double>(1.0) : std::nullopt).c_str());
  }

  rule();
  auto ms = [](const std::string& key) -> std::optional<double> {
    std::optional<double> s = best(key);
    if (s) *s *= 1e3;
    return s;
  };
  const std::optional<double> cold = ms("compile.cold"), warm = ms("compile.warm");
  std::printf("%-50s %14s   %s\n", "kernel compile, cold (empty disk cache), per kernel",
              format_ms(best("compile.cold")).c_str(), format_goal(cold, 50.0, "<").c_str());
  std::printf("%-50s %14s   %s\n", "kernel compile, warm (disk cache), per kernel",
              format_ms(best("compile.warm")).c_str(), format_goal(warm, 2.0, "<").c_str());
  std::printf("%-50s %14s\n", "first kernel of a process, cold (JIT start-up)",
              format_ms(best("compile.first_cold")).c_str());
  std::printf("%-50s %14s\n", "first kernel of a process, warm (JIT start-up)",
              format_ms(best("compile.first_warm")).c_str());

  std::optional<double> replay_us = best("replay.kiln");
  if (replay_us) *replay_us *= 1e6 / 10000;  // per call
  char replay_text[32] = "n/a";
  if (replay_us) std::snprintf(replay_text, sizeof replay_text, "%.2f us", *replay_us);
  std::printf("%-50s %14s   %s\n", "compiled call on 2x3 floats (replay overhead)", replay_text,
              format_goal(replay_us, 5.0, "<").c_str());

  rule();
  const double n = static_cast<double>(kBigNumel);
  auto gbps = [](double bytes, std::optional<double> seconds) -> std::optional<double> {
    if (!seconds || *seconds <= 0) return std::nullopt;
    return bytes / *seconds / 1e9;
  };
  auto format_gbps = [](std::optional<double> v) {
    if (!v) return std::string("n/a");
    char text[32];
    std::snprintf(text, sizeof text, "%.2f GB/s", *v);
    return std::string(text);
  };
  const std::optional<double> triad1 = gbps(12 * n, best("triad1"));
  const std::optional<double> triad2 = gbps(12 * n, best("triad2"));
  const std::optional<double> chain = gbps(8 * n, best("chain.kiln"));
  std::printf("%-50s %14s\n", "triad a = b + s*c, 16M f32, 1 thread", format_gbps(triad1).c_str());
  std::printf("%-50s %14s\n", "triad a = b + s*c, 16M f32, 2 threads", format_gbps(triad2).c_str());
  std::optional<double> triad_best = triad1;
  if (triad2 && (!triad_best || *triad2 > *triad_best)) triad_best = triad2;
  std::string fraction = "n/a";
  if (chain && triad_best) {
    char text[32];
    std::snprintf(text, sizeof text, "%.0f%%", 100.0 * *chain / *triad_best);
    fraction = text;
  }
  std::printf("%-50s %14s   %s of the best triad\n",
              "kiln chain, no sum (read 4n + write 4n bytes)", format_gbps(chain).c_str(),
              fraction.c_str());

  if (!notes().empty()) {
    rule();
    for (const std::string& line : notes()) std::printf("note: %s\n", line.c_str());
  }
  rule();
  std::fflush(stdout);
}

}  // namespace kiln_bench
