# Hostile input (issue #12, item 1): a ModuleList built by a comprehension over range(100000).
import torch.nn as nn


class Wide(nn.Module):
    def __init__(self):
        super().__init__()
        self.convs = nn.ModuleList([nn.Conv2d(16, 16, 3, padding=1) for _ in range(100000)])

    def forward(self, x):
        for conv in self.convs:
            x = conv(x)
        return x
