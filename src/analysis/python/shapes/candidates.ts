/**
 * Model candidates: what a file's classes and factories build when they are built as models (a
 * class with the values the user gave for its required parameters, a factory called without
 * arguments), with the stops and the user code each build went through. `models.ts` decides which
 * of them are models and runs them.
 */
import type { Node } from 'web-tree-sitter';
import type { AnalysisOptions } from '../../options';
import type { Pragmas } from '../../kernel/pragmas';
import type { Interp } from './interpreter';
import { named, returnStatements } from './nodes';
import { intV, type CallArgs, type ClassObj, type FunctionObj, type ModuleObj, type V } from './values';

/** A class, factory or example that may be a model: what it is and what its build made. */
export interface Candidate {
  name: string;
  className: string;
  line: number;
  start: number;
  build: string;
  /** the built module, or why it could not be built */
  module: ModuleObj | string;
  buildStops: string[];
  invoked: Set<FunctionObj | ClassObj>;
  example?: { input: number[]; line: number };
  kind: 'example' | 'factory' | 'class' | 'request';
  /** the class or function the candidate stands for */
  origin: ClassObj | FunctionObj | undefined;
  pragmaRow: number | undefined;
  node: Node;
}

/** Builds with the stops and user code it went through recorded. */
export interface Built {
  module: ModuleObj | string;
  stops: string[];
  invoked: Set<FunctionObj | ClassObj>;
}

/** Runs `what` as a build (the interpreter's `init` phase): the module it made, its stops, the user code it ran. */
export function build(interp: Interp, what: () => V): Built {
  const mark = interp.beginPhase('init');
  const v = what();
  const stops = interp.stopsSince(mark);
  return {
    module: v.kind === 'module' ? v.m : v.kind === 'unknown' ? v.why : `it builds a ${v.kind}, not a module`,
    stops,
    invoked: interp.invoked,
  };
}

/** A class as a model candidate: built with the values the user gave for its required parameters. */
export function classCandidate(interp: Interp, c: ClassObj, options: AnalysisOptions, ints: Pragmas): Candidate | undefined {
  const node = c.node;
  // a container without forward() (a Module that only holds layers) is not runnable
  const forward = interp.mro(c).some((x) => (typeof x === 'string' ? x !== 'torch.nn.Module' : x.attrs.has('forward')));
  if (!forward) return undefined;
  const init = interp.mro(c).find((x): x is ClassObj => typeof x !== 'string' && x.attrs.get('__init__')?.kind === 'function');
  const required = init ? requiredParams((init.attrs.get('__init__') as V & { kind: 'function' }).f, true) : [];
  const given = { ...ints.file.ints, ...ints.definitions.get(node.startPosition.row)?.ints };
  const kwargs = new Map<string, V>();
  for (const p of required) {
    const v = options.assumptions[p] ?? given[p];
    if (v === undefined) return undefined;
    kwargs.set(p, intV(v));
  }
  const a: CallArgs = { args: [], kwargs };
  const b = build(interp, () => interp.instantiate(c, a, node));
  const text = `${c.name}(${[...kwargs].map(([k, v]) => `${k}=${(v as { poly: { constant: number } }).poly.constant}`).join(', ')})`;
  return {
    name: c.name,
    className: c.name,
    line: node.startPosition.row,
    start: node.startIndex,
    build: text,
    module: b.module,
    buildStops: b.stops,
    invoked: b.invoked,
    kind: 'class',
    origin: c,
    pragmaRow: node.startPosition.row,
    node,
  };
}

/** A factory as a model candidate: called without arguments; undefined when what it returns is no module it names. */
export function factoryCandidate(interp: Interp, f: FunctionObj, node: Node, built?: Built): Candidate | undefined {
  const b = built ?? build(interp, () => interp.callFunction(f, { args: [], kwargs: new Map() }, node));
  // a factory whose build cannot be followed is still a model of the file: unknown, with the reason
  const className = typeof b.module === 'string' ? factoryClass(interp, f) : (b.module.cls?.name ?? b.module.native?.type ?? 'Module');
  if (className === undefined) return undefined;
  return {
    name: f.name,
    className,
    line: node.startPosition.row,
    start: node.startIndex,
    build: `${f.name}()`,
    module: b.module,
    buildStops: b.stops,
    invoked: b.invoked,
    kind: 'factory',
    origin: f,
    pragmaRow: node.startPosition.row,
    node,
  };
}

/** A function that returns what a call builds, and is not a script's entry point or a test. */
export function looksLikeFactory(f: FunctionObj): boolean {
  if (/^(main|train|test|run|evaluate|eval|fit|predict|benchmark|demo)(_|$)/.test(f.name)) return false;
  return returnStatements(f.node).some((r) => ['call', 'identifier'].includes(named(r)[0]?.type ?? ''));
}

/**
 * The module class a factory says it returns, for a factory whose build failed: its return
 * annotation (`-> ResNet`) or the class its `return` calls, when that is an nn.Module class.
 */
function factoryClass(interp: Interp, f: FunctionObj): string | undefined {
  const names = [f.node.childForFieldName('return_type')?.text.replace(/^.*\./, '') ?? ''];
  for (const r of returnStatements(f.node)) {
    const e = named(r)[0];
    if (e?.type === 'call') names.push(e.childForFieldName('function')?.text.replace(/^.*\./, '') ?? '');
  }
  for (const name of names) {
    const v = name ? f.env.globals.get(name) : undefined;
    if (v?.kind === 'class' && interp.nnBase(v.c)) return name;
  }
  return undefined;
}

/** Required parameters of a function (after `self` for methods). */
export function requiredParams(f: FunctionObj, skipSelf: boolean): string[] {
  const out: string[] = [];
  let first = true;
  for (const p of named(f.node.childForFieldName('parameters'))) {
    if (p.type === 'identifier' || (p.type === 'typed_parameter' && named(p)[0]?.type === 'identifier')) {
      const name = p.type === 'identifier' ? p.text : named(p)[0].text;
      if (!(first && skipSelf)) out.push(name);
    }
    if (p.type === 'keyword_separator' || p.type.includes('splat')) {
      first = false;
      continue;
    }
    first = false;
  }
  return out;
}
