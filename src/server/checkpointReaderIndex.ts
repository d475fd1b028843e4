/** Entry of the language server's checkpoint reader thread (bundled to dist/checkpoint-reader.js). */
import { runCheckpointReader } from './checkpointReader';

runCheckpointReader();
