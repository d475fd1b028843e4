// The import rules of src/ (run by `npm run lint`), on the import graph TypeScript's own resolver
// gives:
//   - no runtime import cycles (type-only imports are erased and do not count);
//   - no framework imports another: src/analysis/<a>/ never imports src/analysis/<b>/ (every folder
//     directly under src/analysis is a framework, python, tfjs and the next one, except the shared
//     ones, SHARED below);
//   - no front end (src/cli, src/server, src/extension) imports another, except the server's client
//     contract (CONTRACT below), which the extension shares;
//   - front ends import no framework folder: they go through the registry (src/frameworks/index.ts);
//   - the core (src/analysis, src/refactor, src/weights) imports no front end.
// Usage: node scripts/check-imports.mjs [--graph]   (exit code 1 on a violation; --graph prints the edges)
import * as fs from 'node:fs';
import * as path from 'node:path';
import ts from 'typescript';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const SRC = path.join(ROOT, 'src');
const FRONT_ENDS = ['cli', 'server', 'extension'];
const CORE = ['analysis', 'refactor', 'weights'];
/** What the server shares with its clients: command ids and results, the settings' parsers. */
const CONTRACT = new Set(['server/protocol.ts', 'server/settings.ts']);
/** Folders under src/analysis that every framework shares (the interpreter kernel): not frameworks. */
const SHARED = new Set(['kernel']);

const files = [];
(function walk(dir) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p);
    else if (/\.tsx?$/.test(e.name) && !e.name.endsWith('.d.ts')) files.push(p);
  }
})(SRC);

const config = ts.getParsedCommandLineOfConfigFile(
  path.join(ROOT, 'tsconfig.json'),
  {},
  { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} },
);
const options = config?.options ?? { module: ts.ModuleKind.Node16, moduleResolution: ts.ModuleResolutionKind.Node16 };
const rel = (f) => path.relative(SRC, f).split(path.sep).join('/');

/** Every import of `file`: its target (resolved, inside src/) and whether it survives compilation. */
function importsOf(file) {
  const text = fs.readFileSync(file, 'utf8');
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const out = [];
  const add = (spec, runtime) => {
    const r = ts.resolveModuleName(spec, file, options, ts.sys).resolvedModule;
    if (!r || r.isExternalLibraryImport) return;
    const target = path.resolve(r.resolvedFileName);
    if (target.startsWith(SRC + path.sep)) out.push({ target, runtime });
  };
  const visit = (node) => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const c = node.importClause;
      const named = c?.namedBindings && ts.isNamedImports(c.namedBindings) ? c.namedBindings.elements : undefined;
      const typeOnly = !!c && (c.isTypeOnly || (!c.name && named !== undefined && named.length > 0 && named.every((e) => e.isTypeOnly)));
      add(node.moduleSpecifier.text, !typeOnly);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      const named = node.exportClause && ts.isNamedExports(node.exportClause) ? node.exportClause.elements : undefined;
      add(node.moduleSpecifier.text, !(node.isTypeOnly || (named !== undefined && named.length > 0 && named.every((e) => e.isTypeOnly))));
    } else if (
      ts.isImportEqualsDeclaration(node) &&
      ts.isExternalModuleReference(node.moduleReference) &&
      ts.isStringLiteral(node.moduleReference.expression)
    ) {
      add(node.moduleReference.expression.text, !node.isTypeOnly);
    } else if (ts.isCallExpression(node) && node.arguments.length === 1 && ts.isStringLiteral(node.arguments[0])) {
      // import('...') and require('...')
      if (node.expression.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(node.expression) && node.expression.text === 'require'))
        add(node.arguments[0].text, true);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      add(node.argument.literal.text, false);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

const graph = new Map(files.map((f) => [rel(f), importsOf(f).map((i) => ({ target: rel(i.target), runtime: i.runtime }))]));
if (process.argv.includes('--graph'))
  for (const [f, is] of graph) for (const i of is) console.log(`${f} -> ${i.target}${i.runtime ? '' : ' (type)'}`);

