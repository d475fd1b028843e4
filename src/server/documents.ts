/**
 * Open documents and notebooks, and what the core analyses for each: a document's own text, or for
 * a notebook cell the Python cells of its notebook joined in order (so imports and constants from
 * earlier cells count). Every change is also reported to the tree cache as a tree-sitter edit, so
 * the next parse is incremental.
 */
import type { Edit, Point } from 'web-tree-sitter';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { MAX_SOURCE_BYTES } from '../analysis/files';
import { maskMagics } from '../analysis/notebook';
import type { LanguageId } from '../analysis/parsing';
import type { Range } from './protocol';
import type { Source, TreeCache } from './trees';

/** LSP language ids the server analyses, and the grammar each uses. */
const LANGUAGES: Record<string, LanguageId> = {
  python: 'python',
  javascript: 'javascript',
  javascriptreact: 'javascript',
  typescript: 'typescript',
  typescriptreact: 'tsx',
};

export function grammarFor(languageId: string): LanguageId | undefined {
  return LANGUAGES[languageId];
}

export type { Position, Range } from './protocol';

export interface ContentChange {
  range?: Range;
  text: string;
}

/** One document's part of a unit's text. */
export interface Segment {
  uri: string;
  version: number;
  /** offsets of the document's text in the unit's text */
  start: number;
  end: number;
  doc: TextDocument;
  /** notebooks: the 1-based index of the cell among the notebook's synced cells */
  cell?: number;
}

/** What is analysed together: a document, or a notebook's Python cells. */
export interface Unit extends Source {
  /** the notebook's uri for a notebook, else the document's */
  uri: string;
  notebook: boolean;
  segments: Segment[];
}

interface NotebookState {
  uri: string;
  version: number;
  /** cell document uris, in notebook order (code cells of any language) */
  cells: string[];
}

export class DocumentStore {
  private readonly docs = new Map<string, TextDocument>();
  private readonly notebooks = new Map<string, NotebookState>();
  private readonly cellOwner = new Map<string, string>();

  constructor(private readonly trees: TreeCache) {}

  get(uri: string): TextDocument | undefined {
    return this.docs.get(uri);
  }

  all(): TextDocument[] {
    return [...this.docs.values()];
  }

  open(uri: string, languageId: string, version: number, text: string): void {
    this.docs.set(uri, TextDocument.create(uri, languageId, version, text));
    const nb = this.cellOwner.get(uri);
    this.trees.reset(nb ?? uri);
  }

  close(uri: string): void {
    this.docs.delete(uri);
    if (!this.cellOwner.has(uri)) this.trees.drop(uri);
  }

  /** Applies LSP content changes in order, telling the tree cache what each one edits. */
  change(uri: string, version: number, changes: readonly ContentChange[]): void {
    let doc = this.docs.get(uri);
    if (!doc) return;
    const nb = this.cellOwner.get(uri);
    const key = nb ?? uri;
    // where this document starts in its unit's text (a notebook's joined cells)
    const base = nb ? this.cellBase(nb, uri) : { offset: 0, row: 0 };
    for (const change of changes) {
      if (!change.range || !base) {
        this.trees.reset(key);
      } else {
        // in a notebook, a magic turned into a comment depends on the start of its line: edit from there
        const start = nb ? doc.offsetAt({ line: change.range.start.line, character: 0 }) : doc.offsetAt(change.range.start);
        const p = doc.positionAt(start);
        const startPos: Point = { row: p.line, column: p.character };
        const oldEnd = doc.offsetAt(change.range.end);
        const replaced = doc.getText().slice(start, oldEnd);
        const inserted = doc.getText().slice(start, doc.offsetAt(change.range.start)) + change.text;
        this.trees.edited(key, shift(editOf(start, startPos, replaced, inserted), base));
      }
      doc = TextDocument.update(doc, [change], version);
    }
    this.docs.set(uri, changes.length ? doc : TextDocument.update(doc, [], version));
  }

  // ---- notebooks -------------------------------------------------------------------------------

  openNotebook(uri: string, version: number, cells: string[]): void {
    this.notebooks.set(uri, { uri, version, cells: [...cells] });
    for (const c of cells) this.cellOwner.set(c, uri);
    this.trees.reset(uri);
  }

