# Comments on the arguments of a multi-line call stay next to the arguments they describe.
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(
            16,  # channels from the stem
            # doubled here
            32,
            kernel_size=3,
            padding=1,  # keeps the size
            groups=1,  # plain conv
        )

    def forward(self, x):
        return self.conv(x)


INPUT = (1, 16, 32, 32)
