// nn::Sequential: runs its modules in order, each on the previous one's output
// (torch.nn.Sequential). Children are named "0", "1", ... so parameters are "0.weight", ...
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include "kiln/frontend/nn/module.h"
#include "kiln/frontend/nn/module_holder.h"
#include "kiln/runtime/error.h"

namespace kiln::nn {

class SequentialImpl : public Module {
 public:
  SequentialImpl() = default;
  // Each argument is a handle (nn::Linear(2, 3), nn::ReLU()) or a std::shared_ptr to a Module.
  template <class... Ms>
  explicit SequentialImpl(Ms&&... modules) {
    (push_back(std::forward<Ms>(modules)), ...);
  }

  Tensor forward(const Tensor& input) override;

  // Appends a module named by its position ("3").
  template <class M>
  void push_back(M&& module) {
    push_back(std::to_string(size()), std::forward<M>(module));
  }
  template <class M>
  void push_back(const std::string& name, M&& module) {
    add_child(name, as_module_ptr(std::forward<M>(module)));
  }

  int64_t size() const { return static_cast<int64_t>(named_children().size()); }
  bool empty() const { return size() == 0; }
  // The module at `index` (negative counts from the end); throws when out of range.
  std::shared_ptr<Module> operator[](int64_t index) const;
  // The module at `index` as its concrete type; throws when it is another type.
  template <class M>
  std::shared_ptr<M> at(int64_t index) const {
    auto typed = std::dynamic_pointer_cast<M>((*this)[index]);
    if (typed == nullptr)
      throw Error("Sequential: the module at index " + std::to_string(index) +
                  " is not of the requested type");
    return typed;
  }
};

class Sequential : public ModuleHolder<SequentialImpl> {
 public:
  using ModuleHolder<SequentialImpl>::ModuleHolder;
  Sequential() : ModuleHolder(std::make_shared<SequentialImpl>()) {}
  // One argument that is itself a Sequential copies the handle (it does not nest it: use
  // push_back for that), as for every other handle type.
  // Layers constructed in the argument list draw their initial weights in the order C++
  // evaluates the arguments, which is unspecified for parentheses (GCC: right to left). Write
  // `nn::Sequential{nn::Linear(2, 4), nn::ReLU(), nn::Linear(4, 1)}`: a braced list is
  // evaluated left to right, as Python's arguments, so a seed gives PyTorch's weights.
  template <class M, class... Ms,
            std::enable_if_t<!(sizeof...(Ms) == 0 &&
                               (std::is_same_v<std::decay_t<M>, Sequential> ||
                                std::is_same_v<std::decay_t<M>, std::nullptr_t> ||
                                std::is_same_v<std::decay_t<M>, std::shared_ptr<SequentialImpl>>)),
                             int> = 0>
  explicit Sequential(M&& first, Ms&&... rest)
      : ModuleHolder(
            std::make_shared<SequentialImpl>(std::forward<M>(first), std::forward<Ms>(rest)...)) {}

  template <class M>
  void push_back(M&& module) const {
    get().push_back(std::forward<M>(module));
  }
  template <class M>
  void push_back(const std::string& name, M&& module) const {
    get().push_back(name, std::forward<M>(module));
  }
  int64_t size() const { return get().size(); }
  bool empty() const { return get().empty(); }
  std::shared_ptr<Module> operator[](int64_t index) const { return get()[index]; }
  template <class M>
  std::shared_ptr<M> at(int64_t index) const {
    return get().template at<M>(index);
  }
};

}  // namespace kiln::nn
