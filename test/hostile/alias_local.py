# A conv built into a local variable, initialised through it, then stored: the rewrite turns the
# init of `conv.weight` (a Sequential has none) into inits of `conv[0].weight` and `conv[-1].weight`.
import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        conv = nn.Conv2d(3, 16, 3, padding=1)
        nn.init.kaiming_normal_(conv.weight)
        self.conv = conv
        self.head = nn.Conv2d(16, 32, 3, padding=1)

    def forward(self, x):
        return self.head(self.conv(x))


INPUT = (1, 3, 32, 32)
