/** The interpreter's files and imports: a file's top level run once (definitions on first lookup), `import` and `from ... import` through the program's files and libraries. */
import * as path from 'node:path';
import type { Node } from 'web-tree-sitter';
import { canonical } from '../imports';
import type { Interp, Phase } from './interpreter';
import { isMainGuard, named } from './nodes';
import { MAX_FILES } from './program';
import { force, NONE, strV, unknown, type ModuleEnv, type Scope, type SourceFile, type V } from './values';

/** Runs a file's top level once (the `__main__` guard is left for discovery) and returns its namespace. */
export function moduleEnv(ip: Interp, file: SourceFile): ModuleEnv {
  const key = file.path || '<buffer>';
  const known = ip.envs.get(key);
  if (known) return known;
  const env: ModuleEnv = { file, globals: new Map(), name: file === ip.program.entry ? '__main__' : path.basename(file.path, '.py') };
  ip.envs.set(key, env);
  ip.memo.unsettled();
  env.globals.set('__name__', strV(env.name));
  const saved = ip.phase;
  const savedFile = ip.topLevelOf;
  ip.phase = 'module';
  ip.topLevelOf = file;
  const scope = ip.moduleScope(env);
  const lazy = ip.lazyDefinitions && file === ip.program.entry;
  const bound = new Set<string>();
  const opaque: Node[] = [];
  const deferred: string[] = [];
  const assigned = new Set<string>();
  for (const stmt of named(file.root)) {
    // a statement that starts with `class X` or `def X` defines X (read off the text: in a file of
    // hundreds of classes a node query per statement costs more than the run of one model)
    const name = lazy ? definedAt(file.text, stmt.startIndex) : undefined;
    if (name) {
      // a plain definition: run when first looked up
      if (bound.has(name)) ip.lazyUnsafe = true;
      bound.add(name);
      env.globals.set(name, lazyDefinition(ip, stmt, name, scope, file));
      deferred.push(name);
      continue;
    }
    if (isMainGuard(stmt)) continue;
    if (lazy) {
      const names = topLevelNames(stmt);
      if (!names) opaque.push(stmt);
      for (const n of names ?? []) {
        if (bound.has(n)) ip.lazyUnsafe = true;
        bound.add(n);
        if (!stmt.type.startsWith('import')) assigned.add(n);
      }
      // `CFG.update(...)` after a definition whose body may have read CFG: order matters
      const mutated = mutatedName(stmt);
      if (mutated && assigned.has(mutated) && deferred.length) ip.lazyUnsafe = true;
    }
    ip.execStmt(stmt, scope);
  }
  // a name bound both by a definition and inside an `if` or `try` at the top level: order matters
  if (lazy && opaque.some((stmt) => deferred.some((name) => new RegExp(`\\b${name}\\b`).test(stmt.text)))) ip.lazyUnsafe = true;
  ip.phase = saved;
  ip.topLevelOf = savedFile;
  return env;
}

/** A `def` or `class` statement run on the first lookup of its name, as the module's top level would. */
export function lazyDefinition(ip: Interp, stmt: Node, name: string, scope: Scope, file: SourceFile): V {
  return deferredValue(ip, name, 'module', file, () => {
    ip.execStmt(stmt, scope);
    const v = scope.env.globals.get(name);
    return v && v.kind !== 'lazy' ? v : undefined;
  });
}

/**
 * A value computed on its first read, once, in the phase and top level given (its definition's, not
 * the reader's); read while it is being computed (or when `compute` gives nothing), it is unknown.
 */
export function deferredValue(ip: Interp, name: string, phase: Phase, top: SourceFile | undefined, compute: () => V | undefined): V {
  let done: V | undefined;
  return {
    kind: 'lazy',
    get: () => {
      if (done) return done;
      done = unknown(`\`${name}\` is defined in terms of itself`);
      ip.memo.unsettled();
      const saved = [ip.phase, ip.topLevelOf] as const;
      [ip.phase, ip.topLevelOf] = [phase, top];
      try {
        done = compute() ?? done;
      } finally {
        [ip.phase, ip.topLevelOf] = saved;
      }
      return done;
    },
  };
}

export function importStatement(ip: Interp, stmt: Node, scope: Scope): void {
  for (const n of named(stmt)) {
    if (n.type === 'aliased_import') {
      const dotted = n.childForFieldName('name')!.text.replace(/\s+/g, '');
      ip.setName(n.childForFieldName('alias')!.text, lazyImport(ip, scope.env, 0, dotted, undefined), scope);
    } else if (n.type === 'dotted_name') {
      const dotted = n.text.replace(/\s+/g, '');
      const head = dotted.split('.')[0];
      ip.setName(head, lazyImport(ip, scope.env, 0, head, undefined), scope);
    }
  }
}

export function importModule(ip: Interp, env: ModuleEnv, dots: number, dotted: string): V {
  const file = ip.program.resolve(env.file.path, dots, dotted);
  if (file) return { kind: 'pymodule', env: moduleEnv(ip, file) };
  if (dots > 0)
    return unknown(
      `\`from ${'.'.repeat(dots)}${dotted} import\`: ${ip.program.limited ? `not read, ${MAX_FILES} files were read already` : 'file not found'}`,
    );
  const missing = ip.program.missing(dotted);
  return missing ? unknown(missing) : { kind: 'lib', path: dotted };
}

