# Chapter "joining": the Python program that examples/tutorial/joining.cpp mirrors.
import torch


def P(x):
    print(str(x).replace("torch.", ""))


a = torch.tensor([[1, 2, 3], [4, 5, 6]])
b = torch.tensor([[7, 8, 9], [10, 11, 12]])

print("== cat joins along an existing dimension ==")
P(torch.cat([a, b]))
P(torch.cat([a, b], dim=0))
P(torch.cat([a, b], dim=1))
P(torch.cat([a, b], dim=-1))
P(torch.cat([a, b, a], dim=1))

print("== Sizes may differ along the joined dimension only ==")
row = torch.tensor([[0, 0, 0]])
P(torch.cat([a, row]))
col = torch.tensor([[-1], [-2]])
P(torch.cat([col, a, col], dim=1))
P(torch.cat([torch.tensor([1, 2]), torch.tensor([3]), torch.tensor([4, 5, 6])]))

print("== cat on 3-D tensors ==")
x = torch.arange(24).reshape(2, 3, 4)
print(list(torch.cat([x, x], 0).shape))
print(list(torch.cat([x, x], 1).shape))
print(list(torch.cat([x, x], 2).shape))
P(torch.cat([x, x * 10], 2)[0])

print("== The tutorial's example: three copies side by side ==")
tensor = torch.ones(4, 4)
tensor[:, 1] = 0
t1 = torch.cat([tensor, tensor, tensor], dim=1)
P(t1)

print("== stack adds a new dimension ==")
s0 = torch.stack([a, b])
print(list(s0.shape))
P(s0)
s1 = torch.stack([a, b], dim=1)
print(list(s1.shape))
P(s1)
s2 = torch.stack([a, b], dim=2)
print(list(s2.shape))
P(s2)
P(torch.stack([a, b], dim=-1).equal(s2))

print("== Stacking vectors into a matrix ==")
u = torch.tensor([1.0, 2.0, 3.0])
v = torch.tensor([4.0, 5.0, 6.0])
P(torch.stack([u, v]))
P(torch.stack([u, v], dim=1))
P(torch.stack([u, v, u + v]).sum(0))

print("== Mixed dtypes are promoted ==")
P(torch.cat([torch.tensor([1, 2]), torch.tensor([0.5])]))
P(torch.stack([torch.tensor([1, 2], dtype=torch.int32), torch.tensor([3, 4])]))
