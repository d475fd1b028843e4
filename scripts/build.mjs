// Bundles the CLI (and, when present, the language server and the VS Code client) with esbuild and
// copies the WASM grammars and the queries next to the bundles: dist/ is self-contained.
import { build } from 'esbuild';
import * as fs from 'node:fs';
import * as path from 'node:path';

// SEPCONV_DIST=<folder> SEPCONV_ENTRIES=cli builds only the named bundles elsewhere (the tests of the bundle)
const root = path.dirname(path.dirname(new URL(import.meta.url).pathname));
const dist = process.env.SEPCONV_DIST ?? path.join(root, 'dist');
fs.rmSync(dist, { recursive: true, force: true });

const only = process.env.SEPCONV_ENTRIES?.split(',');
const entries = [
  ['src/cli/index.ts', 'cli.js'],
  ['src/server/index.ts', 'server.js'],
  // the server's analysis worker thread (src/server/worker.ts starts it next to server.js)
  ['src/server/workerIndex.ts', 'analysis-worker.js', 'server'],
  // the server's checkpoint reader thread (src/server/weights.ts starts it next to server.js)
  ['src/server/checkpointReaderIndex.ts', 'checkpoint-reader.js', 'server'],
  ['src/extension/index.ts', 'extension.js'],
].filter(([src, out, part]) => fs.existsSync(path.join(root, src)) && (!only || only.includes(part ?? out.replace(/\.js$/, ''))));

await Promise.all(
  entries.map(([src, out]) =>
    build({
      entryPoints: [path.join(root, src)],
      outfile: path.join(dist, out),
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      sourcemap: true,
      external: ['vscode'],
      // web-tree-sitter reads import.meta.url, which a CommonJS bundle does not have
      define: { 'import.meta.url': '__sepconvImportMetaUrl' },
      banner: { js: "const __sepconvImportMetaUrl = require('url').pathToFileURL(__filename).href;" },
      logLevel: 'warning',
    }),
  ),
);

const wasm = path.join(dist, 'wasm');
fs.mkdirSync(wasm, { recursive: true });
for (const f of [
  'web-tree-sitter/tree-sitter.wasm',
  'tree-sitter-python/tree-sitter-python.wasm',
  'tree-sitter-javascript/tree-sitter-javascript.wasm',
  'tree-sitter-typescript/tree-sitter-typescript.wasm',
  'tree-sitter-typescript/tree-sitter-tsx.wasm',
]) {
  fs.copyFileSync(path.join(root, 'node_modules', f), path.join(wasm, path.basename(f)));
}
fs.cpSync(path.join(root, 'queries'), path.join(dist, 'queries'), { recursive: true });
console.log(`built ${entries.map(([, o]) => o).join(', ')} into dist/`);
