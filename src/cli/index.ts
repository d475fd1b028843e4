/** Entry point of the `sepconv` command (bundled to dist/cli.js); also the entry of its worker threads. */
import { run } from './main';
import { isPoolWorker, runPoolWorker } from './pool';

const report = (e: unknown) => {
  process.stderr.write(`sepconv: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 2;
};

if (isPoolWorker()) {
  runPoolWorker().catch(report);
} else {
  run(process.argv.slice(2), { out: (s) => process.stdout.write(s + '\n'), err: (s) => process.stderr.write(s + '\n') }).then((code) => {
    process.exitCode = code;
  }, report);
}
