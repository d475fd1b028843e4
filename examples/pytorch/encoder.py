"""A small image encoder, written the way such models usually are.

Run `sepconv report examples/` to see what each convolution costs and what its depthwise
separable form would save, and `sepconv apply --diff examples/` to see the rewrite.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


def conv3x3(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    """3x3 convolution with padding (torchvision style)."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1, bias=False)


class ResidualBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.conv_a = conv3x3(channels, channels)
        self.bn_a = nn.BatchNorm2d(channels)
        self.conv_b = conv3x3(channels, channels)
        self.bn_b = nn.BatchNorm2d(channels)

    def forward(self, x):
        out = F.relu(self.bn_a(self.conv_a(x)))
        return F.relu(x + self.bn_b(self.conv_b(out)))


class Encoder(nn.Module):
    def __init__(self, in_channels=3, features=16, num_classes=10):
        super().__init__()
        # stem: a wide 7x7 conv on the image, then a strided 3x3
        self.stem = nn.Conv2d(in_channels, features, kernel_size=7, stride=2, padding=3)
        self.conv1 = nn.Conv2d(features, features * 4, 3, stride=2, padding=1)
        self.conv2 = nn.Conv2d(in_channels=features * 4, out_channels=features * 8, kernel_size=3,padding=1,bias=False)
        self.bn2 = nn.BatchNorm2d(features * 8)
        self.block = ResidualBlock(features * 8)
        self.project = nn.Conv2d(features * 8, features * 8, 1)   # already pointwise
        self.head = nn.Linear(features * 8, num_classes)

    def forward(self, x):
        x = F.relu(self.stem(x))
        x = F.relu(self.conv1(x))
        x = F.relu(self.bn2(self.conv2(x)))
        x = self.project(self.block(x))
        return self.head(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


if __name__ == "__main__":
    model = Encoder()
    print(model(torch.randn(1, 3, 224, 224)).shape)
