/**
 * Shape mismatches the interpreter proves: a check PyTorch makes (a conv's in_channels, a Linear's
 * in_features, a norm's num_features, `torch.cat`, `@`, broadcasting) that fails with both sides
 * known exactly. The rules report them through `Host.mismatch` (the run goes on with an unknown
 * value, as for any failure); the interpreter keeps each with the user functions running at the
 * time (the forward pass's calls), and `plainMismatches` turns them into plain data with messages
 * (`conv2 expects 256 input channels, got 64`) once the model's run is over.
 *
 * Only what a run of the model's own input proves is kept: nothing while an undecidable condition
 * is explored (that side may never run), nothing outside `forward`.
 */
import type { Node } from 'web-tree-sitter';
import type { ChainStep, ShapeMismatch, SourceRef } from '../../model';
import type { FunctionObj, ModuleObj, V } from './values';

export type Check =
  | 'in_channels'
  | 'in_features'
  | 'num_features'
  | 'normalized_shape'
  | 'input_size'
  | 'embed_dim'
  | 'cat'
  | 'matmul'
  | 'broadcast';

/** What a rule found: which check, on which module (or operation), the two sides. */
export interface MismatchFact {
  check: Check;
  /** the module whose check failed */
  module?: ModuleObj;
  /** the operation, for a function's or an operator's check (`torch.cat`, `+`) */
  op?: string;
  expected: number | number[];
  got: number | number[];
  /** cat: the dimension whose sizes differ */
  dim?: number;
}

/** A user function running in `forward`: where it was called and with which `self`. */
export interface Frame {
  at: Node;
  fn: FunctionObj;
  self: V | undefined;
}

export interface RecordedMismatch extends MismatchFact {
  at: Node;
  frames: Frame[];
}

const shape = (v: number | number[]) => (Array.isArray(v) ? v.join('x') : String(v));

/** The message of a mismatch, with the module's name in the model (or the operation's). */
export function mismatchMessage(f: MismatchFact, what: string): string {
  const [e, g] = [shape(f.expected), shape(f.got)];
  switch (f.check) {
    case 'in_channels':
      return `${what} expects ${e} input channels, got ${g}`;
    case 'in_features':
      return `${what} expects ${e} features, got ${g}`;
    case 'num_features':
      return `${what} expects ${e} channels (num_features), got ${g}`;
    case 'normalized_shape':
      return `${what} expects a last dimension of ${e} (normalized_shape), got ${g}`;
    case 'input_size':
      return `${what} expects ${e} input features (input_size), got ${g}`;
    case 'embed_dim':
      return `${what} expects embed_dim ${e}, got ${g}`;
    case 'cat':
      return `${what}: sizes differ in dim ${f.dim}: ${e} and ${g}`;
    case 'matmul':
      return `${what}: ${e} @ ${g} cannot be multiplied`;
    case 'broadcast':
      return `\`${what}\`: shapes ${e} and ${g} do not broadcast`;
  }
}

/**
 * The mismatches of one run as plain data: positions (the analysed file's as file ''), module
 * paths in `root`, the chain of calls from the model's forward. `fileOf` names a node's file.
 */
export function plainMismatches(
  recorded: readonly RecordedMismatch[],
  root: ModuleObj,
  paths: Map<ModuleObj, string>,
  entryPath: string,
  fileOf: (n: Node) => string,
): ShapeMismatch[] {
  const ref = (n: Node): SourceRef => {
    const file = fileOf(n);
    return {
      file: file === entryPath ? '' : file,
      start: n.startIndex,
      end: n.endIndex,
      line: n.startPosition.row,
      column: n.startPosition.column,
    };
  };
  const moduleName = (m: ModuleObj | undefined): string | undefined => {
    if (!m) return undefined;
    const p = paths.get(m);
    if (p !== undefined) return p || (m.cls?.name ?? m.native?.type ?? 'the model');
    return m.native ? `nn.${m.native.type}` : m.cls?.name;
  };
  const out: ShapeMismatch[] = [];
  const seen = new Set<string>();
  for (const r of recorded) {
    // a functional conv or linear in a module's forward (a weight-standardised conv) is that module's
    const self = r.frames.at(-1)?.self;
    const owner =
      !r.module && (r.check === 'in_channels' || r.check === 'in_features') && self?.kind === 'module' ? paths.get(self.m) : undefined;
    const what = moduleName(r.module) ?? (owner ? `${owner} (${r.op})` : r.op) ?? '?';
    const message = mismatchMessage(r, what);
    const at = ref(r.at);
    const key = `${at.file}\u0000${at.start}\u0000${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const chain: ChainStep[] = r.frames.map((f, i) => {
      const self = f.self?.kind === 'module' ? f.self.m : undefined;
      const owner = f.fn.owner ? `${f.fn.owner.name}.${f.fn.name}` : `${f.fn.name}()`;
      const path = self && self !== root ? paths.get(self) : undefined;
      const enters = path ? `${owner} (${path})` : owner;
      // the model's own forward is entered with the model's input: its `def` stands for the call
      if (i === 0) return { at: ref(f.fn.node.childForFieldName('name') ?? f.fn.node), call: `def ${f.fn.name}`, enters };
      return { at: ref(f.at), call: firstLine(f.at.text), enters };
    });
    const site = r.module?.site;
    out.push({
      message,
      check: r.check,
      what,
      expected: r.expected,
      got: r.got,
      at,
      code: firstLine(r.at.text),
      chain,
      built: site
        ? { file: site.file === entryPath ? '' : site.file, start: site.start, end: site.end, line: site.line, column: site.column }
        : null,
    });
  }
  return out;
}

function firstLine(text: string): string {
  const first = text.split('\n')[0].trim();
  return first.length > 80 ? `${first.slice(0, 77)}…` : text.includes('\n') ? `${first}…` : first;
}
