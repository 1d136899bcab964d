#include "kiln/frontend/io/pickle.h"

#include <cstring>
#include <deque>
#include <iterator>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "kiln/ir/absl_compat.h"

namespace kiln::io::pickle {
namespace {

enum class Kind : uint8_t {
  kNone,
  kBool,
  kInt,
  kFloat,
  kString,
  kTuple,
  kList,
  kDict,
  kGlobal,
  kStorage,
  kTensor
};

std::string_view kind_name(Kind kind) {
  switch (kind) {
    case Kind::kNone:
      return "None";
    case Kind::kBool:
      return "a bool";
    case Kind::kInt:
      return "an int";
    case Kind::kFloat:
      return "a float";
    case Kind::kString:
      return "a str";
    case Kind::kTuple:
      return "a tuple";
    case Kind::kList:
      return "a list";
    case Kind::kDict:
      return "a dict";
    case Kind::kGlobal:
      return "a global";
    case Kind::kStorage:
      return "a storage";
    case Kind::kTensor:
      return "a tensor";
  }
  return "an object";
}

enum class Global : uint8_t {
  kOrderedDict,
  kRebuildTensorV2,
  kRebuildParameter,
  kRebuildParameterWithState,
  kStorageType
};

struct KnownGlobal {
  std::string_view module, name;
  Global global;
  DType dtype;  // of a storage type
};
constexpr KnownGlobal kGlobals[] = {
    {"collections", "OrderedDict", Global::kOrderedDict, float32},
    {"torch._utils", "_rebuild_tensor_v2", Global::kRebuildTensorV2, float32},
    {"torch._utils", "_rebuild_parameter", Global::kRebuildParameter, float32},
    {"torch._utils", "_rebuild_parameter_with_state", Global::kRebuildParameterWithState, float32},
    {"torch", "FloatStorage", Global::kStorageType, float32},
    {"torch", "DoubleStorage", Global::kStorageType, float64},
    {"torch", "HalfStorage", Global::kStorageType, float16},
    {"torch", "BFloat16Storage", Global::kStorageType, bfloat16},
    {"torch", "LongStorage", Global::kStorageType, int64},
    {"torch", "IntStorage", Global::kStorageType, int32},
    {"torch", "ShortStorage", Global::kStorageType, int16},
    {"torch", "CharStorage", Global::kStorageType, int8},
    {"torch", "ByteStorage", Global::kStorageType, uint8},
    {"torch", "BoolStorage", Global::kStorageType, boolean},
};

// Objects live in an arena and refer to each other by index: a container may hold itself
// (pickle can express cycles), which reference counting would leak, and a deep nesting must
// not be torn down recursively.
struct Object {
  Kind kind = Kind::kNone;
  int64_t integer = 0;          // kBool, kInt; index into kGlobals, storages or tensors
  std::string text;             // kString
  std::vector<uint32_t> items;  // kTuple, kList; kDict: key, value, key, value, ...
};

constexpr size_t kMaxRank = 64;

class Machine {
 public:
  Machine(absl::Span<const uint8_t> code, const ByteSource& source, std::string_view entry)
      : code_(code), source_(source), entry_(entry) {}

  PickledStateDict run();

 private:
  [[noreturn]] void fail(std::string_view what) const {
    source_.fail(absl::StrCat(sv(entry_), " (pickle) at byte ", op_pos_, ": ", sv(what)));
  }

  // ---- reading the opcode stream ----
  const uint8_t* take(uint64_t n) {
    if (n > code_.size() - pos_) fail("truncated (the pickle ends inside an opcode's argument)");
    const uint8_t* p = code_.data() + pos_;
    pos_ += static_cast<size_t>(n);
    return p;
  }
  uint64_t take_le(int bytes) {
    const uint8_t* p = take(static_cast<uint64_t>(bytes));
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
    return v;
  }
  std::string take_string(uint64_t n) {
    const uint8_t* p = take(n);
    return std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(n));
  }
  std::string take_line() {
    const void* nl = std::memchr(code_.data() + pos_, '\n', code_.size() - pos_);
    if (!nl) fail("truncated GLOBAL (no newline)");
    const size_t n = static_cast<size_t>(static_cast<const uint8_t*>(nl) - (code_.data() + pos_));
    std::string line = take_string(n);
    ++pos_;
    return line;
  }

