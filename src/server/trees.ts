/**
 * Syntax trees and analyses cached per document version, in an LRU that deletes evicted trees
 * (they are WASM objects: the garbage collector never frees them). As vscode-anycode does it:
 * edits reported between two versions are applied to the old tree with `tree.edit`, then the new
 * text is parsed with the old tree, so typing costs an incremental parse; an unchanged document
 * costs nothing.
 */
import type { Edit, Tree } from 'web-tree-sitter';
import { analyzeText, type AnyAnalysis } from '../analysis/analyze';
import type { ShapeSources } from '../analysis/files';
import type { Span } from '../analysis/model';
import type { AnalysisOptions } from '../analysis/options';
import { parse, type LanguageId } from '../analysis/parsing';
import { frameworkFor, type IncrementalMemo } from '../frameworks/index';

/** What a tree is built from: a document, or the Python cells of a notebook joined into one text. */
export interface Source {
  key: string;
  /** changes whenever the text does */
  version: string;
  languageId: LanguageId;
  text: string;
}

interface Entry {
  version: string;
  languageId: LanguageId;
  tree: Tree;
  /** edits since `version`, in order; `reset` when they cannot be described (a full-text change) */
  pending: Edit[] | 'reset';
  analysis: { optionsKey: string; result: AnyAnalysis } | undefined;
  /** static layers carried from version to version (the framework's memo, if it keeps one) */
  memo: IncrementalMemo | undefined;
}

export interface TreeStats {
  fullParses: number;
  incrementalParses: number;
  analyses: number;
  evicted: number;
  /** static layers carried over from an earlier version instead of evaluated again */
  layersKept: number;
  /** hovers answered by a focused run instead of the full analysis */
  focused: number;
  /** hovers answered by running only the models that build the hovered line's calls (`reach`) */
  reached: number;
}

export class TreeCache {
  private readonly entries = new Map<string, Entry>();
  readonly stats: TreeStats = { fullParses: 0, incrementalParses: 0, analyses: 0, evicted: 0, layersKept: 0, focused: 0, reached: 0 };

  constructor(private readonly capacity = 32) {}

  /** An edit of `key`'s text, reported as it happens (before the next `tree()` call). */
  edited(key: string, edit: Edit): void {
    const e = this.entries.get(key);
    if (e && e.pending !== 'reset') e.pending.push(edit);
  }

  /** The text of `key` changed in a way no edit describes: the next parse starts from scratch. */
  reset(key: string): void {
    const e = this.entries.get(key);
    if (e) e.pending = 'reset';
  }

  /** The tree of this version of the source; owned by the cache (do not delete it). */
  tree(src: Source): Tree {
    return this.entry(src).tree;
  }

  /** The core's analysis of this version of the source with these options, computed once. */
  analysis(src: Source, options: AnalysisOptions, sources?: ShapeSources): AnyAnalysis {
    const e = this.entry(src);
    const optionsKey = JSON.stringify(options);
    if (e.analysis?.optionsKey !== optionsKey) {
      this.stats.analyses++;
      e.analysis = {
        optionsKey,
        result: this.counted(e, () => analyzeText(src.text, src.languageId, options, { tree: e.tree, sources, memo: e.memo })),
      };
    }
    return e.analysis.result;
  }

  /** The full analysis of this version with these options when there is one; never parses. */
  cached(src: Source, options: AnalysisOptions): AnyAnalysis | undefined {
    const e = this.entries.get(src.key);
    return e && e.version === src.version && e.languageId === src.languageId ? fullAnalysis(e, options) : undefined;
  }

  /**
   * Keeps `result` as the full analysis of this version (computed elsewhere: the analysis worker).
   * `src` must be the document's current text: the entry moves to it (an older one would lose the
   * edits reported since).
   */
  store(src: Source, options: AnalysisOptions, result: AnyAnalysis): void {
    this.entry(src).analysis = { optionsKey: JSON.stringify(options), result };
  }

  /** Every layer of this version without shape inference (not cached: the full analysis is). */
  staticAnalysis(src: Source, options: AnalysisOptions): AnyAnalysis {
    return this.rangeAnalysis(this.entry(src), src, options, { start: 0, end: src.text.length });
  }

