# Chapter "indexing": the Python program that examples/tutorial/indexing.cpp mirrors.
import torch


def P(x):
    print(str(x).replace("torch.", ""))


x = torch.arange(12).reshape(3, 4)
P(x)

print("== Rows and single elements ==")
P(x[0])
P(x[-1])
P(x[1][2])
P(x[1, 2])
print(x[1, 2].item())

print("== Columns ==")
P(x[:, 0])
P(x[:, -1])
P(x[..., 1])

print("== Ranges and steps ==")
P(x[0:2])
P(x[1:])
P(x[:, 1:3])
P(x[::2])
P(x[:, ::2])
P(x[:, 1::2])
P(x[-2:, -2:])
P(x[0, 1:])

print("== New axes ==")
print(list(x[None].shape))
print(list(x[:, None].shape))
print(list(x[..., None].shape))
P(torch.tensor([1, 2, 3])[:, None])

print("== Lists of indices ==")
P(x[[0, 2]])
P(x[:, [0, 3]])
P(x[[0, 2], [1, 3]])
P(x[torch.tensor([[0, 1], [2, 0]])])
P(x[torch.tensor([2, 2, 0]), -1])
P(x[[-1, 0], 1:3])

print("== Boolean masks ==")
mask = x > 5
P(mask)
P(x[mask])
P(x[torch.logical_or(x < 3, x > 9)])
P(x[~mask])
P(x[torch.logical_and(x > 2, x < 8)])
P(x[torch.tensor([True, False, True])])
P(x[:, torch.tensor([False, True, True, False])])
P((x > 5).nonzero())

print("== Assigning with index_put_ ==")
y = x.clone()
y[0] = 100
P(y)
y[:, 1] = 0
P(y)
y[y > 8] = -1
P(y)
y[[0, 2], [0, 3]] = torch.tensor([7, 8])
P(y)
y[1] = torch.tensor([1, 2, 3, 4])
P(y)
y[1:, 2:] = torch.tensor([[50], [60]])
P(y)
y.index_put_((torch.tensor([0, 1]), torch.tensor([3, 3])), torch.tensor(5))
P(y)
f = torch.zeros(2, 3)
f[f == 0] = 0.5
f[0, 0] = 2
P(f)

print("== Basic indexing gives views, lists and masks give copies ==")
row = x[0]
row.add_(1000)
P(x)
picked = x[[0]]
picked.fill_(0)
P(picked)
P(x[0])
x[:, 3].zero_()
P(x)
