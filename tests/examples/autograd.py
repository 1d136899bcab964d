# Chapter "autograd": the Python program that examples/tutorial/autograd.cpp mirrors.
import torch


def P(x):
    print(str(x).replace("torch.", ""))


print("== gradient basics ==")
x = torch.tensor(10.0, requires_grad=True, dtype=torch.float64)
f = x ** 2 + 20
print(x.requires_grad, f.requires_grad, x.is_leaf, f.is_leaf)
f.backward()
P(x.grad)
v = torch.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
y = (v ** 2 + 20).mean()
y.backward()
P(v.grad)
w = torch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
b = torch.tensor([0.5, -0.5], requires_grad=True)
out = (w @ torch.tensor([1.0, 2.0]) + b).relu().sum()
out.backward()
P(w.grad)
P(b.grad)

print("== no_grad ==")
with torch.no_grad():
    print((x * 2).requires_grad)
torch.set_grad_enabled(False)
print((x * 2).requires_grad)
torch.set_grad_enabled(True)
print((x * 2).requires_grad)

print("== gradients accumulate ==")
a = torch.tensor([10.0, 20.0, 30.0, 40.0], requires_grad=True, dtype=torch.float64)
for _ in range(3):
    (a ** 2 + 20).mean().backward()
    P(a.grad)
a.grad.zero_()
(a ** 2 + 20).mean().backward()
P(a.grad)

print("== gradient descent on x^2 ==")
x = torch.tensor(10.0, requires_grad=True, dtype=torch.float64)
for i in range(5000):
    f = x ** 2
    if x.grad is not None:
        x.grad.data.zero_()
    f.backward()
    x.data = x.data - 0.001 * x.grad
    if i % 1000 == 0:
        print('step %d: x = %.10f' % (i, x.item()))
print('%.10f' % x.item())

print("== detach ==")
x1 = torch.tensor([10.0, 20.0], requires_grad=True, dtype=torch.float64)
x2 = x1.detach()
P(x2)
print(x2.requires_grad)
x2.data = torch.tensor([100, 200])
P(x1)
P(x2)
