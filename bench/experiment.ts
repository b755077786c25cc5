import { fileURLToPath } from 'node:url';
import { runNamed } from './run.js';

await runNamed('experiment', fileURLToPath(new URL('./experiments/', import.meta.url)));
