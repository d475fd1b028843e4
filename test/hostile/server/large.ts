/**
 * The large hostile input of issue #12 (item 1): a generated model file of about 3.9 MB, just under
 * the 4 MB limit past which a document is left alone. Generated at test time, not stored.
 */

/** A file of distinct model classes, each with a few convs and a forward, of about `bytes` characters. */
export function largeModelFile(bytes = 3_900_000): string {
  const parts = ['import torch\nimport torch.nn as nn\n\n'];
  let size = parts[0].length;
  for (let i = 0; size < bytes; i++) {
    const c = 8 + (i % 56);
    const block = `
class Block${i}(nn.Module):
    def __init__(self, width=${c}):
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, 3, padding=1)
        self.conv2 = nn.Conv2d(width, width * 2, 3, padding=1, bias=False)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(width * 2, 10)

    def forward(self, x):
        x = torch.relu(self.conv2(torch.relu(self.conv1(x))))
        return self.fc(torch.flatten(self.pool(x), 1))

`;
    parts.push(block);
    size += block.length;
  }
  return parts.join('');
}
