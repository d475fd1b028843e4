/**
 * Shape mismatches shape inference proved (`models[].mismatches`) as diagnostics, pushed with
 * `textDocument/publishDiagnostics` whenever a full analysis of a document version is made (the
 * warm-up after typing stops, a lens or an action): code `shape-mismatch`, source `sepconv`, on the
 * call that fails, with the calls that led there and where the module was built as related
 * information. A version without mismatches (fixed, or its models not run to the end) clears them;
 * closing the document clears them.
 *
 * Severity Error: only proven mismatches are reported (both numbers exact under the model's input,
 * and under the default input only when they do not depend on its size), so PyTorch raises a
 * RuntimeError at that call; what a type checker proves wrong is an error too.
 */
import { pathToFileURL } from 'node:url';
import { DiagnosticSeverity, type Diagnostic, type DiagnosticRelatedInformation, type Location } from 'vscode-languageserver';
import type { ModelSummary, ShapeMismatch, SourceRef } from '../../analysis/model';
import type { View } from '../context';
import type { Unit } from '../documents';
import { segmentAt } from '../layers';

export const MISMATCH_CODE = 'shape-mismatch';

export type Publish = (uri: string, version: number | undefined, diagnostics: Diagnostic[]) => void;

/** The documents a unit's diagnostics went to, and for which version and options. */
interface Sent {
  stamp: string;
  uris: Set<string>;
}

export class MismatchDiagnostics {
  private readonly sent = new Map<string, Sent>();

  constructor(private readonly publish: Publish) {}

  /** Publishes the mismatches of a full view, unless those of its version and options are out already. */
  update(view: View): void {
    const key = view.unit.key;
    const stamp = JSON.stringify([view.unit.version, view.options]);
    const last = this.sent.get(key);
    if (last?.stamp === stamp) return;
    const byUri = mismatchDiagnostics(view.unit, view.analysis.models ?? []);
    for (const [uri, list] of byUri) this.publish(uri, view.unit.segments.find((s) => s.uri === uri)?.version, list);
    for (const uri of last?.uris ?? []) if (!byUri.has(uri)) this.publish(uri, undefined, []);
    this.sent.set(key, { stamp, uris: new Set(byUri.keys()) });
  }

  /** The unit `key` is closed: its documents' diagnostics are cleared. */
  clear(key: string): void {
    for (const uri of this.sent.get(key)?.uris ?? []) this.publish(uri, undefined, []);
    this.sent.delete(key);
  }
}

/** The diagnostics of a unit's models by document (a notebook's cells are documents of their own). */
export function mismatchDiagnostics(unit: Unit, models: readonly ModelSummary[]): Map<string, Diagnostic[]> {
  const out = new Map<string, Diagnostic[]>();
  const seen = new Set<string>();
  for (const model of models) {
    for (const m of model.mismatches ?? []) {
      // on the failing call; when that is in another file (a block a model imports), on the last
      // call of this document that leads there
      const here = [m.at, ...m.chain.map((c) => c.at).reverse()].find((r) => r.file === '');
      const place = here && locate(unit, here);
      if (!place) continue;
      const via = here === m.at ? '' : ` (in ${m.at.file}:${m.at.line + 1}: \`${m.code}\`)`;
      const input = model.input ? `${model.input.join('x')}, ${model.inputFrom}` : model.inputFrom;
      const message = `${m.message}${via} — model ${model.name}, input ${input}`;
      const id = `${place.uri}\u0000${place.range.start.line}:${place.range.start.character}\u0000${m.message}`;
      if (seen.has(id)) continue;
      seen.add(id);
      const d: Diagnostic = {
        range: place.range,
        severity: DiagnosticSeverity.Error,
        code: MISMATCH_CODE,
        source: 'sepconv',
        message,
        relatedInformation: related(unit, m),
      };
      const list = out.get(place.uri) ?? [];
      list.push(d);
      out.set(place.uri, list);
    }
  }
  return out;
}

/** The chain, outermost first, then where the module was built. */
function related(unit: Unit, m: ShapeMismatch): DiagnosticRelatedInformation[] {
  const out: DiagnosticRelatedInformation[] = [];
  m.chain.forEach((c, i) => {
    const location = locate(unit, c.at);
    if (location) out.push({ location, message: i === 0 ? `${c.enters} runs on the model's input` : `\`${c.call}\` runs ${c.enters}` });
  });
  const built = m.built && locate(unit, m.built);
  if (built) out.push({ location: built, message: `\`${m.what}\` is built here` });
  return out;
}

/** A place as an LSP location: in the unit's documents by offset, in another file by line and column. */
function locate(unit: Unit, r: SourceRef): Location | undefined {
  if (r.file) {
    const at = { line: r.line, character: r.column };
    return { uri: pathToFileURL(r.file).href, range: { start: at, end: at } };
  }
  const seg = segmentAt(unit, r.start);
  if (!seg) return undefined;
  const end = Math.min(r.end, seg.end);
  // the call's first line: a multi-line call is marked where it starts, not over the block
  const start = seg.doc.positionAt(r.start - seg.start);
  let stop = seg.doc.positionAt(end - seg.start);
  if (stop.line !== start.line) stop = seg.doc.positionAt(seg.doc.offsetAt({ line: start.line + 1, character: 0 }) - 1);
  return { uri: seg.uri, range: { start, end: stop } };
}
