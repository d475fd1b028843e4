# A conv built into a local variable, initialised through it, then stored: the init reads
# `conv.weight`, which a Sequential does not have, so that conv must stay as it is.
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
