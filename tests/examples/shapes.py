# Chapter "shapes": the Python program that examples/tutorial/shapes.cpp mirrors.
import torch


def P(x):
    print(str(x).replace("torch.", ""))


x = torch.arange(12)

print("== reshape ==")
P(x.reshape(3, 4))
P(x.reshape(2, -1))
print(list(x.reshape(2, 3, 2).shape))
P(x.reshape(3, 4).reshape(-1))
P(torch.reshape(x, (4, 3)))

print("== view shares storage ==")
v = x.view(3, 4)
P(v)
v[0, 0] = 100
P(x)
x[0] = 0
P(v[0])
print(v.is_contiguous())
print(list(v.stride()))

print("== transpose, t, permute ==")
m = torch.arange(6).reshape(2, 3)
P(m.t())
P(m.transpose(0, 1))
P(torch.transpose(m, 1, 0))
print(list(m.t().stride()))
c = torch.arange(24).reshape(2, 3, 4)
print(list(c.transpose(0, 2).shape))
p = c.permute(2, 0, 1)
print(list(p.shape))
print(list(p.stride()))
P(p[1])
print(list(torch.permute(c, (1, 2, 0)).shape))
print(list(c.permute(0, -1, -2).shape))

print("== contiguous ==")
mt = m.t()
print(mt.is_contiguous())
mc = mt.contiguous()
print(mc.is_contiguous())
print(list(mc.stride()))
P(mc.view(6))
P(mt.reshape(6))
print(m.contiguous().data_ptr() == m.data_ptr())
mt[0, 1] = 33
P(m)

print("== squeeze and unsqueeze ==")
s = torch.zeros(1, 3, 1, 2)
print(list(s.squeeze().shape))
print(list(s.squeeze(0).shape))
print(list(s.squeeze(1).shape))
print(list(s.squeeze(-2).shape))
r = torch.tensor([1, 2, 3])
P(r.unsqueeze(0))
P(r.unsqueeze(1))
print(list(r.unsqueeze(-1).shape))
print(list(torch.unsqueeze(r, 0).shape))
P(torch.squeeze(torch.tensor([[[5]]])))

print("== flatten ==")
P(c.flatten())
print(list(c.flatten(1).shape))
print(list(c.flatten(0, 1).shape))
P(torch.flatten(c, 1)[1])
P(torch.tensor(7).flatten())

print("== expand: broadcast without copying ==")
col = torch.tensor([[1], [2], [3]])
e = col.expand(3, 4)
P(e)
print(list(e.stride()))
P(col.expand(-1, 2))
P(torch.tensor([1, 2, 3]).expand(2, 3))
print(list(torch.tensor(5).expand(2, 2).shape))
P(torch.zeros(2, 3).expand_as(torch.zeros(4, 2, 3)).sum(0))
P(e.contiguous().is_contiguous())

print("== Sizes ==")
print(c.dim(), c.numel(), c.size(0), c.size(-1))
print(list(c.shape))
