import { ValidationError } from '../../infra/errors.js';

/** How many refused lines a file's error names: enough to see the pattern, short enough to read. */
const SHOWN = 10;

/**
 * Collects what is wrong with a file's lines so that the file is refused
 * once, naming its first lines, rather than at the first bad one (a user
 * fixes them all in one go).
 */
export class LineProblems {
  private readonly shown: string[] = [];
  count = 0;
  constructor(private readonly file: string) {}

  add(line: number, message: string): void {
    if (++this.count <= SHOWN) this.shown.push(`line ${line}: ${message}`);
  }

  /** Throws a ValidationError "<file> has N <what> (first k shown)" listing them, if any line was refused. */
  throwIfAny(what: string): void {
    if (this.count > 0) throw new ValidationError(`${this.file} has ${this.count} ${what} (first ${this.shown.length} shown)`, this.shown);
  }
}
