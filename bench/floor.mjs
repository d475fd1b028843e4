// The floor under `sepconv report` on this machine: what the command must do before any analysis.
// It starts Node, walks the corpus, reads every file, applies the command's text prefilter and
// parses (web-tree-sitter, the bundle's WASM) the files that pass it, Python on the main thread and
// JavaScript/TypeScript on one worker, as the command spreads them. It analyses nothing.
// Usage: node bench/floor.mjs <folder>...   (prints the number of files parsed per family)
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { Language, Parser } from 'web-tree-sitter';

const wasm = path.join(path.dirname(path.dirname(new URL(import.meta.url).pathname)), 'dist', 'wasm');
// the command's prefilters (src/analysis/python/analyze.ts MAY_HOLD_CONV, src/analysis/tfjs/analyze.ts MAY_USE_TFJS)
const PYTHON = /Conv(?:Transpose)?[123]d/;
const TFJS = /tensorflow|\btf\b|\blayers\b/;

async function parser(grammar) {
  await Parser.init({ locateFile: () => path.join(wasm, 'tree-sitter.wasm') });
  const p = new Parser();
  p.setLanguage(await Language.load(fs.readFileSync(path.join(wasm, `tree-sitter-${grammar}.wasm`))));
  return p;
}

function parseAll(files, pattern, parserFor) {
  let parsed = 0;
  for (const f of files) {
    const text = fs.readFileSync(f, 'utf8');
    if (!pattern.test(text)) continue;
    parserFor(f).parse(text).delete();
    parsed++;
  }
  return parsed;
}

if (isMainThread) {
  const walk = (d) =>
    fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)]));
  const files = process.argv.slice(2).flatMap(walk);
  const worker = new Worker(new URL(import.meta.url), { workerData: files.filter((f) => /\.(js|ts)$/.test(f)) });
  const tfjs = new Promise((resolve, reject) => worker.on('message', resolve).on('error', reject));
  const py = await parser('python');
  const python = parseAll(
    files.filter((f) => f.endsWith('.py')),
    PYTHON,
    () => py,
  );
  console.log(JSON.stringify({ python, tfjs: await tfjs }));
  await worker.terminate();
} else {
  const js = await parser('javascript');
  const ts = await parser('typescript');
  parentPort.postMessage(parseAll(workerData, TFJS, (f) => (f.endsWith('.ts') ? ts : js)));
}
