#include "kiln/frontend/autograd/record.h"

#include <cstring>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "kiln/frontend/autograd/grad_mode.h"
#include "kiln/frontend/autograd/vjp.h"
#include "kiln/frontend/node_map.h"
#include "kiln/runtime/error.h"

namespace kiln::frontend::autograd {
namespace {

// Reads of tensors that require grad, by the fresh node each read returned. Fresh nodes are
// never shared, so an entry can only match the read it came from; expired ones are dropped as
// the table grows.
// Weak references only: the table must not keep graphs alive (nor be the last owner of a
// GradFn when thread-local storage is torn down at exit).
struct NotedRead {
  std::weak_ptr<LazyNode> node;
  std::weak_ptr<GradFn> fn;
  std::weak_ptr<AutogradMeta> leaf;
};
struct Registry {
  absl::flat_hash_map<const LazyNode*, NotedRead> reads;
  size_t prune_at = 1024;

  void add(const LazyPtr& node, Edge edge) {
    if (reads.size() >= prune_at) {
      absl::erase_if(reads, [](const auto& kv) { return kv.second.node.expired(); });
      prune_at = std::max<size_t>(1024, 2 * reads.size());
    }
    reads[node.get()] = NotedRead{node, edge.fn, edge.leaf};
  }
  // The edge noted for `node`, or an invalid one when none is (or its target is gone).
  Edge find(const LazyNode* node) const {
    auto it = reads.find(node);
    if (it == reads.end() || it->second.node.expired()) return Edge{};
    return Edge{it->second.fn.lock(), it->second.leaf};
  }
};
Registry& registry() {
  thread_local Registry r;
  return r;
}

// The storage of a view's root must be the root's row-major elements from its offset on, so
// that the view is an as_strided window of the root's flattened value.
void check_root_layout(const TensorImpl& root) {
  if (!root.is_contiguous())
    throw Error(
        "autograd: views of a non-contiguous tensor that requires grad (and was made a leaf "
        "with requires_grad_) are not supported; call .contiguous() first");
}

// The view's value as a function of the tensor it was taken from. From the root (a tensor
// owning its storage, row-major): an as_strided window of the root's flattened value. From a
// base that is itself a view with history: the base's value placed into a storage-sized
// buffer (as_strided_scatter into zeros) and windowed from there, so that the gradient flows
// through the base's own GradFn whatever the two layouts are.
std::shared_ptr<GradFn> derive_view(const TensorImpl& view, const AutogradMeta& meta) {
  if (meta.view_base != nullptr) {
    const TensorImpl& base = *meta.view_base;
    LazyPtr bv = read(Tensor(meta.view_base));
    LazyPtr storage = full_node(0, base.dtype(), Shape{base.storage->numel}, base.device());
    LazyPtr placed = make_node(ir::Op::as_strided_scatter, {storage, bv},
                               ir::StridedAttrs{base.sizes, base.strides, base.offset});
    std::shared_ptr<GradFn> fn = capture(make_node(
        ir::Op::as_strided, {placed}, ir::StridedAttrs{view.sizes, view.strides, view.offset}));
    if (fn != nullptr) fn->is_view = true;
    return fn;
  }
  const TensorImpl& root = *view.view_root;
  check_root_layout(root);
  LazyPtr rv;
  {
    // The root's value, read like any input (noted, with its edge).
    const LazyPtr& content = root.storage->value;
    LazyPtr whole = root.covers_storage()
                        ? reshape(content, root.sizes)
                        : make_node(ir::Op::as_strided, {content},
                                    ir::StridedAttrs{root.sizes, root.strides, root.offset});
    rv = on_read(root, std::move(whole));
  }
  LazyPtr flat = make_node(ir::Op::reshape, {rv}, ir::ShapeAttrs{Shape{root.numel()}});
  LazyPtr window = make_node(ir::Op::as_strided, {flat},
                             ir::StridedAttrs{view.sizes, view.strides, view.offset - root.offset});
  std::shared_ptr<GradFn> fn = capture(window);
  if (fn != nullptr) fn->is_view = true;
  return fn;
}

// Brings a non-leaf's history up to date after writes through other aliases.
void refresh(const TensorImpl& t) {
  AutogradMeta& meta = *t.autograd;
  if (meta.version == t.storage->version) return;
  if (meta.view_root != nullptr) {
    meta.version = t.storage->version;
    meta.grad_fn = derive_view(t, meta);
    meta.requires_grad = meta.grad_fn != nullptr;
    return;
  }
  // Written without grad mode (history stays what it was, as in PyTorch).
  meta.version = t.storage->version;
}

}  // namespace

Edge edge_of(const std::shared_ptr<AutogradMeta>& meta) {
  if (meta->grad_fn != nullptr) return Edge{meta->grad_fn, {}};
  return Edge{nullptr, meta};
}

Edge current_edge(const TensorImpl& t) {
  if (t.autograd->grad_fn != nullptr || t.autograd->view_root != nullptr) refresh(t);
  return edge_of(t.autograd);
}

LazyPtr on_read(const TensorImpl& t, LazyPtr value) {
  if (!grad_enabled() || t.autograd == nullptr || !t.autograd->requires_grad) return value;
  if (t.autograd->grad_fn != nullptr || t.autograd->view_root != nullptr) refresh(t);
  if (!t.autograd->requires_grad) return value;
  LazyPtr fresh = make_node(ir::Op::reshape, {value}, ir::ShapeAttrs{value->type.shape});
  mark_read_marker(*fresh);
  registry().add(fresh, edge_of(t.autograd));
  return fresh;
}

std::shared_ptr<GradFn> capture(const LazyPtr& root) {
  Registry& reg = registry();
  // Without a live read marker no edge can be found (the registry may still list dead ones
  // until its next prune): nothing recorded now can require grad.
  if (!grad_enabled() || reg.reads.empty() || live_read_markers() == 0) return nullptr;
  auto fn = std::make_shared<GradFn>();
  // One op's fragment is a few nodes: inline tables (node_map.h), no hashing.
  NodeMap<int32_t> index;
  absl::InlinedVector<bool, 16> needs_grad;
  auto leaf_value = [&](const LazyPtr& node, Edge edge) {
    GradFn::Value v;
    v.node = node;
    // A read is a view node over a storage's content: the buffer an eager in-place write
    // would change is that content's.
    v.watched = node;
    while (!v.watched->realized() && v.watched->inputs.size() == 1 &&
           (v.watched->op == ir::Op::reshape || v.watched->op == ir::Op::as_strided))
      v.watched = v.watched->inputs[0];
    v.version = v.watched->version;
    if (edge.valid()) {
      v.edge = static_cast<int32_t>(fn->next.size());
      fn->next.push_back(std::move(edge));
    }
    needs_grad.push_back(v.edge >= 0);
    fn->values.push_back(std::move(v));
    return static_cast<int32_t>(fn->values.size()) - 1;
  };
  // A leaf of the fragment: a noted read (with its edge), a buffer, a constant, or another
  // tensor's value.
  auto leaf_edge = [&](const LazyNode* node, Edge* edge) {
    *edge = reg.find(node);
    return edge->valid() || node->realized() || node->op == ir::Op::constant ||
           (node->owned_by_storage && node != root.get());
  };
  if (Edge edge; leaf_edge(root.get(), &edge)) {
    fn->output = leaf_value(root, std::move(edge));
  } else {
    // Iterative post-order walk: (the node's owning pointer, next operand).
    absl::InlinedVector<std::pair<const LazyPtr*, size_t>, 16> stack;
    stack.emplace_back(&root, 0);
    while (!stack.empty()) {
      auto& [owner, next] = stack.back();
      const LazyNode* node = owner->get();
      if (next < node->inputs.size()) {
        const LazyPtr& in = node->inputs[next++];
        if (index.contains(in.get())) continue;
        if (Edge edge; leaf_edge(in.get(), &edge)) {
          index.emplace(in.get(), leaf_value(in, std::move(edge)));
          continue;
        }
        stack.emplace_back(&in, 0);
        continue;
      }
      const LazyPtr& done = *owner;
      stack.pop_back();
      if (index.contains(done.get())) continue;
      GradFn::Node n{done->op, done->attrs, {}, static_cast<int32_t>(fn->values.size())};
      bool any = false;
      for (const LazyPtr& in : done->inputs) {
        const int32_t i = *index.find(in.get());
        n.inputs.push_back(i);
        any = any || needs_grad[static_cast<size_t>(i)];
      }
      GradFn::Value v;
      v.node = done;
      v.defined_by = static_cast<int32_t>(fn->nodes.size());
      fn->values.push_back(std::move(v));
      needs_grad.push_back(any && is_differentiable(done->op) &&
                           is_floating_point(done->type.dtype));
      index.emplace(done.get(), n.value);
      fn->nodes.push_back(std::move(n));
    }
    fn->output = *index.find(root.get());
  }
  if (!needs_grad[static_cast<size_t>(fn->output)]) return nullptr;
  for (const GradFn::Node& node : fn->nodes) {
    if (node.op != ir::Op::matmul && !ir::has_trait(node.op, ir::kReduction)) continue;
    const LazyPtr& value = fn->values[static_cast<size_t>(node.value)].node;
    if (value->realized()) continue;
    ++value->saved_for_backward;
    fn->kept.push_back(value);
  }
  return fn;
}

std::shared_ptr<AutogradMeta> on_result(const LazyPtr& value) {
  std::shared_ptr<GradFn> fn = capture(value);
  if (fn == nullptr) return nullptr;
  auto meta = std::make_shared<AutogradMeta>();
  meta->requires_grad = true;
  meta->grad_fn = std::move(fn);
  return meta;
}

std::shared_ptr<AutogradMeta> on_view(const TensorImpl& view,
                                      const std::shared_ptr<TensorImpl>& base) {
  if (!grad_enabled() || view.view_root == nullptr) return nullptr;
  const TensorImpl& root = *view.view_root;
  if (root.autograd == nullptr || !root.autograd->requires_grad) return nullptr;
  auto meta = std::make_shared<AutogradMeta>();
  meta->view_root = view.view_root;
  if (base != view.view_root && base->autograd != nullptr && base->autograd->requires_grad &&
      base->autograd->view_root != nullptr)
    meta->view_base = base;
  meta->version = view.storage->version;
  meta->grad_fn = derive_view(view, *meta);
  meta->requires_grad = meta->grad_fn != nullptr;
  return meta->requires_grad ? meta : nullptr;
}

PendingWrite prepare_write(const std::shared_ptr<TensorImpl>& t, const LazyPtr& value) {
  PendingWrite pending;
  if (!grad_enabled()) return pending;
  const std::shared_ptr<TensorImpl>& root = t->view_root != nullptr ? t->view_root : t;
  const AutogradMeta* root_meta = root->autograd.get();
  const bool root_requires = root_meta != nullptr && root_meta->requires_grad;
  if (!root_requires && (registry().reads.empty() || live_read_markers() == 0))
    return pending;  // nothing can require grad
  if (root_meta != nullptr && root_meta->requires_grad && root_meta->grad_fn == nullptr &&
      root_meta->view_root == nullptr)
    throw Error(t == root ? "a leaf Variable that requires grad is being used in an in-place "
                            "operation."
                          : "a view of a leaf Variable that requires grad is being used in an "
                            "in-place operation.");
  pending.target = root;
  if (t == root) {
    pending.grad_fn = capture(value);
  } else {
    // The root's new value: its old value (read like any input) with the window replaced.
    check_root_layout(*root);
    const LazyPtr& content = root->storage->value;
    LazyPtr whole = root->covers_storage()
                        ? reshape(content, root->sizes)
                        : make_node(ir::Op::as_strided, {content},
                                    ir::StridedAttrs{root->sizes, root->strides, root->offset});
    LazyPtr old = on_read(*root, std::move(whole));
    LazyPtr flat = make_node(ir::Op::reshape, {old}, ir::ShapeAttrs{Shape{root->numel()}});
    LazyPtr scattered = make_node(ir::Op::as_strided_scatter, {flat, value},
                                  ir::StridedAttrs{t->sizes, t->strides, t->offset - root->offset});
    pending.grad_fn = capture(make_node(ir::Op::reshape, {scattered}, ir::ShapeAttrs{root->sizes}));
  }
  pending.active = pending.grad_fn != nullptr || root_requires;
  return pending;
}

void finish_write(const std::shared_ptr<TensorImpl>& t, const PendingWrite& pending) {
  if (!pending.active) return;
  TensorImpl& root = *pending.target;
  if (root.autograd == nullptr) root.autograd = std::make_shared<AutogradMeta>();
  root.autograd->grad_fn = pending.grad_fn;
  root.autograd->requires_grad = pending.grad_fn != nullptr;
  root.autograd->version = root.storage->version;
  if (t.get() == &root) return;
  // The written view's history follows from the root's at its next read.
  if (t->autograd == nullptr) t->autograd = std::make_shared<AutogradMeta>();
  t->autograd->view_root = pending.target;
  t->autograd->requires_grad = pending.grad_fn != nullptr;
  t->autograd->grad_fn = nullptr;
  t->autograd->version = root.storage->version - 1;
}

}  // namespace kiln::frontend::autograd

