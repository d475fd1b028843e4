/**
 * After the rewrite a conv attribute is an `nn.Sequential`. Reads of its `.weight`, `.in_channels`
 * and friends either get a new meaning-preserving form (`.in_channels` -> `[0].in_channels`) or
 * block the conversion.
 */
import type { Node, Tree } from 'web-tree-sitter';
import type { Span } from '../model';
import { matchesOnRows, query, rowsMatching } from '../parsing';
import { enclosing } from './evaluate';

/** What a read becomes, or null when no single layer of the Sequential has that meaning. */
const REWRITES: Record<string, string | null> = {
  in_channels: '[0].in_channels',
  out_channels: '[-1].out_channels',
  kernel_size: '[0].kernel_size',
  stride: '[0].stride',
  padding: '[0].padding',
  dilation: '[0].dilation',
  bias: '[-1].bias',
  weight: null,
  groups: null,
};

export interface Reference {
  /** the read, e.g. `self.conv1.weight` */
  text: string;
  line: number;
  /** the `.field` part to replace (from the dot) */
  fieldSpan: Span;
  field: string;
  replacement: string | null;
}

/** Where a conv module lives, as far as references can name it. */
export interface ModuleSite {
  /** `self.conv1 = Conv(...)` -> conv1 */
  attribute?: string;
  /** `self.features = nn.Sequential(Conv(...), ...)` -> features, 0 */
  sequential?: { attribute: string; index: number };
  cls?: Node;
}

/** Lines that can hold such a read. */
export const READ_LINE = /\.\s*(?:weight|bias|in_channels|out_channels|kernel_size|stride|padding|dilation|groups)\b/;

type Read = { name: string; module: Node; index?: Node; field: Node; read: Node };

/** Built on first use: most files never ask. */
export class ReferenceIndex {
  private reads: Read[] | undefined;

  /** `rows` keeps the rows that may hold a read, for the next version of the text (LayerMemo) */
  constructor(private readonly tree: Tree, private readonly text: string, private readonly rows: { readRows?: [number, number][] } = {}) {}

  private all(): Read[] {
    this.rows.readRows ??= rowsMatching(this.text, READ_LINE);
    this.reads ??= matchesOnRows(query('python', 'references'), this.tree.rootNode, this.rows.readRows).map((m) => {
      const cap = (n: string) => m.captures.find((c) => c.name === n)?.node;
      return { name: cap('name')!.text, module: cap('module')!, index: cap('index'), field: cap('field')!, read: cap('read')! };
    });
    return this.reads;
  }

  find(site: ModuleSite): Reference[] {
    const out: Reference[] = [];
    if (site.attribute === undefined && !site.sequential) return out;
    for (const r of this.all()) {
      if (site.attribute !== undefined) {
        if (r.index || r.name !== site.attribute) continue;
      } else if (site.sequential) {
        if (!r.index || r.name !== site.sequential.attribute || r.index.text.trim() !== String(site.sequential.index)) continue;
      } else {
        continue;
      }
      // `self.x` reads belong to the class that defines x; `model.x` reads could be any model's
      const obj = r.module.childForFieldName('object');
      if (obj?.text === 'self' && site.cls && enclosing(r.read, 'class_definition')?.id !== site.cls.id) continue;
      const fieldStart = r.read.childForFieldName('object')!.endIndex; // from the end of the module expression
      const field = r.field.text;
      out.push({
        text: r.read.text,
        line: r.read.startPosition.row,
        fieldSpan: { start: fieldStart, end: r.field.endIndex },
        field,
        replacement: REWRITES[field] ?? null,
      });
    }
    return out;
  }
}