/** An imported name whose file runs only when the name is first read: most imports go unused. */
export function lazyImport(ip: Interp, env: ModuleEnv, dots: number, dotted: string, name: string | undefined): V {
  let done: V | undefined;
  const self: V = {
    kind: 'lazy',
    get: () => {
      if (done) return done;
      done = unknown(`shape unknown after importing \`${name ?? dotted}\` (an import cycle)`);
      const from = importModule(ip, env, dots, dotted);
      // a package importing its own submodule (`from . import layers` in its __init__.py) finds this very binding
      const own = name !== undefined && from.kind === 'pymodule' ? from.env.globals.get(name) : undefined;
      if (name === undefined || from.kind !== 'pymodule') done = from;
      else done = force(own !== undefined && own !== self ? own : importModule(ip, env, dots, dotted ? `${dotted}.${name}` : name));
      return done;
    },
  };
  return self;
}

export function importFrom(ip: Interp, stmt: Node, scope: Scope): void {
  const moduleNode = stmt.childForFieldName('module_name')!;
  let dots = 0;
  let dotted = moduleNode.text.replace(/\s+/g, '');
  if (moduleNode.type === 'relative_import') {
    const prefix = named(moduleNode).find((n) => n.type === 'import_prefix');
    dots = prefix ? prefix.text.length : 0;
    dotted = dotted.slice(dots);
  }
  // a user file is only run when one of its names is read (or for `import *`)
  const local = dots > 0 || ip.program.resolve(scope.env.file.path, dots, dotted) !== null;
  const star = named(stmt).some((n) => n.type === 'wildcard_import');
  const from: V = local && !star ? NONE : importModule(ip, scope.env, dots, dotted);
  const bind = (name: string, alias: string) => {
    let v: V;
    if (local && !star) {
      v = lazyImport(ip, scope.env, dots, dotted, name);
    } else if (from.kind === 'pymodule') {
      v = from.env.globals.get(name) ?? importModule(ip, scope.env, dots, dotted ? `${dotted}.${name}` : name);
    } else if (from.kind === 'lib') {
      v = { kind: 'lib', path: `${dotted}.${name}` };
    } else {
      v = from;
    }
    ip.setName(alias, v, scope);
  };
  for (const n of named(stmt)) {
    if (n.id === moduleNode.id) continue;
    if (n.type === 'aliased_import') bind(n.childForFieldName('name')!.text, n.childForFieldName('alias')!.text);
    else if (n.type === 'dotted_name') bind(n.text, n.text);
    else if (n.type === 'wildcard_import' && from.kind === 'pymodule') {
      for (const [k, v] of from.env.globals) if (!k.startsWith('_')) ip.setName(k, v, scope);
    } else if (n.type === 'wildcard_import' && from.kind === 'lib' && canonical(dotted) === 'torch.nn') {
      scope.env.globals.set('__star_torch_nn__', { kind: 'lib', path: 'torch.nn' });
    }
  }
}

/**
 * The names a top-level statement binds: `def`/`class` names, assignment targets, imported names;
 * undefined for a compound statement (`if`, `try`, loops), whose bindings do not show.
 */
function topLevelNames(stmt: Node): string[] | undefined {
  const def = stmt.type === 'decorated_definition' ? stmt.childForFieldName('definition') : stmt;
  if (def && (def.type === 'class_definition' || def.type === 'function_definition')) return [def.childForFieldName('name')?.text ?? ''];
  if (stmt.type === 'import_statement' || stmt.type === 'import_from_statement') {
    return stmt.text
      .replace(/^[\s\S]*?\bimport\b/, '')
      .split(',')
      .map((part) => /(\w+)\s*\)?\s*$/.exec(part)?.[1] ?? '')
      .filter(Boolean);
  }
  if (stmt.type !== 'expression_statement')
    return stmt.type.endsWith('_statement') &&
      !['if_statement', 'for_statement', 'while_statement', 'try_statement', 'with_statement', 'match_statement'].includes(stmt.type)
      ? []
      : undefined;
  const inner = named(stmt)[0];
  if (inner?.type === 'assignment' || inner?.type === 'augmented_assignment') {
    return (inner.childForFieldName('left')?.text ?? '').split(/[^\w]+/).filter((n) => /^[A-Za-z_]\w*$/.test(n));
  }
  return [];
}

const DEFINITION = /(?:async[ \t]+)?(?:def|class)[ \t]+([A-Za-z_]\w*)/y;

/** The name a `def` or `class` statement starting at `offset` defines. */
function definedAt(text: string, offset: number): string | undefined {
  DEFINITION.lastIndex = offset;
  return DEFINITION.exec(text)?.[1];
}

/** `X` of a top-level `X.method(...)` statement (which may change what X holds). */
function mutatedName(stmt: Node): string | undefined {
  const call = stmt.type === 'expression_statement' ? named(stmt)[0] : undefined;
  const fn = call?.type === 'call' ? call.childForFieldName('function') : undefined;
  const obj = fn?.type === 'attribute' ? fn.childForFieldName('object') : undefined;
  return obj?.type === 'identifier' ? obj.text : undefined;
}
