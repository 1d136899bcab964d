# Chapter "save_load" (PyTorch's "Save and Load the Model"): the Python program that
# examples/tutorial/save_load.cpp mirrors. kiln writes safetensors and this program writes
# torch.save files, so each reads back only its own file; a checkpoint is a nested dict here
# and one flat name -> tensor map in kiln.
import os

import torch
from torch import nn
import torch.nn.functional as F


def P(x):
    print(str(x).replace("torch.", ""))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 8)
        self.relu = nn.ReLU()
        self.fc2 = nn.Linear(8, 3)

    def forward(self, x):
        return self.fc2(self.relu(self.fc1(x)))


def same_weights(a, b):
    return list(a) == list(b) and all(torch.equal(a[k], b[k]) for k in a)


def train_step(model, optimizer, epoch):
    optimizer.zero_grad()
    loss = F.mse_loss(model(x), target)
    loss.backward()
    print("epoch %d: loss %.4f" % (epoch, loss.item()))
    optimizer.step()


path = "/tmp/kiln_tutorial_save_load_%d.pt" % os.getpid()
x = torch.tensor([[1.0, 2.0, 3.0, 4.0], [-1.0, 0.5, 0.0, 2.0]])
target = torch.tensor([[0.5, -1.0, 2.0], [1.0, 0.0, -0.5]])
torch.manual_seed(0)

print("== a model and its state dict ==")
model = Net()
print(model)
for name, t in model.state_dict().items():
    print(name, list(t.shape))

print("== save, then load into a fresh model ==")
torch.save(model.state_dict(), path)
fresh = Net()
print(same_weights(model.state_dict(), fresh.state_dict()))
result = fresh.load_state_dict(torch.load(path))
print(result.missing_keys, result.unexpected_keys)
print(same_weights(model.state_dict(), fresh.state_dict()))

print("== inference ==")
model.eval()
fresh.eval()
print(fresh.training)
with torch.no_grad():
    P(model(x))
    P(fresh(x))
    print(torch.equal(model(x), fresh(x)))

print("== the file holds named tensors ==")
loaded = torch.load(path)
print(list(loaded.keys()))
P(loaded["fc2.bias"])

print("== keys and shapes must match ==")
seq = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
print(seq)
print(list(seq.state_dict().keys()))
try:
    seq.load_state_dict(loaded)
except RuntimeError as e:
    print(e)
result = seq.load_state_dict(loaded, strict=False)
print(result.missing_keys)
print(result.unexpected_keys)
layer_index = {"fc1": "0", "fc2": "2"}
renamed = {}
for name, t in loaded.items():
    layer, rest = name.split(".", 1)
    renamed[layer_index[layer] + "." + rest] = t
print(list(renamed.keys()))
seq.load_state_dict(renamed)
seq.eval()
with torch.no_grad():
    print(torch.equal(seq(x), model(x)))
wide = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3))
try:
    wide.load_state_dict(renamed)
except RuntimeError as e:
    # The first line only: the next ones show shapes as torch.Size([8, 4]), kiln's as [8, 4].
    print(str(e).split("\n")[0])

print("== a training checkpoint ==")
model.train()
optimizer = torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.9)
for epoch in range(3):
    train_step(model, optimizer, epoch)
torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": 3}, path)

checkpoint = torch.load(path)
resumed = Net()
resumed_optimizer = torch.optim.SGD(resumed.parameters(), lr=0.02, momentum=0.9)
resumed.load_state_dict(checkpoint["model"])
resumed_optimizer.load_state_dict(checkpoint["optimizer"])
start = checkpoint["epoch"]
weights_only = Net()
weights_only_optimizer = torch.optim.SGD(weights_only.parameters(), lr=0.02, momentum=0.9)
weights_only.load_state_dict(checkpoint["model"])
train_step(model, optimizer, start)
train_step(resumed, resumed_optimizer, start)
train_step(weights_only, weights_only_optimizer, start)
print(same_weights(model.state_dict(), resumed.state_dict()))
print(same_weights(model.state_dict(), weights_only.state_dict()))
os.remove(path)
