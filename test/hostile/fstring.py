# A conv inside an f-string: Python 3.11 allows no line break there, so its rewrite stays on one line.
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.label = f"built {nn.Conv2d(64, 128, 3, padding=1, bias=False, padding_mode='zeros', dilation=1)} for a long description of the model"
        self.conv = nn.Conv2d(3, 16, 3, padding=1)

    def forward(self, x):
        return self.conv(x)


INPUT = (1, 3, 32, 32)