namespace kiln::frontend::autograd {

void record_transfer(const Tensor& source, const Tensor& result) {
  if (!grad_enabled() || !source.requires_grad()) return;
  auto fn = std::make_shared<GradFn>();
  fn->next.push_back(current_edge(*source.impl()));
  fn->output = 0;  // a live GradFn (a released one has output < 0)
  const Device from = source.device();
  fn->custom_backward = [from](const Tensor& g) { return std::vector<Tensor>{g.to(from)}; };
  auto meta = std::make_shared<AutogradMeta>();
  meta->requires_grad = true;
  meta->grad_fn = std::move(fn);
  meta->version = result.impl()->storage->version;
  result.impl()->autograd = std::move(meta);
}

GradFn::~GradFn() {
  release_kept();
  thread_local std::vector<std::shared_ptr<GradFn>> orphans;
  thread_local bool draining = false;
  for (Edge& e : next)
    if (e.fn != nullptr) orphans.push_back(std::move(e.fn));
  next.clear();
  if (draining) return;
  draining = true;
  while (!orphans.empty()) {
    std::shared_ptr<GradFn> last = std::move(orphans.back());
    orphans.pop_back();
    last.reset();  // may push its own edges onto `orphans`
  }
  draining = false;
}

void preserve_read_value(const PendingWrite& pending, const LazyPtr& node) {
  if (pending.grad_fn == nullptr) return;
  LazyPtr copy;
  for (GradFn::Value& v : pending.grad_fn->values) {
    if (v.defined_by >= 0 || v.watched != node) continue;
    if (copy == nullptr) {
      auto buffer = runtime::Buffer::allocate(node->buffer->nbytes());
      if (buffer->nbytes() > 0) std::memcpy(buffer->data(), node->buffer->data(), buffer->nbytes());
      copy = make_leaf(std::move(buffer), node->type, node->device);
    }
    if (v.node == node) {
      v.node = copy;
    } else {
      // The read is a chain of views ending at `node` (see capture's `watched`): end it at the
      // copy.
      LazyNode* link = v.node.get();
      while (link->inputs[0] != node) link = link->inputs[0].get();
      link->inputs[0] = copy;
    }
    v.watched = copy;
    v.version = copy->version;
  }
}

}  // namespace kiln::frontend::autograd

namespace kiln::frontend::autograd {

void accept_own_write(const PendingWrite& pending, const LazyPtr& node) {
  if (pending.grad_fn == nullptr) return;
  for (GradFn::Value& v : pending.grad_fn->values)
    if (v.defined_by < 0 && v.watched == node) v.version = node->version;
}

}  // namespace kiln::frontend::autograd
