#include "kiln/frontend/autograd/engine.h"

#include <deque>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "kiln/frontend/autograd/apply.h"
#include "kiln/frontend/autograd/grad_mode.h"
#include "kiln/frontend/autograd/meta.h"
#include "kiln/frontend/autograd/record.h"
#include "kiln/frontend/autograd/vjp.h"
#include "kiln/frontend/tensor_impl.h"
#include "kiln/runtime/error.h"

namespace kiln::frontend::autograd {
namespace {

// A forward value as a tensor without history.
Tensor plain(const LazyPtr& node) {
  GradModeGuard off(false);
  return make_tensor(node);
}

// A forward value as a tensor whose gradient flows along `edge` (create_graph).
Tensor with_edge(const LazyPtr& node, const Edge& edge) {
  Tensor t = plain(node);
  if (edge.fn == nullptr) {
    t.impl()->autograd = edge.leaf.lock();  // reads of it route to the leaf's accumulator
  } else {
    auto meta = std::make_shared<AutogradMeta>();
    meta->requires_grad = true;
    meta->grad_fn = edge.fn;
    meta->version = t.impl()->storage->version;
    t.impl()->autograd = std::move(meta);
  }
  return t;
}

void add_into(Tensor& slot, const Tensor& g) { slot = slot.defined() ? slot + g : g; }

// Runs one recorded fragment backwards from the gradient `g` of its result; returns the
// gradient for each of its edges (undefined where none arrives).
std::vector<Tensor> run_fragment(const GradFn& fn, const Tensor& g, bool create_graph) {
  if (fn.custom_backward) return fn.custom_backward(g);
  const size_t n = fn.values.size();
  for (const GradFn::Value& v : fn.values)
    if (v.defined_by < 0 && v.watched->version != v.version)
      throw Error(
          "one of the variables needed for gradient computation has been modified by an "
          "inplace operation");
  std::vector<bool> needs_grad(n, false);
  for (size_t i = 0; i < n; ++i) {
    const GradFn::Value& v = fn.values[i];
    if (v.defined_by < 0) {
      needs_grad[i] = v.edge >= 0;
      continue;
    }
    const GradFn::Node& node = fn.nodes[static_cast<size_t>(v.defined_by)];
    bool any = false;
    for (int32_t in : node.inputs) any = any || needs_grad[static_cast<size_t>(in)];
    needs_grad[i] = any && is_differentiable(node.op) && is_floating_point(v.node->type.dtype);
  }
  // Forward values: as recorded, or (create_graph) rebuilt from inputs that carry history, so
  // that the gradients built from them can be differentiated again.
  std::vector<Tensor> values(n);
  auto value = [&](int32_t i) -> const Tensor& {
    Tensor& t = values[static_cast<size_t>(i)];
    if (t.defined()) return t;
    const GradFn::Value& v = fn.values[static_cast<size_t>(i)];
    if (!create_graph) {
      t = plain(v.node);
    } else if (v.defined_by < 0) {
      t = v.edge >= 0 ? with_edge(v.node, fn.next[static_cast<size_t>(v.edge)]) : plain(v.node);
    } else {
      const GradFn::Node& node = fn.nodes[static_cast<size_t>(v.defined_by)];
      std::vector<Tensor> inputs;
      for (int32_t in : node.inputs) inputs.push_back(values[static_cast<size_t>(in)]);
      t = apply(node.op, inputs, node.attrs);
    }
    return t;
  };
  if (create_graph)
    for (size_t i = 0; i < n; ++i) value(static_cast<int32_t>(i));

  std::vector<Tensor> grads(n);
  grads[static_cast<size_t>(fn.output)] = g;
  for (auto it = fn.nodes.rbegin(); it != fn.nodes.rend(); ++it) {
    const Tensor& gout = grads[static_cast<size_t>(it->value)];
    if (!gout.defined() || !needs_grad[static_cast<size_t>(it->value)]) continue;
    VjpContext ctx{it->op, &it->attrs, {}, {}, gout, {}, {}};
    for (int32_t in : it->inputs) {
      ctx.needs.push_back(needs_grad[static_cast<size_t>(in)]);
      ctx.input_types.push_back(&fn.values[static_cast<size_t>(in)].node->type);
    }
    // Only the forward values the rule reads become tensors.
    if (create_graph || vjp_reads_value(it->op, -1, ctx.needs)) ctx.output = value(it->value);
    for (size_t k = 0; k < it->inputs.size(); ++k)
      ctx.inputs.push_back(create_graph || vjp_reads_value(it->op, static_cast<int>(k), ctx.needs)
                               ? value(it->inputs[k])
                               : Tensor());
    const std::vector<Tensor> input_grads = vjp(ctx);
    for (size_t k = 0; k < it->inputs.size() && k < input_grads.size(); ++k)
      if (ctx.needs[k] && input_grads[k].defined())
        add_into(grads[static_cast<size_t>(it->inputs[k])], input_grads[k]);
  }
  std::vector<Tensor> out(fn.next.size());
  for (size_t i = 0; i < n; ++i)
    if (fn.values[i].edge >= 0) out[static_cast<size_t>(fn.values[i].edge)] = grads[i];
  return out;
}

void release(GradFn& fn) {
  if (fn.is_view || fn.custom_backward) return;
  fn.release_kept();
  fn.values.clear();
  fn.nodes.clear();
  fn.output = -1;
}

// Adds `g` to a leaf's .grad(): the first gradient becomes .grad() (a tensor of its own), later
// ones add into it in place (out of place with create_graph, so that it keeps its history).
void accumulate(AutogradMeta& meta, const Tensor& g, bool create_graph) {
  if (!meta.grad.defined()) {
    if (create_graph) {
      meta.grad = g;
    } else {
      GradModeGuard off(false);
      meta.grad = make_tensor(read(g));
    }
    return;
  }
  if (create_graph) {
    meta.grad = meta.grad + g;
    return;
  }
  GradModeGuard off(false);
  meta.grad.add_(g);
}

}  // namespace

std::vector<Tensor> backward(const std::vector<Tensor>& roots,
                             const std::vector<Tensor>& root_grads,
                             const std::vector<Tensor>& inputs, bool create_graph) {
  const bool accumulating = inputs.empty();
  absl::flat_hash_map<const GradFn*, size_t> fn_targets;
  absl::flat_hash_map<const AutogradMeta*, size_t> leaf_targets;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const auto& meta = impl_of(inputs[i]).autograd;
    if (meta == nullptr || !meta->requires_grad)
      throw Error(absl::StrCat("grad: One of the differentiated Tensors (input ", i,
                               ") does not require grad"));
    const Edge edge = current_edge(*inputs[i].impl());
    if (edge.fn != nullptr) {
      fn_targets[edge.fn.get()] = i;
    } else {
      leaf_targets[meta.get()] = i;
    }
  }
  std::vector<Edge> root_edges;
  for (const Tensor& r : roots) {
    const auto& meta = impl_of(r).autograd;
    if (meta == nullptr || !meta->requires_grad)
      throw Error("element 0 of tensors does not require grad and does not have a grad_fn");
    root_edges.push_back(current_edge(*r.impl()));
  }

