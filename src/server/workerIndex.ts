/** Entry of the language server's analysis worker thread (bundled to dist/analysis-worker.js). */
import { runAnalysisWorker } from './analysisWorker';

runAnalysisWorker().catch((e: unknown) => {
  process.stderr.write(`sepconv analysis worker: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