  /** The cell array changed: `deleteCount` cells at `start` replaced by `inserted`. */
  spliceCells(uri: string, version: number, start: number, deleteCount: number, inserted: string[]): void {
    const nb = this.notebooks.get(uri);
    if (!nb) return;
    nb.version = version;
    const removed = nb.cells.splice(start, deleteCount, ...inserted);
    for (const c of removed) this.cellOwner.delete(c);
    for (const c of inserted) this.cellOwner.set(c, uri);
    this.trees.reset(uri);
  }

  setNotebookVersion(uri: string, version: number): void {
    const nb = this.notebooks.get(uri);
    if (nb) nb.version = version;
  }

  closeNotebook(uri: string): void {
    const nb = this.notebooks.get(uri);
    if (!nb) return;
    for (const c of nb.cells) this.cellOwner.delete(c);
    this.notebooks.delete(uri);
    this.trees.drop(uri);
  }

  /** The notebook a cell belongs to, if it is one. */
  notebookOf(uri: string): string | undefined {
    return this.cellOwner.get(uri);
  }

  // ---- units -----------------------------------------------------------------------------------

  /** What is analysed for a request on `uri`: its document, or its notebook's Python cells. */
  unitFor(uri: string): Unit | undefined {
    const nb = this.cellOwner.get(uri);
    if (nb) return this.notebookUnit(nb);
    const doc = this.docs.get(uri);
    if (!doc) return this.notebooks.has(uri) ? this.notebookUnit(uri) : undefined;
    const languageId = grammarFor(doc.languageId);
    if (!languageId) return undefined;
    const text = doc.getText();
    // as the command does: a file this large is no model file, and parsing it would stall typing
    if (text.length > MAX_SOURCE_BYTES) return undefined;
    return {
      key: uri,
      uri,
      notebook: false,
      version: String(doc.version),
      languageId,
      text,
      segments: [{ uri, version: doc.version, start: 0, end: text.length, doc }],
    };
  }

  private pythonCells(nb: NotebookState): TextDocument[] {
    return nb.cells.map((c) => this.docs.get(c)).filter((d): d is TextDocument => d?.languageId === 'python');
  }

  private notebookUnit(uri: string): Unit | undefined {
    const nb = this.notebooks.get(uri);
    if (!nb) return undefined;
    const segments: Segment[] = [];
    const parts: string[] = [];
    let offset = 0;
    for (const doc of this.pythonCells(nb)) {
      const text = doc.getText();
      segments.push({
        uri: doc.uri,
        version: doc.version,
        start: offset,
        end: offset + text.length,
        doc,
        cell: nb.cells.indexOf(doc.uri) + 1,
      });
      parts.push(text);
      offset += text.length + 1;
    }
    return {
      key: uri,
      uri,
      notebook: true,
      version: segments.map((s) => `${s.uri}@${s.version}`).join('|'),
      languageId: 'python',
      text: maskMagics(parts.join('\n')),
      segments,
    };
  }

  /** Offset and row where a cell's text starts in its notebook's joined text; undefined if not Python. */
  private cellBase(nbUri: string, cellUri: string): { offset: number; row: number } | undefined {
    const nb = this.notebooks.get(nbUri);
    if (!nb) return undefined;
    let offset = 0;
    let row = 0;
    for (const doc of this.pythonCells(nb)) {
      if (doc.uri === cellUri) return { offset, row };
      offset += doc.getText().length + 1;
      row += doc.lineCount;
    }
    return undefined;
  }
}

/** The point just past `text` when it starts at `start`. */
function advance(start: Point, text: string): Point {
  const lines = text.split('\n');
  if (lines.length === 1) return { row: start.row, column: start.column + text.length };
  return { row: start.row + lines.length - 1, column: lines.at(-1)?.length ?? 0 };
}

function editOf(start: number, startPosition: Point, replaced: string, inserted: string): Edit {
  return {
    startIndex: start,
    oldEndIndex: start + replaced.length,
    newEndIndex: start + inserted.length,
    startPosition,
    oldEndPosition: advance(startPosition, replaced),
    newEndPosition: advance(startPosition, inserted),
  };
}

function shift(e: Edit, base: { offset: number; row: number }): Edit {
  const p = (x: Point): Point => ({ row: x.row + base.row, column: x.column });
  return {
    startIndex: e.startIndex + base.offset,
    oldEndIndex: e.oldEndIndex + base.offset,
    newEndIndex: e.newEndIndex + base.offset,
    startPosition: p(e.startPosition),
    oldEndPosition: p(e.oldEndPosition),
    newEndPosition: p(e.newEndPosition),
  };
}