  GradModeGuard mode(create_graph);
  // Every GradFn reachable, with the number of edges into it from others reachable.
  absl::flat_hash_map<GradFn*, int> deps;
  std::vector<GradFn*> stack;
  for (const Edge& e : root_edges)
    if (e.fn != nullptr && deps.try_emplace(e.fn.get(), 0).second) stack.push_back(e.fn.get());
  while (!stack.empty()) {
    GradFn* fn = stack.back();
    stack.pop_back();
    if (fn->output < 0)
      throw Error(
          "Trying to backward through the graph a second time (or directly access saved tensors "
          "after they have already been freed). Saved intermediate values of the graph are freed "
          "when you call .backward() or autograd.grad(). Specify create_graph=true if you need to "
          "backward through the graph a second time.");
    for (const Edge& e : fn->next) {
      if (e.fn == nullptr) continue;
      auto [it, fresh] = deps.try_emplace(e.fn.get(), 0);
      ++it->second;
      if (fresh) stack.push_back(e.fn.get());
    }
  }

  absl::flat_hash_map<GradFn*, Tensor> fn_grads;
  std::vector<std::pair<std::shared_ptr<AutogradMeta>, Tensor>> leaf_grads;
  absl::flat_hash_map<const AutogradMeta*, size_t> leaf_slot;
  auto route = [&](const Edge& e, const Tensor& g) {
    if (e.fn != nullptr) {
      add_into(fn_grads[e.fn.get()], g);
      return;
    }
    std::shared_ptr<AutogradMeta> leaf = e.leaf.lock();
    if (leaf == nullptr) return;  // no tensor holds this leaf any more
    auto [it, fresh] = leaf_slot.try_emplace(leaf.get(), leaf_grads.size());
    if (fresh) leaf_grads.emplace_back(std::move(leaf), Tensor());
    add_into(leaf_grads[it->second].second, g);
  };
  for (size_t i = 0; i < roots.size(); ++i) route(root_edges[i], root_grads[i]);

  std::vector<Tensor> results(inputs.size());
  std::deque<GradFn*> ready;
  for (const auto& [fn, count] : deps)
    if (count == 0) ready.push_back(fn);
  while (!ready.empty()) {
    GradFn* fn = ready.front();
    ready.pop_front();
    const Tensor g = std::move(fn_grads[fn]);
    fn_grads.erase(fn);
    if (auto t = fn_targets.find(fn); t != fn_targets.end()) results[t->second] = g;
    if (accumulating) {
      for (const auto& weak : fn->retained)
        if (auto meta = weak.lock(); meta != nullptr && g.defined())
          accumulate(*meta, g, create_graph);
    }
    if (g.defined()) {
      const std::vector<Tensor> grads = run_fragment(*fn, g, create_graph);
      for (size_t e = 0; e < grads.size(); ++e)
        if (grads[e].defined()) route(fn->next[e], grads[e]);
    }
    for (const Edge& e : fn->next)
      if (e.fn != nullptr && --deps[e.fn.get()] == 0) ready.push_back(e.fn.get());
    if (!create_graph) release(*fn);
  }
  for (auto& [meta, g] : leaf_grads) {
    if (auto t = leaf_targets.find(meta.get()); t != leaf_targets.end()) {
      results[t->second] = g;
    } else if (accumulating) {
      accumulate(*meta, g, create_graph);
    }
  }
  for (size_t i = 0; i < results.size(); ++i)
    if (!results[i].defined())
      throw Error(absl::StrCat(
          "grad: One of the differentiated Tensors (input ", i,
          ") appears to not have been used in the graph. Set allow_unused=True if this is the "
          "desired behavior."));
  return results;
}

}  // namespace kiln::frontend::autograd