  // ---- objects and the stack ----
  uint32_t make(Kind kind, int64_t integer = 0) {
    objects_.push_back(Object{kind, integer, {}, {}});
    return static_cast<uint32_t>(objects_.size() - 1);
  }
  Object& obj(uint32_t id) { return objects_[id]; }
  // The stack above the innermost MARK; as in Python's unpickler, a MARK starts a fresh
  // stack, so nothing may pop below it.
  size_t floor() const { return marks_.empty() ? 0 : marks_.back(); }
  void push(uint32_t id) { stack_.push_back(id); }
  uint32_t pop() {
    if (stack_.size() <= floor()) fail("stack underflow");
    const uint32_t id = stack_.back();
    stack_.pop_back();
    return id;
  }
  uint32_t top() {
    if (stack_.size() <= floor()) fail("stack underflow");
    return stack_.back();
  }
  std::vector<uint32_t> pop_mark() {
    if (marks_.empty()) fail("no MARK to pop to");
    const size_t mark = marks_.back();
    marks_.pop_back();
    std::vector<uint32_t> items(stack_.begin() + static_cast<std::ptrdiff_t>(mark), stack_.end());
    stack_.resize(mark);
    return items;
  }
  uint32_t make_tuple(std::vector<uint32_t> items) {
    const uint32_t id = make(Kind::kTuple);
    obj(id).items = std::move(items);
    return id;
  }
  uint32_t expect(uint32_t id, Kind kind, std::string_view what) {
    if (obj(id).kind != kind)
      fail(absl::StrCat(sv(what), " must be ", sv(kind_name(kind)), ", found ",
                        sv(kind_name(obj(id).kind))));
    return id;
  }
  void memo_put(uint64_t key) { memo_[key] = top(); }
  void memo_get(uint64_t key) {
    auto it = memo_.find(key);
    if (it == memo_.end()) fail(absl::StrCat("memo key ", key, " was never stored (memo miss)"));
    push(it->second);
  }
  void add_items(uint32_t container, const std::vector<uint32_t>& items, Kind kind) {
    expect(container, kind, kind == Kind::kDict ? "SETITEMS target" : "APPENDS target");
    if (kind == Kind::kDict && items.size() % 2 != 0) fail("SETITEMS with an odd item count");
    auto& dst = obj(container).items;
    dst.insert(dst.end(), items.begin(), items.end());
  }

  // ---- torch ----
  void global(const std::string& module, const std::string& name);
  void reduce();
  void persistent_load();
  int64_t int_arg(uint32_t id, std::string_view what, int64_t min);
  std::vector<int64_t> int_tuple(uint32_t id, std::string_view what);
  PickledStateDict result(uint32_t id);

  absl::Span<const uint8_t> code_;
  const ByteSource& source_;
  std::string_view entry_;
  size_t pos_ = 0;
  size_t op_pos_ = 0;

