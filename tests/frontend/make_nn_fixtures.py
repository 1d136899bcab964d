#!/usr/bin/python3
"""Generates nn_fixtures.inc: PyTorch's values for nn_test.cpp and optim_test.cpp (layer
initialisation after manual_seed, dropout masks, losses and their gradients, softmax, and the
parameters after 10 optimizer steps). Each row is {name, shape, values (row-major)}; the C++
tests rebuild the same inputs (from literals or from the seeded generator, which kiln reproduces
bit for bit) and compare.

Run with a Python that has torch (here: /usr/bin/python3, torch 1.13):
    /usr/bin/python3 tests/frontend/make_nn_fixtures.py > tests/frontend/nn_fixtures.inc
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

ROWS = []


def row(name, t):
    t = torch.as_tensor(t).detach()
    ROWS.append((name, list(t.shape), t.double().reshape(-1).tolist()))


# ---- initialisation (nn_test.cpp: LinearInit*, Init*) ----
torch.manual_seed(0)
m = nn.Linear(10, 1)
row("linear.seed0.weight", m.weight)
row("linear.seed0.bias", m.bias)

torch.manual_seed(42)
m = nn.Linear(4, 3)
row("linear.seed42.weight", m.weight)
row("linear.seed42.bias", m.bias)

# The generator advances layer by layer: a bias-less layer, then another.
torch.manual_seed(7)
a = nn.Linear(3, 5, bias=False)
b = nn.Linear(5, 2)
row("linear.seed7.a.weight", a.weight)
row("linear.seed7.b.weight", b.weight)
row("linear.seed7.b.bias", b.bias)

torch.manual_seed(1)
seq = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 1))
for name, p in seq.named_parameters():
    row("sequential.seed1." + name, p)

torch.manual_seed(3)
row("init.xavier_uniform", nn.init.xavier_uniform_(torch.empty(4, 5)))
row("init.kaiming_normal", nn.init.kaiming_normal_(torch.empty(6, 20), nonlinearity="relu"))
row("init.normal_small", nn.init.normal_(torch.empty(5), 1.0, 2.0))
row("init.uniform", nn.init.uniform_(torch.empty(2, 3), -2.0, 3.0))

# ---- dropout (nn_test.cpp: Dropout*) ----
torch.manual_seed(5)
row("dropout.p03", F.dropout(torch.ones(4, 6), 0.3, training=True))
torch.manual_seed(6)
row("dropout.p05_randn", F.dropout(torch.randn(3, 7), 0.5, training=True))

# ---- softmax and losses (nn_test.cpp: Softmax*, Loss*) ----
torch.manual_seed(10)
logits = torch.randn(4, 5)
targets = torch.tensor([1, 0, 4, 2])
ignored = torch.tensor([1, -100, 4, 2])
class_weight = torch.tensor([0.5, 1.0, 2.0, 1.5, 0.25])
probs = torch.softmax(torch.randn(4, 5), 1)
logits3 = torch.randn(2, 3, 4)
targets3 = torch.tensor([[0, 2, 1, 1], [2, 2, 0, 1]])
pred = torch.randn(3, 4)
goal = torch.randn(3, 4)
bin_target = torch.tensor([[1., 0., 1., 0.], [0., 0., 1., 1.], [1., 1., 0., 0.5]])
pos_weight = torch.tensor([1.0, 2.0, 0.5, 3.0])
elem_weight = torch.tensor([[1.0], [0.5], [2.0]])


def value_and_grad(name, fn, *inputs):
    """Rows NAME (the value) and NAME.grad0, NAME.grad1, ... (d sum(value) / d input)."""
    xs = [x.clone().requires_grad_() for x in inputs]
    out = fn(*xs)
    row(name, out)
    out.sum().backward()
    for i, x in enumerate(xs):
        row(f"{name}.grad{i}", x.grad)


value_and_grad("softmax.dim1", lambda x: torch.softmax(x, 1) * class_weight, logits)
value_and_grad("softmax.dim0", lambda x: torch.softmax(x, 0) * class_weight, logits)
value_and_grad("log_softmax.dim1", lambda x: torch.log_softmax(x, 1) * class_weight, logits)
row("softmax.large", torch.softmax(torch.tensor([[1000., 0., -1000.], [1., 2., 3.]]), 1))
row("log_softmax.large", torch.log_softmax(torch.tensor([[1000., 0., -1000.], [1., 2., 3.]]), 1))

value_and_grad("ce.mean", lambda x: F.cross_entropy(x, targets), logits)
value_and_grad("ce.sum", lambda x: F.cross_entropy(x, targets, reduction="sum"), logits)
value_and_grad("ce.none", lambda x: F.cross_entropy(x, targets, reduction="none"), logits)
value_and_grad("ce.weight", lambda x: F.cross_entropy(x, targets, weight=class_weight), logits)
value_and_grad("ce.ignore", lambda x: F.cross_entropy(x, ignored), logits)
value_and_grad("ce.ignore_none", lambda x: F.cross_entropy(x, ignored, reduction="none"), logits)
value_and_grad("ce.ignore_weight",
               lambda x: F.cross_entropy(x, ignored, weight=class_weight), logits)
value_and_grad("ce.smooth", lambda x: F.cross_entropy(x, targets, label_smoothing=0.1), logits)
value_and_grad("ce.smooth_ignore_weight",
               lambda x: F.cross_entropy(x, ignored, weight=class_weight, label_smoothing=0.2),
               logits)
value_and_grad("ce.smooth_ignore",
               lambda x: F.cross_entropy(x, ignored, label_smoothing=0.2), logits)
value_and_grad("ce.probs", lambda x: F.cross_entropy(x, probs), logits)
value_and_grad("ce.probs_weight_smooth",
               lambda x: F.cross_entropy(x, probs, weight=class_weight, label_smoothing=0.3),
               logits)
value_and_grad("ce.3d", lambda x: F.cross_entropy(x, targets3), logits3)
value_and_grad("ce.3d_none", lambda x: F.cross_entropy(x, targets3, reduction="none"), logits3)
value_and_grad("ce.1d", lambda x: F.cross_entropy(x, torch.tensor(3)), logits[0])
value_and_grad("nll.mean", lambda x: F.nll_loss(torch.log_softmax(x, 1), targets), logits)
value_and_grad("nll.raw_sum", lambda x: F.nll_loss(x, targets, reduction="sum"), logits)
row("nll.all_ignored", F.nll_loss(logits, torch.tensor([-100, -100, -100, -100])))

value_and_grad("mse.mean", lambda a, b: F.mse_loss(a, b), pred, goal)
value_and_grad("mse.sum", lambda a, b: F.mse_loss(a, b, reduction="sum"), pred, goal)
value_and_grad("mse.none", lambda a, b: F.mse_loss(a, b, reduction="none"), pred, goal)
value_and_grad("l1.mean", lambda a, b: F.l1_loss(a, b), pred, goal)
value_and_grad("bce_logits.mean",
               lambda x: F.binary_cross_entropy_with_logits(x, bin_target), pred * 10)
value_and_grad("bce_logits.pos_weight",
               lambda x: F.binary_cross_entropy_with_logits(x, bin_target, pos_weight=pos_weight,
                                                            reduction="sum"), pred)
value_and_grad("bce_logits.weight_none",
               lambda x: F.binary_cross_entropy_with_logits(x, bin_target, weight=elem_weight,
                                                            reduction="none"), pred)
value_and_grad("bce.mean", lambda x: F.binary_cross_entropy(torch.sigmoid(x), bin_target), pred)

# ---- optimizers (optim_test.cpp) ----
# A linear regression: W [3, 4] and b [3] from the generator, x [8, 4], y [8, 3]; each step
# computes mse_loss(x W^T + b, y), backward, step, zero_grad.
OPTIMIZERS = [
    ("sgd", lambda ps: torch.optim.SGD(ps, lr=0.1)),
    ("sgd_momentum", lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9)),
    ("sgd_nesterov", lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True)),
    ("sgd_dampening_wd", lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.8, dampening=0.3,
                                                    weight_decay=0.01)),
    ("sgd_maximize", lambda ps: torch.optim.SGD(ps, lr=0.01, momentum=0.5, maximize=True)),
    ("adam", lambda ps: torch.optim.Adam(ps, lr=0.1)),
    ("adam_wd_amsgrad", lambda ps: torch.optim.Adam(ps, lr=0.05, betas=(0.8, 0.99), eps=1e-6,
                                                    weight_decay=0.1, amsgrad=True)),
    ("adamw", lambda ps: torch.optim.AdamW(ps, lr=0.1)),
    ("adamw_amsgrad", lambda ps: torch.optim.AdamW(ps, lr=0.05, weight_decay=0.5, amsgrad=True)),
]


def regression():
    torch.manual_seed(20)
    w = torch.randn(3, 4).requires_grad_()
    b = torch.randn(3).requires_grad_()
    x = torch.randn(8, 4)
    y = torch.randn(8, 3)
    return w, b, x, y


for name, make in OPTIMIZERS:
    w, b, x, y = regression()
    opt = make([w, b])
    losses = []
    for _ in range(10):
        loss = F.mse_loss(x @ w.t() + b, y)
        losses.append(loss.item())
        loss.backward()
        opt.step()
        opt.zero_grad()
    row(f"optim.{name}.losses", torch.tensor(losses, dtype=torch.float64))
    row(f"optim.{name}.w", w)
    row(f"optim.{name}.b", b)
    for key, value in opt.state[w].items():
        if value is not None:  # SGD without momentum keeps momentum_buffer = None
            row(f"optim.{name}.state.{key}", value)


def cpp_double(v):
    if math.isnan(v):
        return "kNaN"
    if math.isinf(v):
        return "kInf" if v > 0 else "-kInf"
    if v == 0 and math.copysign(1, v) < 0:
        return "-0.0"
    return repr(float(v))


def main():
    print("// Generated by make_nn_fixtures.py from torch " + torch.__version__ + ". Do not edit.")
    print("// {name, shape, values (row-major)}")
    names = set()
    for name, shape, values in ROWS:
        assert name not in names, name
        names.add(name)
        dims = ", ".join(str(s) for s in shape)
        vals = ", ".join(cpp_double(v) for v in values)
        print(f'    {{"{name}", {{{dims}}}, {{{vals}}}}},')


if __name__ == "__main__":
    main()
