# Hostile input (issue #12, item 1): a constructor that never stops appending convs.
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.convs = nn.ModuleList(); c = 3
        while True:
            self.convs.append(nn.Conv2d(c, c + 1, 3, padding=1)); c = c + 1

    def forward(self, x): return self.convs[0](x)
