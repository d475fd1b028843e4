# Hostile input (issue #12, item 1): fib(40) computed the slow way in the constructor.
import torch.nn as nn


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


class Fib(nn.Module):
    def __init__(self):
        super().__init__()
        width = fib(40) % 64 + 1
        self.conv = nn.Conv2d(3, width, 3, padding=1)

    def forward(self, x):
        return self.conv(x)
