import { spawn } from 'node:child_process';
import http from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

/**
 * An open-loop load generator: requests start on a fixed schedule (every
 * 1/rate seconds) whether or not earlier ones have answered, and each latency
 * runs from the request's scheduled start, not from when a free connection
 * happened to send it — so a stall shows up in the percentiles instead of
 * silently lowering the offered load (coordinated omission; wrk2's method).
 * autocannon's `overallRate` is different: each connection sends as fast as
 * it can until its per-second quota is spent, i.e. bursts at full
 * concurrency followed by silence.
 */
export interface OpenLoopOptions {
  url: string;
  /** Requests per second, evenly spaced. */
  rate: number;
  seconds: number;
  /** Request bodies (JSON text), sent in turn (the i-th request sends bodies[i % length]). */
  bodies: readonly string[];
  /** Upper bound on sockets (requests in flight beyond it wait, and the wait counts). @default 64 */
  maxSockets?: number;
  timeoutMs?: number;
}

export interface OpenLoopResult {
  target_rps: number;
  rps: number;
  requests: number;
  non2xx: number;
  errors: number;
  p50_ms: number;
  p90_ms: number;
  p99_ms: number;
  max_ms: number;
  /** How late the generator itself started requests (included in the latencies). */
  send_lag_p99_ms: number;
  /** When the slowest requests were scheduled (s from the start) and how long they took: a tail made of a few stalls shows as clusters. */
  slowest: { at_s: number; ms: number }[];
  /** The generator's own longest event-loop delay: a stall here delays reading responses and inflates latencies. */
  generator_loop_delay_max_ms: number;
}

export async function openLoopLoad(options: OpenLoopOptions): Promise<OpenLoopResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 64 });
  const target = new URL(options.url);
  const total = Math.round(options.rate * options.seconds);
  const interval = 1000 / options.rate;
  const latencies: number[] = [];
  const timeline: { at_s: number; ms: number }[] = [];
  let non2xx = 0;
  let errors = 0;

  const send = (i: number, scheduled: number): Promise<void> => new Promise((resolve) => {
    const payload = options.bodies[i % options.bodies.length]!;
    const req = http.request({
      agent, host: target.hostname, port: target.port, path: target.pathname, method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      timeout: options.timeoutMs ?? 10_000,
    }, (res) => {
      res.resume();
      res.on('end', () => {
        if (res.statusCode! >= 200 && res.statusCode! < 300) {
          const ms = performance.now() - scheduled;
          latencies.push(ms);
          timeline.push({ at_s: i / options.rate, ms });
        }
        else non2xx++;
        resolve();
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => {
      errors++;
      resolve();
    });
    req.end(payload);
  });

  const loopDelay = monitorEventLoopDelay({ resolution: 5 });
  loopDelay.enable();
  const started = performance.now();
  const inFlight: Promise<void>[] = [];
  const lags: number[] = [];
  for (let i = 0; i < total; i++) {
    const scheduled = started + i * interval;
    const wait = scheduled - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    // Timer lateness counts against the server here (latency runs from `scheduled`): reported, to be seen.
    lags.push(performance.now() - scheduled);
    inFlight.push(send(i, scheduled));
  }
  await Promise.all(inFlight);
  const elapsed = (performance.now() - started) / 1000;
  agent.destroy();
  loopDelay.disable();
  latencies.sort((a, b) => a - b);
  lags.sort((a, b) => a - b);
  const quantile = (xs: number[], q: number) => (xs.length === 0 ? Number.NaN : Number(xs[Math.min(xs.length - 1, Math.floor(q * xs.length))]!.toFixed(2)));
  const at = (q: number) => quantile(latencies, q);
  return {
    target_rps: options.rate, rps: Number((total / elapsed).toFixed(1)), requests: total, non2xx, errors,
    p50_ms: at(0.5), p90_ms: at(0.9), p99_ms: at(0.99), max_ms: at(1), send_lag_p99_ms: quantile(lags, 0.99),
    generator_loop_delay_max_ms: Number((loopDelay.max / 1e6).toFixed(1)),
    slowest: timeline.sort((a, b) => b.ms - a.ms).slice(0, 10).map((r) => ({ at_s: Number(r.at_s.toFixed(2)), ms: Number(r.ms.toFixed(1)) })),
  };
}

/**
 * openLoopLoad in a Node process of its own: the generator's event loop and
 * heap are then not the caller's (a bench driver holding TensorFlow and a
 * built registry has long GC pauses that would count as server latency).
 */
export async function openLoopLoadInChild(options: OpenLoopOptions): Promise<OpenLoopResult> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  child.stdin.end(JSON.stringify(options));
  const code = await exited;
  if (code !== 0) throw new Error(`the load generator exited with ${code}`);
  return JSON.parse(out) as OpenLoopResult;
}

// Run as a script: options as JSON on stdin, the result as JSON on stdout.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  let input = '';
  for await (const chunk of process.stdin) input += String(chunk);
  process.stdout.write(JSON.stringify(await openLoopLoad(JSON.parse(input) as OpenLoopOptions)));
}
