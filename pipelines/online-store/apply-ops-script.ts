/**
 * One chunk of one Kafka partition's events, applied atomically with the
 * partition's watermark (the last offset applied), as a compare-and-set:
 * the chunk applies only if the watermark still equals `expected` (the
 * offset the writer believed was applied last, -1 for none). Every offset up
 * to the watermark is applied exactly once, because chunks apply in order
 * and a writer that lost the race (another consumer after a rebalance)
 * re-reads the watermark and skips what is already there.
 *
 * The chunk's record ids join the partition's dedupe window (KEYS[2], a hash:
 * the chunk's last offset → its ids as a JSON array) in the same call, and
 * chunks that ended `window` or more offsets before it leave: the writer
 * leaves out of a chunk any record whose id the window holds.
 *
 * The chunk's writes come as one JSON argument, decoded by Redis's cjson (C):
 * as separate arguments a chunk of 1,000 events was ~20,000 of them, each
 * encoded by the client and parsed by Redis (docs/benchmarks/ingest.md has the A/B).
 * Times and values travel as the strings JavaScript wrote before, so Redis
 * stores the same bytes.
 *
 * KEYS[1] watermark hash, KEYS[2] the partition's seen-ids hash. ARGV:
 * partition, expected, last offset, max history length, the window in
 * offsets (0: none), the chunk's ids as a JSON array ('' for none), then the
 * chunk: [counters, histories, attributes] with
 *   counters    [key, ts, n, field, delta (n pairs), ...]: per entity its
 *               counters hash, the latest interaction time ('' for none: a
 *               hash's `last_ts` only ever grows) and its increments: a
 *               key travels once, and the HGET of `last_ts` finds the hash
 *               the HINCRBYs just touched (0.23 against 1.06 µs a call when
 *               the times came in a list of their own; docs/benchmarks/ingest.md)
 *   histories   [key, [ts, member, ...], ...]
 *   attributes  [key, ts, [field, json value, ...], ...]
 * Returns 1 when applied, 0 when the watermark differed (nothing written).
 */
export const APPLY_OPS_LUA = `
local wmKey = KEYS[1]
local current = redis.call('HGET', wmKey, ARGV[1])
if (current or '-1') ~= ARGV[2] then return 0 end
local maxLen = tonumber(ARGV[4])
local chunk = cjson.decode(ARGV[7])
local counters = chunk[1]
local j, size = 1, #counters
while j <= size do
  local key, ts, n = counters[j], counters[j + 1], counters[j + 2]
  for f = j + 3, j + 1 + 2 * n, 2 do redis.call('HINCRBY', key, counters[f], counters[f + 1]) end
  if ts ~= '' then
    local cur = tonumber(redis.call('HGET', key, 'last_ts'))
    if (not cur) or cur < tonumber(ts) then redis.call('HSET', key, 'last_ts', ts) end
  end
  j = j + 3 + 2 * n
end
local hist = chunk[2]
for j = 1, #hist, 2 do
  redis.call('ZADD', hist[j], unpack(hist[j + 1]))
  redis.call('ZREMRANGEBYRANK', hist[j], 0, -(maxLen + 1))
end
local attrs = chunk[3]
for j = 1, #attrs, 3 do
  local key, ts, fields = attrs[j], attrs[j + 1], attrs[j + 2]
  -- A _ts that is not a number (written as an attribute before such names were refused) counts as absent: an error here would fail every later update of the entity.
  local cur = tonumber(redis.call('HGET', key, '_ts'))
  if (not cur) or cur <= tonumber(ts) then
    if #fields > 0 then redis.call('HSET', key, '_ts', ts, unpack(fields))
    else redis.call('HSET', key, '_ts', ts) end
  end
end
local window = tonumber(ARGV[5])
if window > 0 then
  local last = tonumber(ARGV[3])
  if ARGV[6] ~= '' then redis.call('HSET', KEYS[2], ARGV[3], ARGV[6]) end
  for _, chunkLast in ipairs(redis.call('HKEYS', KEYS[2])) do
    if tonumber(chunkLast) <= last - window then redis.call('HDEL', KEYS[2], chunkLast) end
  end
end
redis.call('HSET', wmKey, ARGV[1], ARGV[3])
return 1
`;
