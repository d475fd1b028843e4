/**
 * Jupyter notebooks as one Python text: the code cells joined in order, so that imports in an
 * earlier cell count for a later one. IPython magics and shell escapes (`%matplotlib inline`,
 * `!pip install torch`) are not Python: they are masked as comments of the same length, so offsets
 * in the joined text stay offsets in the cells.
 */
import type { LanguageId } from './parsing';

export interface NotebookCell {
  /** index among all cells of the notebook, 0-based */
  index: number;
  /** where the cell's source sits in the joined text */
  start: number;
  end: number;
  /** the cell's source as stored (unmasked) */
  source: string;
}

export interface NotebookText {
  /** the joined, masked text to analyse */
  text: string;
  cells: NotebookCell[];
}

interface RawNotebook {
  cells?: { cell_type?: string; source?: string | string[] }[];
  metadata?: { language_info?: { name?: string }; kernelspec?: { language?: string } };
}

/** The grammar of a notebook's code cells (only Python notebooks are analysed). */
export const NOTEBOOK_LANGUAGE: LanguageId = 'python';

export const isNotebook = (file: string): boolean => file.toLowerCase().endsWith('.ipynb');

const MAGIC = /^([ \t]*)([%!])/gm;

/** Masks magics and shell escapes as comments of the same length (the language server does it per cell too). */
export function maskMagics(source: string): string {
  return source.replace(MAGIC, (_m, indent: string) => `${indent}#`);
}

/** Reads an .ipynb file's text; throws a user-facing message when it is not a Python notebook. */
export function notebookText(json: string): NotebookText {
  let nb: RawNotebook;
  try {
    nb = JSON.parse(json) as RawNotebook;
  } catch {
    throw new Error('not a valid notebook (the file is not JSON)');
  }
  if (typeof nb !== 'object' || nb === null) throw new Error('not a valid notebook (not a JSON object)');
  if (!Array.isArray(nb.cells)) throw new Error('not a valid notebook (no cells)');
  const lang: unknown = nb.metadata?.language_info?.name ?? nb.metadata?.kernelspec?.language ?? 'python';
  if (typeof lang !== 'string') throw new Error('not a valid notebook (its language is not a name)');
  if (lang !== 'python') throw new Error(`a ${lang} notebook: only Python notebooks are analysed`);
  const cells: NotebookCell[] = [];
  let text = '';
  nb.cells.forEach((c, index) => {
    if (typeof c !== 'object' || c === null) throw new Error(`not a valid notebook (cell ${index + 1} is not an object)`);
    if (c.cell_type !== 'code') return;
    const raw: unknown = c.source ?? '';
    if (typeof raw !== 'string' && !(Array.isArray(raw) && raw.every((l) => typeof l === 'string'))) {
      throw new Error(`not a valid notebook (the source of cell ${index + 1} is not text)`);
    }
    const source = typeof raw === 'string' ? raw : raw.join('');
    if (text !== '') text += '\n';
    cells.push({ index, start: text.length, end: text.length + source.length, source });
    text += maskMagics(source);
  });
  return { text, cells };
}

/** The cell that holds `offset` of the joined text. */
export function cellAt(nb: NotebookText, offset: number): NotebookCell | undefined {
  return nb.cells.find((c) => offset >= c.start && offset <= c.end);
}

/**
 * The notebook with its cells' sources replaced. Only notebooks stored the way Jupyter writes them
 * (one-space indented JSON) are written back, so that nothing but the edited sources changes.
 */
export function updateNotebook(json: string, sources: Map<number, string>): string {
  const nb = JSON.parse(json) as RawNotebook;
  const jupyterStyle = (o: unknown) => JSON.stringify(o, null, 1) + '\n';
  if (jupyterStyle(nb) !== json && jupyterStyle(nb) !== json + '\n') {
    throw new Error('the notebook is not stored as Jupyter writes it (one-space indented JSON); open and save it in Jupyter first');
  }
  for (const [index, source] of sources) {
    const cell = nb.cells![index];
    // Jupyter stores sources as lines, each with its newline
    cell.source = source.split(/(?<=\n)/);
  }
  return jupyterStyle(nb).slice(0, json.endsWith('\n') ? undefined : -1);
}
