# Hostile input (issue #12, item 1): a binary tree of modules 40 levels deep (2^40 leaves).
import torch.nn as nn


class Node(nn.Module):
    def __init__(self, depth):
        super().__init__()
        self.conv = nn.Conv2d(8, 8, 3, padding=1)
        if depth > 0:
            self.left = Node(depth - 1)
            self.right = Node(depth - 1)
        self.depth = depth

    def forward(self, x):
        x = self.conv(x)
        if self.depth > 0:
            x = self.left(x) + self.right(x)
        return x


class Tree(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.root = Node(40)

    def forward(self, x):
        return self.root(self.stem(x))
