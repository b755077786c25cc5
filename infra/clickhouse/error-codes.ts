/**
 * ClickHouse server error codes that a retry can cure (overload, timeouts,
 * network, replicas catching up). Every other server code means the statement
 * itself is wrong and retrying it only repeats the failure.
 */
const RETRIABLE_CODES = new Map<number, string>([
  [159, 'TIMEOUT_EXCEEDED'],
  [164, 'READONLY'],
  [202, 'TOO_MANY_SIMULTANEOUS_QUERIES'],
  [203, 'NO_FREE_CONNECTION'],
  [209, 'SOCKET_TIMEOUT'],
  [210, 'NETWORK_ERROR'],
  [236, 'ABORTED'],
  [241, 'MEMORY_LIMIT_EXCEEDED'],
  [242, 'TABLE_IS_READ_ONLY'],
  [252, 'TOO_MANY_PARTS'],
  // Every replica of a shard unreachable from the server a query went to (a
  // Distributed table on a cluster): an outage of that shard.
  [279, 'ALL_CONNECTION_TRIES_FAILED'],
  [319, 'UNKNOWN_STATUS_OF_INSERT'],
  [425, 'SYSTEM_ERROR'],
]);

/**
 * The server's error code, from the client's parsed error or, for servers
 * whose message format the client does not parse (18.16 writes
 * "Code: 47, e.displayText() = ..."), from the message text.
 */
export function clickHouseErrorCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^\d+$/.test(code)) return Number(code);
  const text = error instanceof Error ? `${error.message} ${String((error as { cause?: unknown }).cause ?? '')}` : String(error);
  const match = /Code: (\d+)[.,]/.exec(text);
  return match ? Number(match[1]) : undefined;
}

/**
 * ATTEMPT_TO_READ_AFTER_EOF is mostly a parse error of the statement's own
 * data (retrying repeats it), but from a Distributed table it also means the
 * connection to another server broke mid-statement: 18.16 answers an insert
 * whose shard replica was killed with "Attempt to read after eof: while
 * receiving packet from 127.0.0.1:19003". Only that form is an outage.
 */
const LOST_REMOTE_SERVER = /while receiving packet from /;

/** Network failures (no server code), the codes above and a lost connection to another server are retriable. */
export function isRetriableClickHouseError(error: unknown): boolean {
  const code = clickHouseErrorCode(error);
  if (code === 32) return LOST_REMOTE_SERVER.test(error instanceof Error ? error.message : String(error));
  return code === undefined || RETRIABLE_CODES.has(code);
}
