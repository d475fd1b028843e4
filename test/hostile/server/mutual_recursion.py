# Hostile input (issue #12, item 1): forward calls two methods that call each other without end.
import torch.nn as nn


class PingPong(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 16, 3, padding=1)

    def ping(self, x, n):
        return self.pong(self.conv(x) if n == 0 else x, n + 1)

    def pong(self, x, n):
        return self.ping(x, n + 1)

    def forward(self, x):
        return self.ping(x, 0)
