// kiln::compile: trace a function once per call signature and replay the optimized program.
//
//   auto f = kiln::compile([](const Tensor& x) { return ((x * 2 + 1).exp() * x).sum(); });
//   Tensor y = f(x);      // first call: traces, optimizes, compiles (and returns the result)
//   y = f(x2);            // same dtype/rank/...: replays the compiled program
//   std::cout << f.graph();  // the traced IR
//
// Arguments are tensors, vectors of tensors, strings or arithmetic values (their values are part of
// the signature: a new value traces again); results are a Tensor, a std::vector<Tensor>, a
// std::tuple/std::pair of Tensors, or nothing. The function may read and update tensors it captures
// (a model's parameters, an optimizer's state): a whole training step with backward() and
// optimizer.step() compiles into one program that updates them in place. It must not read
// tensor values on the host (item(), printing, tolist, random numbers): that throws, since
// the program would replay the first call's value. It may move tensors between devices
// (to(device)): the program is then a graph per side of each move. Host-side C++ state the function
// reads (a counter, a learning rate in a variable) is frozen at trace time, as in torch.jit.trace.
// See docs/compile.md.
#pragma once

#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "kiln/frontend/compile/compiled_function.h"
#include "kiln/frontend/tensor.h"

namespace kiln {

namespace detail {

template <class T>
struct ReturnAdapter;  // how a result type turns into tensors and back

template <>
struct ReturnAdapter<Tensor> {
  static std::vector<Tensor> flatten(Tensor t) { return {std::move(t)}; }
  static Tensor unflatten(std::vector<Tensor> v) { return std::move(v.at(0)); }
};
template <>
struct ReturnAdapter<std::vector<Tensor>> {
  static std::vector<Tensor> flatten(std::vector<Tensor> v) { return v; }
  static std::vector<Tensor> unflatten(std::vector<Tensor> v) { return v; }
};
template <class... Ts>
struct ReturnAdapter<std::tuple<Ts...>> {
  static_assert((std::is_same_v<Ts, Tensor> && ...), "compile: tuples may hold only Tensors");
  static std::vector<Tensor> flatten(std::tuple<Ts...> t) {
    return std::apply([](auto&&... ts) { return std::vector<Tensor>{std::move(ts)...}; },
                      std::move(t));
  }
  static std::tuple<Ts...> unflatten(std::vector<Tensor> v) {
    return unflatten_at(std::move(v), std::index_sequence_for<Ts...>{});
  }
  template <size_t... I>
  static std::tuple<Ts...> unflatten_at(std::vector<Tensor> v, std::index_sequence<I...>) {
    return std::tuple<Ts...>{std::move(v.at(I))...};
  }
};
template <class A, class B>
struct ReturnAdapter<std::pair<A, B>> {
  static_assert(std::is_same_v<A, Tensor> && std::is_same_v<B, Tensor>,
                "compile: pairs may hold only Tensors");
  static std::vector<Tensor> flatten(std::pair<A, B> p) {
    return {std::move(p.first), std::move(p.second)};
  }
  static std::pair<A, B> unflatten(std::vector<Tensor> v) {
    return {std::move(v.at(0)), std::move(v.at(1))};
  }
};

// Collects tensor arguments and writes the others into the signature's host key.
inline void collect_argument(const Tensor& t, std::vector<Tensor>& tensors, std::string&) {
  tensors.push_back(t);
}
inline void collect_argument(const std::vector<Tensor>& ts, std::vector<Tensor>& tensors,
                             std::string& host_key) {
  tensors.insert(tensors.end(), ts.begin(), ts.end());
  absl::StrAppend(&host_key, host_key.empty() ? "" : ", ", "[", ts.size(), " tensors]");
}
template <class T>
requires std::is_arithmetic_v<std::decay_t<T>>
void collect_argument(const T& v, std::vector<Tensor>&, std::string& host_key) {
  absl::StrAppend(&host_key, host_key.empty() ? "" : ", ", v);
}
inline void collect_argument(const std::string& s, std::vector<Tensor>&, std::string& host_key) {
  absl::StrAppend(&host_key, host_key.empty() ? "\"" : ", \"", s, "\"");
}

}  // namespace detail

template <class F>
class CompiledFunction {
 public:
  explicit CompiledFunction(F fn, std::string name = "function")
      : fn_(std::move(fn)), core_(std::make_shared<frontend::CompiledCore>(std::move(name))) {}

  template <class... Args>
  auto operator()(Args&&... args) {
    using R = std::invoke_result_t<F&, Args&...>;
    std::vector<Tensor> tensors;
    std::string host_key;
    (detail::collect_argument(args, tensors, host_key), ...);
    if constexpr (std::is_void_v<R>) {
      core_->call(tensors, host_key, [&] {
        fn_(args...);
        return std::vector<Tensor>{};
      });
    } else {
      using Adapter = detail::ReturnAdapter<std::decay_t<R>>;
      return Adapter::unflatten(
          core_->call(tensors, host_key, [&] { return Adapter::flatten(fn_(args...)); }));
    }
  }

  // The IR of the latest trace (before optimization); print it with <<.
  const ir::Graph& graph() const { return core_->graph(); }
  // How many calls traced, replayed, or recorded the program again for autograd.
  const frontend::CompileStats& stats() const { return core_->stats(); }

 private:
  F fn_;
  // Shared: copies of a compiled function share its programs.
  std::shared_ptr<frontend::CompiledCore> core_;
};

// Compiles `fn` (any callable). `name` labels its KILN_LOG=recompiles lines.
template <class F>
CompiledFunction<std::decay_t<F>> compile(F&& fn, std::string name = "function") {
  return CompiledFunction<std::decay_t<F>>(std::forward<F>(fn), std::move(name));
}

}  // namespace kiln
