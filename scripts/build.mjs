// Bundles the CLI (and, when present, the language server and the VS Code client) with esbuild and
// copies the WASM grammars and the queries next to the bundles: dist/ is self-contained.
// The command, the server and its analysis thread start through V8's code cache
// (src/start/compileCache.ts): their bundles are <name>.bundle.js, and <name>.js is a stub that
// loads its bundle through dist/compile-cache.js.
import { build } from 'esbuild';
import * as fs from 'node:fs';
import { isBuiltin } from 'node:module';
import * as path from 'node:path';

// SEPCONV_DIST=<folder> SEPCONV_ENTRIES=cli builds only the named bundles elsewhere (the tests of the bundle)
const root = path.dirname(path.dirname(new URL(import.meta.url).pathname));
const dist = process.env.SEPCONV_DIST ?? path.join(root, 'dist');
fs.rmSync(dist, { recursive: true, force: true });

const only = process.env.SEPCONV_ENTRIES?.split(',');
const entries = [
  ['src/cli/index.ts', 'cli.js'],
  ['src/server/index.ts', 'server.js'],
  // the server's analysis worker thread (src/server/workerThread.ts starts it next to server.js)
  ['src/server/workerIndex.ts', 'analysis-worker.js', 'server'],
  // the server's checkpoint reader thread (src/server/weights.ts starts it next to server.js)
  ['src/server/checkpointReaderIndex.ts', 'checkpoint-reader.js', 'server'],
  ['src/extension/index.ts', 'extension.js'],
].filter(([src, out, part]) => fs.existsSync(path.join(root, src)) && (!only || only.includes(part ?? out.replace(/\.js$/, ''))));

/**
 * Bundles started through the code cache: when each start writes the cache (ms after it; at exit
 * when sooner), and whether it uses it (the command's --no-cache touches no cache).
 */
const CACHED = {
  'cli.js': [60_000, "!process.argv.includes('--no-cache')"],
  'server.js': [3000, 'true'],
  'analysis-worker.js': [5000, 'true'],
};
const bundleOf = (out) => (out in CACHED ? out.replace(/\.js$/, '.bundle.js') : out);
const cached = entries.filter(([, out]) => out in CACHED);
if (cached.length) entries.push(['src/start/compileCache.ts', 'compile-cache.js']);

await Promise.all(
  entries.map(([src, out]) =>
    build({
      entryPoints: [path.join(root, src)],
      outfile: path.join(dist, bundleOf(out)),
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      sourcemap: true,
      external: ['vscode'],
      // web-tree-sitter reads import.meta.url, which a CommonJS bundle does not have
      define: { 'import.meta.url': '__sepconvImportMetaUrl' },
      banner: { js: "const __sepconvImportMetaUrl = require('url').pathToFileURL(__filename).href; const __sepconvRequire = require;" },
      logLevel: 'warning',
    }),
  ),
);

// A script compiled with V8's cached data cannot import() (Node.js 20 loses its import callback:
// ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING), so web-tree-sitter's `await import("module")` becomes a
// require of the built-in module (through a name of its own: the function it is in declares a `var require`)
for (const [, out] of cached) {
  const file = path.join(dist, bundleOf(out));
  const text = fs.readFileSync(file, 'utf8').replace(/\bimport\((["'])([^"']+)\1\)/g, (call, _q, spec) => {
    if (!isBuiltin(spec)) throw new Error(`${bundleOf(out)}: import(${JSON.stringify(spec)}) of a file cannot run from the code cache`);
    return `Promise.resolve(__sepconvRequire(${JSON.stringify(spec)}))`;
  });
  if (/\bimport\(/.test(text)) throw new Error(`${bundleOf(out)}: an import() that is not a plain string`);
  fs.writeFileSync(file, text);
  fs.writeFileSync(
    path.join(dist, out),
    `// Starts ${bundleOf(out)} through V8's code cache (src/start/compileCache.ts).\n` +
      `require('./compile-cache.js').runBundle(require('path').join(__dirname, ${JSON.stringify(bundleOf(out))}), module, ${CACHED[out].join(', ')});\n`,
  );
}

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
