import { writeSync } from 'node:fs';
import { Writable } from 'node:stream';
import { pino, type DestinationStream, type Logger } from 'pino';
import pinoPretty from 'pino-pretty';

export type { Logger };

export type LogFormat = 'json' | 'pretty';
export const LOG_FORMATS: readonly LogFormat[] = ['json', 'pretty'];

/**
 * The format logs take, decided before any command runs (loggers are made at
 * import): `--log-format json|pretty` on the command line, else LOG_FORMAT,
 * else pretty on a terminal and JSON lines everywhere else (files, pipes, CI,
 * log shippers), pino's usual split.
 */
export function resolveLogFormat(argv: readonly string[], env: NodeJS.ProcessEnv, isTerminal: boolean): LogFormat {
  let given: string | undefined = env.LOG_FORMAT;
  argv.forEach((arg, i) => {
    if (arg === '--log-format') given = argv[i + 1];
    else if (arg.startsWith('--log-format=')) given = arg.slice('--log-format='.length);
  });
  if (given === undefined || given === '') return isTerminal ? 'pretty' : 'json';
  if (!(LOG_FORMATS as readonly string[]).includes(given)) {
    // The logger cannot log yet; one plain line, then the default.
    process.stderr.write(`recsys: --log-format/LOG_FORMAT must be one of ${LOG_FORMATS.join(', ')}, got '${given}'; using json\n`);
    return 'json';
  }
  return given as LogFormat;
}

/** One line per event: time, level, component, message, then the fields. */
export function prettyStream(destination: number | NodeJS.WritableStream = 2): DestinationStream {
  return pinoPretty({
    destination: destination === 2 && process.stderr.isTTY === true ? overStatusLine() : destination,
    sync: true,
    colorize: typeof destination === 'number' ? process.stderr.isTTY === true : false,
    singleLine: true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,name,component',
    messageFormat: '{if component}[{component}] {end}{msg}',
  });
}

/**
 * stderr on a terminal, each line written after erasing the line the cursor is
 * on: a progress bar or status line redrawn in place (ingest, train-stream) is
 * replaced by the log line instead of having it appended; the next redraw
 * brings it back below. Written synchronously, as `sync: true` would.
 */
function overStatusLine(): Writable {
  return new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      writeSync(2, `\r\x1b[2K${chunk.toString()}`);
      callback();
    },
  });
}

export const logFormat: LogFormat = resolveLogFormat(process.argv, process.env, process.stderr.isTTY === true);

/**
 * Structured logs on stderr, so stdout stays free for a command's own output
 * (tables, one JSON line of figures). LOG_LEVEL sets the level.
 */
export const rootLogger: Logger = pino(
  { name: 'recsys', level: process.env.LOG_LEVEL ?? (process.env.NODE_ENV === 'test' ? 'warn' : 'info') },
  logFormat === 'pretty' ? prettyStream() : pino.destination(2),
);

/** A logger namespaced per component, e.g. `logger('ingest')`. */
export function logger(component: string): Logger {
  return rootLogger.child({ component });
}
