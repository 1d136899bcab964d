#include "bench_common.h"

#include <ATen/Parallel.h>
#include <ATen/Version.h>

#include <algorithm>
#include <map>
#include <mutex>

namespace kiln_bench {
namespace {

struct Table {
  std::mutex mutex;
  std::map<std::string, double> best;
  std::vector<std::string> notes;
};
Table& table() {
  static Table t;
  return t;
}

}  // namespace

void record(const std::string& key, double seconds) {
  Table& t = table();
  std::lock_guard<std::mutex> lock(t.mutex);
  auto [it, inserted] = t.best.emplace(key, seconds);
  if (!inserted) it->second = std::min(it->second, seconds);
}

std::optional<double> best(const std::string& key) {
  Table& t = table();
  std::lock_guard<std::mutex> lock(t.mutex);
  auto it = t.best.find(key);
  if (it == t.best.end()) return std::nullopt;
  return it->second;
}

std::optional<BestOf> best_of_threads(const std::string& prefix) {
  std::optional<BestOf> result;
  for (int threads : {1, 2}) {
    std::optional<double> seconds = best(prefix + std::to_string(threads));
    if (seconds && (!result || *seconds < result->seconds)) result = BestOf{*seconds, threads};
  }
  return result;
}

void note(const std::string& text) {
  Table& t = table();
  std::lock_guard<std::mutex> lock(t.mutex);
  if (std::find(t.notes.begin(), t.notes.end(), text) == t.notes.end()) t.notes.push_back(text);
}

const std::vector<std::string>& notes() { return table().notes; }

void set_torch_threads(int n) { at::set_num_threads(n); }

std::string torch_build_summary() {
  const std::string config = at::show_config();
  std::string out;
  for (const char* field : {"TORCH_VERSION=", "CPU capability usage: ", "BLAS_INFO="}) {
    const size_t at = config.find(field);
    if (at == std::string::npos) continue;
    const size_t begin = at + std::string(field).size();
    const size_t end = config.find_first_of(",\n", begin);
    if (!out.empty()) out += ", ";
    out += field + config.substr(begin, end - begin);
  }
  return out;
}

}  // namespace kiln_bench
