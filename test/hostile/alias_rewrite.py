# Reads through names that have a counterpart in the Sequential are rewritten, not blocking:
# `first.out_channels` -> `first[-1].out_channels`, `m.in_channels` -> `m[0].in_channels`.
import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        conv = nn.Conv2d(3, 24, 3, padding=1)
        self.conv1 = conv
        self.conv2 = nn.Conv2d(24, 48, 3, padding=1, bias=False)
        first = self.conv1
        widths = [m.in_channels for m in (self.conv2,)]
        self.fc = nn.Linear(first.out_channels + widths[0], 10)

    def forward(self, x):
        y = self.conv1(x)
        z = self.conv2(y)
        pooled = torch.cat([y.mean((2, 3)), z.mean((2, 3))[:, : self.conv2.in_channels]], 1)
        return self.fc(pooled)


INPUT = (1, 3, 32, 32)
