// `npm run package`: builds the .vsix with @vscode/vsce. vsce runs `vscode:prepublish` (the esbuild
// bundles, the WASM grammars and the queries into dist/); `.vscodeignore` is an allow list. Nothing
// from node_modules is shipped: everything is bundled. Relative links in README.md stay relative
// (VS Code resolves them inside the installed extension, where docs/ screenshots are packaged).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const root = path.dirname(path.dirname(new URL(import.meta.url).pathname));
const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const out = path.join(root, `${manifest.name}-${manifest.version}.vsix`);
const vsce = path.join(root, 'node_modules', '@vscode', 'vsce', 'vsce');
execFileSync(
  process.execPath,
  [
    vsce,
    'package',
    '--no-dependencies',
    '--allow-missing-repository',
    '--no-rewrite-relative-links',
    '--out',
    out,
    ...process.argv.slice(2),
  ],
  {
    cwd: root,
    stdio: 'inherit',
  },
);
console.log(`packaged ${path.relative(process.cwd(), out) || out}`);
