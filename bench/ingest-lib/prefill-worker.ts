// One pre-fill process of bench/ingest.ts: produces `PREFILL_EVENTS` synthetic
// impressions of stream `PREFILL_STREAM` (its own event ids, same world of
// users and items), after the catalog updates when `PREFILL_CATALOG=1`.
// Several run side by side, because generating an event costs more CPU than
// producing it. Reports `{ produced }` every 100,000 events and
// `{ produced, bytes, done: true }` at the end, as JSON lines on stdout.
import { Partitioners, type Message } from 'kafkajs';
import { syntheticCatalog, syntheticImpressions } from '../../features/datasets/synthetic.js';
import type { Event } from '../../features/events/event-schema.js';
import { loadServicesConfig } from '../../infra/config.js';
import { createKafka } from '../../infra/kafka/kafka-client.js';
import { eventKey } from '../../pipelines/ingest/events-kind.js';

const env = (name: string) => {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`${name} is not set`);
  return value;
};
const topic = env('PREFILL_TOPIC');
const options = { events: Number(env('PREFILL_EVENTS')), users: Number(env('PREFILL_USERS')), items: Number(env('PREFILL_ITEMS')), seed: Number(env('PREFILL_SEED')) };
const stream = Number(env('PREFILL_STREAM'));
const catalog = process.env.PREFILL_CATALOG === '1';
// Messages per produce request: each partition's record batch stays well under the broker's 1 MiB message.max.bytes.
const BATCH = 8000;
const IN_FLIGHT = 4;

const producer = createKafka(loadServicesConfig().kafka).producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
await producer.connect();
const inFlight = new Set<Promise<unknown>>();
let failure: unknown;
let pending: Message[] = [];
let produced = 0;
let bytes = 0;
const dispatch = async () => {
  while (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight);
  if (failure) throw failure;
  const request = producer.send({ topic, messages: pending, acks: 1 }).catch((error: unknown) => { failure ??= error; });
  pending = [];
  inFlight.add(request);
  void request.finally(() => inFlight.delete(request));
};
const add = async (event: Event) => {
  const value = JSON.stringify(event);
  bytes += Buffer.byteLength(value);
  pending.push({ key: eventKey(event), value });
  if (++produced % 100_000 === 0) console.log(JSON.stringify({ produced }));
  if (pending.length >= BATCH) await dispatch();
};
if (catalog) for (const event of syntheticCatalog(options)) await add(event);
// Stream 0 is the stream the bench always produced (no stream seed); others have their own ids.
for (const { event } of syntheticImpressions(stream === 0 ? options : { ...options, streamSeed: stream })) await add(event);
if (pending.length > 0) await dispatch();
await Promise.all(inFlight);
await producer.disconnect();
if (failure) throw failure;
console.log(JSON.stringify({ produced, bytes, done: true }));
