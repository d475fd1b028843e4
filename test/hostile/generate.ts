/**
 * The hostile inputs too large, too binary or too platform-specific to commit: written into a
 * folder at test time (`generateHostile(dir)`), next to copies of the committed ones.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Larger than the 4 MB a source file may have (files.ts MAX_SOURCE_BYTES): every line a convertible conv. */
function largeFile(): string {
  const lines = ['import torch.nn as nn', '', '', 'class Huge(nn.Module):', '    def __init__(self):', '        super().__init__()'];
  let size = lines.join('\n').length;
  for (let i = 0; size < 4.5 * 1024 * 1024; i++) {
    const line = `        self.conv${i} = nn.Conv2d(64, 64, 3, padding=1)`;
    lines.push(line);
    size += line.length + 1;
  }
  return lines.join('\n') + '\n';
}

/** Many models, each with its own input size: the report's total line must stay one short line. */
function manyModels(n: number): string {
  const out = ['import torch', 'import torch.nn as nn', ''];
  for (let i = 0; i < n; i++) {
    out.push(
      '',
      `class M${i}(nn.Module):  # sepconv: input=1x3x${8 + i}x${8 + i}`,
      '    def __init__(self):',
      '        super().__init__()',
      `        self.conv = nn.Conv2d(3, 8, 3)`,
      '',
      '    def forward(self, x):',
      '        return self.conv(x)',
      '',
    );
  }
  return out.join('\n');
}

/**
 * A name bound ten thousand times, half of them to one of a thousand convs and half to itself, and
 * read a thousand times: following reads through names must stay linear in what is bound.
 */
function manyAliases(): string {
  const out = ['import torch.nn as nn', '', '', 'class Net(nn.Module):', '    def __init__(self):', '        super().__init__()'];
  for (let i = 0; i < 1000; i++) out.push(`        self.c${i} = nn.Conv2d(8, 16, 3)`);
  for (let i = 0; i < 10000; i++) out.push(i % 2 ? '        x = x' : `        x = self.c${i % 1000}`);
  for (let i = 0; i < 1000; i++) out.push('        y = x.weight');
  return out.join('\n') + '\n';
}

/** CRLF line ends, a byte-order mark, tab indentation and non-ASCII names, strings and comments. */
const CRLF_BOM_TABS = [
  '\ufeff# Modèle: ünïcödé — 卷积网络',
  'import torch',
  'import torch.nn as nn',
  '',
  '',
  'class Net(nn.Module):',
  '\tdef __init__(self):',
  '\t\tsuper().__init__()',
  '\t\tgröße = 16  # Größe',
  '\t\tself.name = "résumé ✓"',
  '\t\tself.conv = nn.Conv2d(3, größe, 3, padding=1)  # 卷积',
  '',
  '\tdef forward(self, x):',
  '\t\treturn self.conv(x)',
  '',
  '',
  'INPUT = (1, 3, 32, 32)',
  '',
].join('\r\n');

/** Writes the generated inputs into `dir`; returns their names. */
export function generateHostile(dir: string): string[] {
  const files: Record<string, string | Buffer> = {
    'large.py': largeFile(),
    'many_models.py': manyModels(120),
    'many_aliases.py': manyAliases(),
    // one 800 KB line of `for` tokens after a read: the scans for loops that bind names stay linear
    'for_tokens.py': `import torch.nn as nn\nconv = nn.Conv2d(3, 8, 3)\nw = conv.weight\n${'for '.repeat(200000)}\n`,
    'crlf_bom_tabs.py': CRLF_BOM_TABS,
    'binary.py': Buffer.from([0x69, 0x6d, 0x70, 0x6f, 0x72, 0x74, 0x00, 0xff, 0xfe, 0x00, 0x01]),
    // 50,000 nested parentheses: deeper than any recursive walk of the tree could go
    'deep_parens.py': `import torch.nn as nn\nx = ${'('.repeat(50000)}1${')'.repeat(50000)}\nconv = nn.Conv2d(3, 16, 3)\n`,
  };
  for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), content);
  return Object.keys(files);
}
