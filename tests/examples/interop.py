# Chapter "interop" (the NumPy bridge): the Python program that
# examples/tutorial/interop.cpp mirrors, with NumPy arrays where C++ has std::vector.
# Arrays are printed as Python lists (n.tolist()), which is how the C++ prints a vector.
import numpy as np
import torch


def P(x):
    print(str(x).replace("torch.", ""))


print("== Wrapping an array shares its memory ==")
n = np.ones(5, dtype=np.float32)
t = torch.from_numpy(n)
P(t)
np.add(n, 1, out=n)
P(t)
t.mul_(3)
print(n.tolist())
t[0] = 100
print(n.tolist())

print("== The tensor's own memory, seen as an array ==")
t = torch.ones(5)
n = t.numpy()
t.add_(1)
print(n.tolist())
n[4] = 42
P(t)

print("== A shape over flat memory ==")
flat = np.arange(6, dtype=np.int64)
m = torch.from_numpy(flat).reshape(2, 3)
P(m)
m[1, 2] = -1
print(flat.tolist())
P(m.t())
m.t()[0, 1] = 7
print(flat.tolist())

print("== Copying with tensor(...) ==")
n = np.array([1, 2, 3], dtype=np.int64)
c = torch.tensor(n)
c[0] = 100
P(c)
print(n.tolist())
n[1] = 200
P(c)

print("== The element type is kept ==")
P(torch.tensor(np.array([0.5, 0.25], dtype=np.float64)))
P(torch.tensor(np.array([1, 2, 3], dtype=np.int32)))
P(torch.tensor(np.array([7, 8], dtype=np.uint8)))
P(torch.tensor(np.array([True, False, True])))
P(torch.tensor(np.array([0.5, 0.25], dtype=np.float64), dtype=torch.float32))

print("== clone() and results of operations do not follow later writes ==")
n = np.zeros(3, dtype=np.float32)
shared = torch.from_numpy(n)
copied = shared.clone()
shifted = shared + 1
n[:] = 5
P(shared)
P(copied)
P(shifted)
shared.fill_(7)
P(copied)
print(n.tolist())

print("== Back to plain values ==")
t = torch.tensor([[1.0, 2.5], [-3.0, 4.0]])
print(t.flatten().tolist())
print(t.sum().item())
print(torch.tensor([4, 5, 6]).tolist())
print(torch.tensor([4, 5, 6]).sum().item())