  std::deque<Object> objects_;
  std::vector<uint32_t> stack_;
  std::vector<size_t> marks_;
  absl::flat_hash_map<uint64_t, uint32_t> memo_;
  std::vector<Storage> storages_;
  absl::flat_hash_map<std::string, size_t> storage_by_key_;
  std::vector<TensorView> tensors_;  // indexed by kTensor objects' `integer`
};

void Machine::global(const std::string& module, const std::string& name) {
  for (size_t i = 0; i < std::size(kGlobals); ++i) {
    if (kGlobals[i].module == module && kGlobals[i].name == name) {
      push(make(Kind::kGlobal, static_cast<int64_t>(i)));
      return;
    }
  }
  fail(absl::StrCat("unsupported global ", module, ".", name,
                    " (kiln loads state dicts of tensors only)"));
}

int64_t Machine::int_arg(uint32_t id, std::string_view what, int64_t min) {
  expect(id, Kind::kInt, what);
  if (obj(id).integer < min) fail(absl::StrCat(sv(what), " is negative (", obj(id).integer, ")"));
  return obj(id).integer;
}

std::vector<int64_t> Machine::int_tuple(uint32_t id, std::string_view what) {
  expect(id, Kind::kTuple, what);
  std::vector<int64_t> out;
  for (uint32_t item : obj(id).items) out.push_back(int_arg(item, what, 0));
  return out;
}

void Machine::reduce() {
  const uint32_t args = expect(pop(), Kind::kTuple, "REDUCE arguments");
  const uint32_t callable = expect(pop(), Kind::kGlobal, "REDUCE callable");
  const KnownGlobal& g = kGlobals[obj(callable).integer];
  // A reference: objects live in a deque, which never moves them.
  const std::vector<uint32_t>& a = obj(args).items;
  switch (g.global) {
    case Global::kOrderedDict:
      if (!a.empty()) fail("OrderedDict with arguments is not supported");
      push(make(Kind::kDict));
      return;
    case Global::kRebuildTensorV2: {
      // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
      if (a.size() != 6 && a.size() != 7)
        fail(absl::StrCat("_rebuild_tensor_v2 takes 6 or 7 arguments, got ", a.size()));
      TensorView t;
      t.storage = static_cast<size_t>(obj(expect(a[0], Kind::kStorage, "tensor storage")).integer);
      t.offset = int_arg(a[1], "tensor storage offset", 0);
      t.sizes = int_tuple(a[2], "tensor size");
      t.strides = int_tuple(a[3], "tensor stride");
      t.requires_grad = obj(expect(a[4], Kind::kBool, "tensor requires_grad")).integer != 0;
      if (t.sizes.size() != t.strides.size())
        fail(absl::StrCat("tensor has ", t.sizes.size(), " sizes but ", t.strides.size(),
                          " strides"));
      // PyTorch's own limit; it also bounds what each copy of the view description costs.
      if (t.sizes.size() > kMaxRank)
        fail(absl::StrCat("tensor has ", t.sizes.size(), " dimensions, more than ", kMaxRank));
      tensors_.push_back(std::move(t));
      push(make(Kind::kTensor, static_cast<int64_t>(tensors_.size() - 1)));
      return;
    }
    case Global::kRebuildParameter:
    case Global::kRebuildParameterWithState: {
      // (data, requires_grad, backward_hooks[, state]): a Parameter is its data tensor.
      const size_t want = g.global == Global::kRebuildParameter ? 3 : 4;
      if (a.size() != want)
        fail(absl::StrCat(sv(g.name), " takes ", want, " arguments, got ", a.size()));
      TensorView t =
          tensors_[static_cast<size_t>(obj(expect(a[0], Kind::kTensor, "parameter data")).integer)];
      t.requires_grad = obj(expect(a[1], Kind::kBool, "parameter requires_grad")).integer != 0;
      tensors_.push_back(std::move(t));
      push(make(Kind::kTensor, static_cast<int64_t>(tensors_.size() - 1)));
      return;
    }
    case Global::kStorageType:
      fail(absl::StrCat("cannot call torch.", sv(g.name)));
  }
}

void Machine::persistent_load() {
  // ('storage', storage_type, key, location, numel), as torch.save's persistent_id writes.
  const uint32_t pid = expect(pop(), Kind::kTuple, "persistent id");
  const std::vector<uint32_t>& a = obj(pid).items;
  if (a.size() != 5 || obj(a[0]).kind != Kind::kString || obj(a[0]).text != "storage")
    fail("persistent id is not ('storage', type, key, location, numel)");
  const KnownGlobal& type = kGlobals[obj(expect(a[1], Kind::kGlobal, "storage type")).integer];
  if (type.global != Global::kStorageType)
    fail(absl::StrCat("storage type must be a torch storage class, found ", sv(type.module), ".",
                      sv(type.name)));
  const std::string& key = obj(expect(a[2], Kind::kString, "storage key")).text;
  expect(a[3], Kind::kString, "storage location");  // any device: tensors go to map_location
  const auto numel = static_cast<uint64_t>(int_arg(a[4], "storage size", 0));
  auto [it, inserted] = storage_by_key_.emplace(key, storages_.size());
  if (inserted) {
    storages_.push_back(Storage{key, type.dtype, numel});
  } else {
    const Storage& s = storages_[it->second];
    if (s.dtype != type.dtype || s.numel != numel)
      fail(absl::StrCat("storage '", key, "' is described twice, differently"));
  }
  push(make(Kind::kStorage, static_cast<int64_t>(it->second)));
}

PickledStateDict Machine::result(uint32_t id) {
  expect(id, Kind::kDict, "the pickled object (a state dict)");
  PickledStateDict out;
  out.storages = storages_;
  absl::flat_hash_set<std::string> names;
  const std::vector<uint32_t>& items = obj(id).items;
  for (size_t i = 0; i + 1 < items.size(); i += 2) {
    const Object& key = obj(items[i]);
    const Object& value = obj(items[i + 1]);
    if (key.kind != Kind::kString)
      fail(absl::StrCat("state dict key must be a str, found ", sv(kind_name(key.kind))));
    if (value.kind != Kind::kTensor)
      fail(absl::StrCat("state dict entry '", key.text, "' is ", sv(kind_name(value.kind)),
                        ", not a tensor"));
    if (!names.insert(key.text).second)
      fail(absl::StrCat("duplicate state dict key '", key.text, "'"));
    TensorView t = tensors_[static_cast<size_t>(value.integer)];
    t.name = key.text;
    out.tensors.push_back(std::move(t));
  }
  return out;
}

PickledStateDict Machine::run() {
  if (code_.size() >= (size_t{1} << 31)) fail("pickle larger than 2 GiB");
  while (true) {
    op_pos_ = pos_;
    if (pos_ >= code_.size()) fail("truncated (no STOP opcode)");
    const uint8_t op = code_[pos_++];
    switch (op) {
      case 0x80: {  // PROTO
        const uint64_t proto = take_le(1);
        if (proto > 5) fail(absl::StrCat("unsupported pickle protocol ", proto));
        break;
      }
      case 0x95:  // FRAME: a length prefix only; the bytes follow inline.
        if (take_le(8) > code_.size() - pos_) fail("FRAME longer than the pickle");
        break;
      case '}':
        push(make(Kind::kDict));
        break;  // EMPTY_DICT
      case ']':
        push(make(Kind::kList));
        break;  // EMPTY_LIST
      case ')':
        push(make(Kind::kTuple));
        break;  // EMPTY_TUPLE
      case '(':
        marks_.push_back(stack_.size());
        break;      // MARK
      case 'X':     // BINUNICODE
      case 0x8c:    // SHORT_BINUNICODE
      case 0x8d: {  // BINUNICODE8
        const uint64_t n = take_le(op == 'X' ? 4 : op == 0x8c ? 1 : 8);
        const uint32_t id = make(Kind::kString);
        obj(id).text = take_string(n);
        push(id);
        break;
      }
      case 'q':
        memo_put(take_le(1));
        break;  // BINPUT
      case 'r':
        memo_put(take_le(4));
        break;  // LONG_BINPUT
      case 0x94:
        memo_put(memo_.size());
        break;  // MEMOIZE
      case 'h':
        memo_get(take_le(1));
        break;  // BINGET
      case 'j':
        memo_get(take_le(4));
        break;  // LONG_BINGET
      case 'J':
        push(make(Kind::kInt, static_cast<int32_t>(take_le(4))));
        break;  // BININT
      case 'K':
        push(make(Kind::kInt, static_cast<int64_t>(take_le(1))));
        break;  // BININT1
      case 'M':
        push(make(Kind::kInt, static_cast<int64_t>(take_le(2))));
        break;      // BININT2
      case 0x8a: {  // LONG1: little-endian two's complement of n bytes
        const uint64_t n = take_le(1);
        if (n > 8) fail(absl::StrCat("LONG1 of ", n, " bytes does not fit in 64 bits"));
        uint64_t v = n == 0 ? 0 : take_le(static_cast<int>(n));
        if (n > 0 && n < 8 && (v >> (8 * n - 1)) & 1) v |= ~uint64_t{0} << (8 * n);
        push(make(Kind::kInt, static_cast<int64_t>(v)));
        break;
      }
      case 'G': {  // BINFLOAT: big-endian double; kept only as a float object
        take(8);
        push(make(Kind::kFloat));
        break;
      }
      case 0x89:
        push(make(Kind::kBool, 0));
        break;  // NEWFALSE
      case 0x88:
        push(make(Kind::kBool, 1));
        break;  // NEWTRUE
      case 'N':
        push(make(Kind::kNone));
        break;  // NONE
      case 't':
        push(make_tuple(pop_mark()));
        break;      // TUPLE
      case 0x85:    // TUPLE1
      case 0x86:    // TUPLE2
      case 0x87: {  // TUPLE3
        std::vector<uint32_t> items(op - 0x84);
        for (size_t i = items.size(); i-- > 0;) items[i] = pop();
        push(make_tuple(std::move(items)));
        break;
      }
      case 'l': {  // LIST
        const uint32_t id = make(Kind::kList);
        obj(id).items = pop_mark();
        push(id);
        break;
      }
      case 'd': {  // DICT
        std::vector<uint32_t> items = pop_mark();
        const uint32_t id = make(Kind::kDict);
        add_items(id, items, Kind::kDict);
        push(id);
        break;
      }
      case 's': {  // SETITEM
        const uint32_t value = pop(), key = pop();
        add_items(top(), {key, value}, Kind::kDict);
        break;
      }
      case 'u': {  // SETITEMS
        std::vector<uint32_t> items = pop_mark();
        add_items(top(), items, Kind::kDict);
        break;
      }
      case 'a': {  // APPEND
        const uint32_t value = pop();
        add_items(top(), {value}, Kind::kList);
        break;
      }
      case 'e': {  // APPENDS
        std::vector<uint32_t> items = pop_mark();
        add_items(top(), items, Kind::kList);
        break;
      }
      case 'c': {  // GLOBAL "module\nname\n"
        std::string module = take_line();
        std::string name = take_line();
        global(module, name);
        break;
      }
      case 0x93: {  // STACK_GLOBAL
        const uint32_t name = expect(pop(), Kind::kString, "STACK_GLOBAL name");
        const uint32_t module = expect(pop(), Kind::kString, "STACK_GLOBAL module");
        global(obj(module).text, obj(name).text);
        break;
      }
      case 'R':
        reduce();
        break;   // REDUCE
      case 'b':  // BUILD: object state (a module's _metadata, a parameter's __dict__): ignored
        pop();
        top();
        break;
      case 'Q':
        persistent_load();
        break;  // BINPERSID
      case '0':
        pop();
        break;     // POP
      case '.': {  // STOP
        const uint32_t id = pop();
        return result(id);
      }
      default:
        fail(absl::StrFormat("unsupported or invalid pickle opcode 0x%02x", op));
    }
  }
}

}  // namespace

PickledStateDict unpickle_state_dict(absl::Span<const uint8_t> pickle, const ByteSource& source,
                                     std::string_view entry) {
  return Machine(pickle, source, entry).run();
}

}  // namespace kiln::io::pickle
