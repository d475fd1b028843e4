/**
 * The core's results placed in editor coordinates: each layer with its report entry (the same
 * `layerJson` the CLI prints) and the document and range it sits in; the model classes and tfjs
 * builders that hold layers; and rewrites turned into per-document text edits.
 */
import type { Tree } from 'web-tree-sitter';
import type { AnyAnalysis } from '../analysis/analyze';
import type { Layer } from '../analysis/model';
import { layerJson, type LayerJson } from '../analysis/report';
import { frameworkFor } from '../frameworks/index';
import { belowThreshold, planRewrite, rewrite, type RewriteOptions } from '../refactor/index';
import type { Position, Range, Segment, Unit } from './documents';

export interface PlacedLayer {
  layer: Layer;
  /** 1-based lines and columns, relative to the segment's document (a notebook cell) */
  json: LayerJson;
  segment: Segment;
  /** the call expression in the segment's document */
  range: Range;
}

export function segmentAt(unit: Unit, offset: number): Segment | undefined {
  return unit.segments.find((s) => offset >= s.start && offset <= s.end);
}

export function placeLayers(unit: Unit, analysis: AnyAnalysis): PlacedLayer[] {
  const out: PlacedLayer[] = [];
  for (const layer of analysis.layers) {
    const segment = segmentAt(unit, layer.span.start);
    if (!segment) continue;
    const pos = (offset: number) => segment.doc.positionAt(offset - segment.start);
    const json = layerJson(layer, (o) => {
      const p = pos(o);
      return { line: p.line, column: p.character, ...(segment.cell !== undefined ? { cell: segment.cell } : {}) };
    });
    out.push({ layer, json, segment, range: { start: pos(layer.span.start), end: pos(layer.span.end) } });
  }
  return out;
}

/** Unit offset of a position in one of its documents. */
export function unitOffset(unit: Unit, uri: string, position: Position): number | undefined {
  const seg = unit.segments.find((s) => s.uri === uri);
  return seg ? seg.start + seg.doc.offsetAt(position) : undefined;
}

/** The innermost layer whose call contains the offset (a conv inside a conv's arguments wins). */
export function layerAt(placed: readonly PlacedLayer[], offset: number): PlacedLayer | undefined {
  let best: PlacedLayer | undefined;
  for (const p of placed) {
    const { start, end } = p.layer.span;
    if (offset >= start && offset <= end && (!best || end - start < best.layer.span.end - best.layer.span.start)) best = p;
  }
  return best;
}

// ---- containers: model classes (PyTorch) and builders (tfjs) -------------------------------------

export interface Container {
  /** `class Encoder`, `function buildModel`, `const model` */
  label: string;
  name: string;
  start: number;
  end: number;
  /** the line the container starts on, as a range in its document */
  segment: Segment;
  headerRange: Range;
  layers: PlacedLayer[];
}

/**
 * What holds each layer (the framework's `container`: for PyTorch the outermost class, for tfjs the
 * outermost function or class, or the top-level statement), with its layers. Layers at module level
 * in Python have none.
 */
export function containers(unit: Unit, tree: Tree, placed: readonly PlacedLayer[]): Container[] {
  const framework = frameworkFor(unit.languageId);
  const byStart = new Map<number, Container>();
  for (const p of placed) {
    const held = framework.container(tree, p.layer.span.start);
    if (!held) continue;
    const { node, kind } = held;
    let c = byStart.get(node.startIndex);
    if (!c) {
      const segment = segmentAt(unit, node.startIndex);
      if (!segment) continue;
      const name = held.name ?? '<anonymous>';
      const start = segment.doc.positionAt(node.startIndex - segment.start);
      c = {
        label: `${kind} ${name}`,
        name,
        start: node.startIndex,
        end: node.endIndex,
        segment,
        headerRange: { start, end: start },
        layers: [],
      };
      byStart.set(node.startIndex, c);
    }
    c.layers.push(p);
  }
  return [...byStart.values()].sort((a, b) => a.start - b.start);
}

export function containerAt(list: readonly Container[], offset: number): Container | undefined {
  // innermost first: containers can nest (a class in a function)
  return [...list].reverse().find((c) => offset >= c.start && offset <= c.end);
}

// ---- rewrites ------------------------------------------------------------------------------------

export interface DocumentEdits {
  uri: string;
  version: number;
  edits: { range: Range; newText: string }[];
}

export interface Plan {
  documents: DocumentEdits[];
  converted: PlacedLayer[];
  skipped: { layer: PlacedLayer; reason: string }[];
  /** set when nothing may be written */
  error: string | undefined;
}

/** Which layers a bulk conversion takes: convertible ones that pass the savings threshold. */
export function bulkCandidates(placed: readonly PlacedLayer[], minSavings: number): PlacedLayer[] {
  return placed.filter((p) => p.layer.convertible && !belowThreshold(p.layer, minSavings));
}

/** Rewrites the chosen layers of a unit and splits the edits by document. */
export function plan(
  unit: Unit,
  analysis: AnyAnalysis,
  placed: readonly PlacedLayer[],
  chosen: readonly PlacedLayer[],
  opts: RewriteOptions & { minSavings: number },
): Plan {
  const wanted = new Set(chosen.map((p) => p.layer));
  const result = rewrite(unit.text, unit.languageId, analysis, (l) => wanted.has(l), opts);
  const find = (l: Layer) => placed.find((p) => p.layer === l)!;
  const out: Plan = {
    documents: [],
    converted: result.converted.map(find),
    skipped: result.skipped.map((s) => ({ layer: find(s.layer), reason: s.reason })),
    error: result.error,
  };
  if (result.error) return out;
  const byUri = new Map<string, DocumentEdits>();
  for (const e of result.edits) {
    const seg = segmentAt(unit, e.start);
    if (!seg || e.end > seg.end) return { ...out, error: 'internal error: an edit spans two notebook cells; nothing written' };
    let d = byUri.get(seg.uri);
    if (!d) byUri.set(seg.uri, (d = { uri: seg.uri, version: seg.version, edits: [] }));
    d.edits.push({
      range: { start: seg.doc.positionAt(e.start - seg.start), end: seg.doc.positionAt(e.end - seg.start) },
      newText: e.newText,
    });
  }
  out.documents = [...byUri.values()];
  return out;
}

/** The text a single layer's call becomes, for the hover (`undefined` when it is not rewritten). */
export function replacementText(unit: Unit, analysis: AnyAnalysis, layer: Layer, opts: RewriteOptions): string | undefined {
  // a preview: the rewrite's own check that the file still parses belongs to the edit, not to it
  if (analysis.syntaxError) return undefined;
  const plan = planRewrite(unit.text, analysis, [layer], opts);
  if (plan.converted.length === 0) return undefined;
  return plan.edits.find((e) => e.start === layer.span.start && e.end === layer.span.end)?.newText;
}
