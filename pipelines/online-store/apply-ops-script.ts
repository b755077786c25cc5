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
 * KEYS[1] watermark hash, KEYS[2] the partition's seen-ids sorted set; ARGV:
 * partition, expected, last offset, max history length, then sections, each
 * a count followed by its entries:
 *   increments (key, field, delta) · last-ts maxima (key, ts) ·
 *   histories (key, n, then n × (score, member)) ·
 *   attribute updates (key, ts, n, then n × (field, json value)) ·
 *   the window in offsets (0: none), then the chunk's ids ('' for none).
 * Returns 1 when applied, 0 when the watermark differed (nothing written).
 */
export const APPLY_OPS_LUA = `
local wmKey = KEYS[1]
local current = redis.call('HGET', wmKey, ARGV[1])
if (current or '-1') ~= ARGV[2] then return 0 end
local maxLen = tonumber(ARGV[4])
local i = 5
local n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do
  redis.call('HINCRBY', ARGV[i], ARGV[i + 1], ARGV[i + 2]); i = i + 3
end
n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do
  local cur = tonumber(redis.call('HGET', ARGV[i], 'last_ts'))
  if (not cur) or cur < tonumber(ARGV[i + 1]) then redis.call('HSET', ARGV[i], 'last_ts', ARGV[i + 1]) end
  i = i + 2
end
n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do
  local key, m = ARGV[i], tonumber(ARGV[i + 1]); i = i + 2
  redis.call('ZADD', key, unpack(ARGV, i, i + 2 * m - 1)); i = i + 2 * m
  redis.call('ZREMRANGEBYRANK', key, 0, -(maxLen + 1))
end
n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do
  local key, ts, m = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2]); i = i + 3
  -- A _ts that is not a number (written as an attribute before such names were refused) counts as absent: an error here would fail every later update of the entity.
  local cur = tonumber(redis.call('HGET', key, '_ts'))
  if (not cur) or cur <= tonumber(ts) then
    if m > 0 then redis.call('HSET', key, '_ts', ts, unpack(ARGV, i, i + 2 * m - 1))
    else redis.call('HSET', key, '_ts', ts) end
  end
  i = i + 2 * m
end
local window = tonumber(ARGV[i])
if window > 0 then
  local last = tonumber(ARGV[3])
  if ARGV[i + 1] ~= '' then redis.call('HSET', KEYS[2], ARGV[3], ARGV[i + 1]) end
  for _, chunkLast in ipairs(redis.call('HKEYS', KEYS[2])) do
    if tonumber(chunkLast) <= last - window then redis.call('HDEL', KEYS[2], chunkLast) end
  end
end
redis.call('HSET', wmKey, ARGV[1], ARGV[3])
return 1
`;
