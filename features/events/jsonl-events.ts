import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { LineProblems } from '../files/line-problems.js';
import type { Event } from './event-schema.js';
import { parseEvent } from './parse-event.js';

/**
 * Every event of a JSONL file in the event schema, in file order. A file
 * with any invalid line is refused whole, naming the first ten lines and
 * why: training on the valid part of a file that is not what it claims
 * would publish a model of something else.
 */
export async function readJsonlEvents(file: string): Promise<Event[]> {
  const events: Event[] = [];
  const problems = new LineProblems(file);
  let line = 0;
  for await (const text of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
    line++;
    if (text.trim() === '') continue;
    const parsed = parseEvent(text);
    if (parsed.ok) events.push(parsed.event);
    else problems.add(line, parsed.reason);
  }
  problems.throwIfAny('invalid events');
  return events;
}
