import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import type { Event } from '../../features/events/event-schema.js';
import type { EventProducer } from '../ingest/event-producer.js';
import { eventKey } from '../ingest/events-kind.js';

/** Where simulated users' outcome events go: the events topic, a JSONL file, or memory (tests). */
export interface OutcomeSink {
  /** e.g. `jsonl:var/outcomes.jsonl`, `kafka:recsys.events`. */
  readonly target: string;
  write(event: Event): Promise<void>;
  close(): Promise<void>;
}

export class MemoryOutcomeSink implements OutcomeSink {
  readonly target = 'memory';
  readonly events: Event[] = [];
  async write(event: Event): Promise<void> {
    this.events.push(event);
  }
  async close(): Promise<void> {}
}

/** Appends one JSON line per event (the format `recsys produce --file` reads). */
export class JsonlOutcomeSink implements OutcomeSink {
  readonly target: string;
  private readonly out: WriteStream;
  private failure: Error | undefined;

  constructor(readonly file: string) {
    mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    this.target = `jsonl:${file}`;
    this.out = createWriteStream(file, { flags: 'a' });
    this.out.on('error', (error) => { this.failure ??= error; });
  }

  async write(event: Event): Promise<void> {
    if (this.failure) throw this.failure;
    if (!this.out.write(`${JSON.stringify(event)}\n`)) await new Promise<void>((resolve) => this.out.once('drain', resolve));
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.out.end(resolve));
    if (this.failure) throw this.failure;
  }
}

/** Produces to the events topic, keyed by user as every event producer does; close waits for the acks. */
export class KafkaOutcomeSink implements OutcomeSink {
  readonly target: string;
  constructor(private readonly producer: EventProducer, topic: string) {
    this.target = `kafka:${topic}`;
  }
  write(event: Event): Promise<void> {
    return this.producer.send({ key: eventKey(event), value: JSON.stringify(event), timestamp: String(event.ts) });
  }
  close(): Promise<void> {
    return this.producer.close();
  }
}