  /**
   * The layers whose calls start in `range` (offsets in the source), for inlay hints while typing:
   * the full analysis when this version already has one, else the core's static range analysis,
   * which costs a few layers instead of the whole file and its models (not cached).
   */
  quickAnalysis(src: Source, options: AnalysisOptions, range: Span): AnyAnalysis {
    const e = this.entry(src);
    return fullAnalysis(e, options) ?? this.rangeAnalysis(e, src, options, range);
  }

  /** The core's static analysis of the layers in `range`, with the entry's tree and memo. */
  private rangeAnalysis(e: Entry, src: Source, options: AnalysisOptions, range: Span): AnyAnalysis {
    return this.counted(e, () => analyzeText(src.text, src.languageId, options, { tree: e.tree, range, memo: e.memo }));
  }

  private counted(e: Entry, analyze: () => AnyAnalysis): AnyAnalysis {
    const before = e.memo?.stats.kept ?? 0;
    const result = analyze();
    this.stats.layersKept += (e.memo?.stats.kept ?? 0) - before;
    return result;
  }

  /**
   * The layers whose calls start in `range`, with the shapes the full analysis would give them (a
   * hover): the full analysis when this version has one; else the static range analysis with the
   * shapes of the models an edit can have changed run again alone (the framework's `focus`); else,
   * with `at` (the hovered line), with the shapes of only the models that build its calls (the
   * framework's `reach`: not the full analysis, the caller runs that later); else, when neither
   * can tell, the full analysis.
   */
  focusedAnalysis(src: Source, options: AnalysisOptions, range: Span, sources?: ShapeSources, at?: Span): AnyAnalysis {
    const e = this.entry(src);
    const full = fullAnalysis(e, options);
    if (full) return full;
    const framework = frameworkFor(src.languageId);
    if (framework.focus || (at && framework.reach)) {
      const quick = this.rangeAnalysis(e, src, options, range);
      if (framework.focus?.(quick, src.text, e.tree, options, sources ?? {}, e.memo)) {
        this.stats.focused++;
        return quick;
      }
      if (at && framework.reach?.(quick, src.text, e.tree, options, sources ?? {}, at, e.memo)) {
        this.stats.reached++;
        return quick;
      }
    }
    return this.analysis(src, options, sources);
  }

  /**
   * What the analyses of this version start with, done ahead (a document just opened): the parse
   * and the framework's `prepare`; returns nothing. Not the layers' static analysis: a hover needs
   * only its range's, and the whole file's (about 0.1 s of a cold worker in a zoo file) would
   * delay the hover that waits behind this.
   */
  prepare(src: Source, options: AnalysisOptions, sources?: ShapeSources): void {
    const e = this.entry(src);
    frameworkFor(src.languageId).prepare?.(src.text, e.tree, options, sources ?? {});
  }

  /** Forget a closed document. */
  drop(key: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    e.tree.delete();
    this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }

  dispose(): void {
    for (const key of [...this.entries.keys()]) this.drop(key);
  }

  private entry(src: Source): Entry {
    let e = this.entries.get(src.key);
    if (e && e.version === src.version && e.languageId === src.languageId) {
      // most recently used goes last
      this.entries.delete(src.key);
      this.entries.set(src.key, e);
      return e;
    }
    let tree: Tree;
    if (e && e.languageId === src.languageId && e.pending !== 'reset' && e.pending.length > 0) {
      for (const edit of e.pending) e.tree.edit(edit);
      tree = parse(src.languageId, src.text, e.tree);
      this.stats.incrementalParses++;
    } else {
      tree = parse(src.languageId, src.text);
      this.stats.fullParses++;
    }
    const memo = e && e.languageId === src.languageId ? e.memo : frameworkFor(src.languageId).newMemo?.();
    e?.tree.delete();
    this.entries.delete(src.key);
    e = { version: src.version, languageId: src.languageId, tree, pending: [], analysis: undefined, memo };
    this.entries.set(src.key, e);
    while (this.entries.size > this.capacity) {
      const [oldest, old] = this.entries.entries().next().value as [string, Entry];
      old.tree.delete();
      this.entries.delete(oldest);
      this.stats.evicted++;
    }
    return e;
  }
}

/** The entry's full analysis when it was made with these options. */
function fullAnalysis(e: Entry, options: AnalysisOptions): AnyAnalysis | undefined {
  return e.analysis?.optionsKey === JSON.stringify(options) ? e.analysis.result : undefined;
}
