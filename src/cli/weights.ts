/**
 * `sepconv apply <paths> --weights <checkpoint>`: the code and the checkpoint are converted together
 * (`src/weights/apply.ts`). Every file is analysed first; only when the whole conversion succeeds is
 * anything written, the checkpoint first, then the code. One thread: the checkpoint needs every
 * file's plan.
 */
import { createTwoFilesPatch } from 'diff';
import { analyzeText } from '../analysis/analyze';
import { readSourceFile } from '../analysis/files';
import { initParsing } from '../analysis/parsing';
import { frameworkFor, frameworkForCheckpoint } from '../frameworks/index';
import { checkpointFormat, convertWithCode, type CodeFile, type WeightsResult } from '../weights/apply';
import { defaultOutput } from '../weights/index';
import type { CliOptions } from './args';
import type { Io } from './main';
import { sourcesFor, unitFor, writeChecked, WriteRefused, type Unit } from './process';

/** Runs `apply --weights`; the exit code. */
export async function applyWithWeights(files: string[], opts: CliOptions, io: Io): Promise<number> {
  await initParsing();
  const ckptFile = opts.weights!;
  const owner = frameworkForCheckpoint(checkpointFormat(ckptFile));
  const code: (CodeFile & { original: string; unit: Unit })[] = [];
  for (const file of files) {
    const src = readSourceFile(file);
    if (src.text === undefined) {
      io.err(`sepconv: ${file}: ${src.error ?? 'unreadable'}`);
      return 2;
    }
    const unit = unitFor(file, src.text);
    if (frameworkFor(unit.id) !== owner) continue; // another framework's files are not this checkpoint's
    // which convs convert is judged at K = 1 (the separable form exists and can be smaller); each is
    // then written at its own K, which may keep every weight at a larger size (the table says so)
    const options = { ...opts.analysis, depthMultiplier: 1 };
    const analysis = analyzeText(unit.text, unit.id, options, {
      sources: owner.readsNeighbours ? sourcesFor(file, opts) : undefined,
    });
    if (analysis.syntaxError) {
      io.err(`${file}: not rewritten: ${analysis.syntaxError.message}; nothing written`);
      return 1;
    }
    code.push({ file, id: unit.id, text: unit.text, analysis, original: src.text, unit });
  }
  const out = opts.out ?? defaultOutput(ckptFile);
  let result: WeightsResult;
  try {
    result = convertWithCode(
      code,
      {
        checkpoint: ckptFile,
        out,
        energy: opts.energy,
        tfjsStyle: opts.analysis.tfjsStyle,
        rewrite: {
          depthMultiplier: opts.analysis.depthMultiplier,
          norm: opts.analysis.norm,
          lineLength: opts.lineLength,
          minSavings: opts.minSavings,
        },
      },
      owner,
    );
  } catch (e) {
    io.err(`sepconv: ${ckptFile}: ${(e as Error).message}`);
    return 2;
  }
  try {
    const write = !opts.diff && !opts.dryRun;
    const contents = result.files.map((f) => {
      const c = code.find((x) => x.file === f.file)!;
      return { c, content: c.unit.serialize(f.rewrite.newText, f.rewrite.edits), count: f.rewrite.converted.length };
    });
    if (write) {
      try {
        result.writeCheckpoint();
      } catch (e) {
        io.err(`sepconv: ${out}: cannot write: ${(e as Error).message}; the code was not changed`);
        return 2;
      }
    }
    for (const { c, content, count } of contents) {
      if (opts.diff) io.out(createTwoFilesPatch(c.file, c.file, c.original, content, undefined, undefined, { context: 3 }));
      else if (opts.dryRun) io.out(`${c.file}: would convert ${count} layer(s)`);
      else {
        try {
          writeChecked(c.file, c.original, content, opts.force);
        } catch (e) {
          if (!(e instanceof WriteRefused)) throw e;
          // the checkpoint is written already: say which code file still needs the rewrite
          io.err(`${c.file}: ${e.message}; the converted checkpoint ${out} expects it converted`);
          return 2;
        }
        io.out(`${c.file}: converted ${count} layer(s)`);
      }
    }
    if (opts.format === 'json') {
      io.out(
        JSON.stringify(
          { checkpoint: ckptFile, out, model: result.model, prefix: result.prefix, modules: result.modules, layers: result.layers },
          null,
          2,
        ),
      );
    } else {
      io.out(
        `${write ? 'wrote' : 'would write'} ${out}${result.model ? ` (model ${result.model}${result.prefix ? `, keys under ${result.prefix}` : ''})` : ''}:`,
      );
      for (const line of result.summary) io.out(`  ${line}`);
    }
    return 0;
  } finally {
    result.close();
  }
}