const problems = [];

// ---- layers ------------------------------------------------------------------------------------
const top = (f) => f.split('/')[0];
/** the framework folder a file is in (`python` for analysis/python/shapes/torch.ts), if any */
const framework = (f) => {
  const parts = f.split('/');
  return parts[0] === 'analysis' && parts.length > 2 && !SHARED.has(parts[1]) ? parts[1] : undefined;
};
for (const [from, imports] of graph) {
  for (const { target } of imports) {
    const [a, b] = [top(from), top(target)];
    const [fa, fb] = [framework(from), framework(target)];
    if (fa && fb && fa !== fb)
      problems.push(`${from} imports ${target}: a framework imports another (share through src/analysis or src/refactor instead)`);
    if (FRONT_ENDS.includes(a) && FRONT_ENDS.includes(b) && a !== b && !(a === 'extension' && CONTRACT.has(target))) {
      problems.push(`${from} imports ${target}: a front end imports another (move what they share into the core)`);
    }
    if (FRONT_ENDS.includes(a) && fb)
      problems.push(`${from} imports ${target}: a front end names a framework (go through the registry, src/frameworks/index.ts)`);
    if (CORE.includes(a) && FRONT_ENDS.includes(b)) problems.push(`${from} imports ${target}: the core imports a front end`);
  }
  const named = [...new Set(imports.map((i) => framework(i.target)).filter((f) => f !== undefined && f !== framework(from)))];
  if (named.length > 1)
    problems.push(
      `${from} imports ${named.join(' and ')}: one file, one framework (dispatch through the registry, src/frameworks/index.ts)`,
    );
}

// ---- cycles (Tarjan's strongly connected components over runtime imports) ------------------------
const index = new Map();
const low = new Map();
const stack = [];
const onStack = new Set();
const components = [];
let counter = 0;
function strongConnect(v) {
  index.set(v, counter);
  low.set(v, counter++);
  stack.push(v);
  onStack.add(v);
  for (const { target: w, runtime } of graph.get(v) ?? []) {
    if (!runtime) continue;
    if (!index.has(w)) {
      strongConnect(w);
      low.set(v, Math.min(low.get(v), low.get(w)));
    } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), index.get(w)));
  }
  if (low.get(v) === index.get(v)) {
    const c = [];
    let w;
    do {
      w = stack.pop();
      onStack.delete(w);
      c.push(w);
    } while (w !== v);
    const selfLoop = (graph.get(v) ?? []).some((i) => i.runtime && i.target === v);
    if (c.length > 1 || selfLoop) components.push(c.sort());
  }
}
for (const v of graph.keys()) if (!index.has(v)) strongConnect(v);

/** One cycle through `start` inside `members` (breadth-first: a shortest one), for the message. */
function cycleThrough(start, members) {
  const prev = new Map([[start, undefined]]);
  const queue = [start];
  while (queue.length) {
    const v = queue.shift();
    for (const { target: w, runtime } of graph.get(v) ?? []) {
      if (!runtime || !members.has(w)) continue;
      if (w === start) {
        const path = [v];
        for (let p = prev.get(v); p !== undefined; p = prev.get(p)) path.unshift(p);
        return [...path, start];
      }
      if (!prev.has(w)) {
        prev.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start];
}

for (const c of components) {
  const members = new Set(c);
  const cycles = c.map((f) => cycleThrough(f, members).join(' -> '));
  problems.push(`runtime import cycle among ${c.join(', ')}:\n  ${[...new Set(cycles)].join('\n  ')}`);
}

if (problems.length) {
  console.error(`import rules: ${problems.length} problem(s)\n${problems.map((p) => `- ${p}`).join('\n')}`);
  process.exit(1);
}
console.log(`import rules: ${graph.size} files, ${[...graph.values()].reduce((n, i) => n + i.length, 0)} imports, no cycle, layers kept`);
