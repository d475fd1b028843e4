# A conv handed to weight_norm (wav2vec2's positional conv does this): weight_norm works on the
# conv's `weight`, which a Sequential does not have, so that conv must stay; the other converts.
import torch.nn as nn


INPUT = (1, 64, 100)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(64, 64, 9, padding=4, groups=4)
        self.conv = nn.utils.weight_norm(self.conv, name="weight", dim=2)
        self.other = nn.Conv1d(64, 64, 9, padding=4)

    def forward(self, x):
        return self.other(self.conv(x))
