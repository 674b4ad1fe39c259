"""Redis key names and the Lua scripts of the Redis output log (see ``redis_log``).

Every key the log uses is built by :class:`Keys`, under one configurable prefix.
The scripts run atomically on the server: ``APPEND`` gives each output chunk the next
gap-free seq (entry id ``<seq>-0``) and refuses appends after FINAL; ``SEND_INPUT``
numbers input events the same way.
"""

from __future__ import annotations

# KEYS: stream, head, attempts-set.
# ARGV: kind, data, ts, want_seq, nonce, maxlen, ttl, attempt, resend
# Returns the seq, or -1 when the attempt is closed.
APPEND = """
local head = KEYS[2]
local last = tonumber(redis.call('HGET', head, 'seq') or '0')
-- A resent chunk (ARGV[9] = 1, after a broken connection) that already landed (same
-- nonce) is not written again: look where it was expected to land, and at the newest
-- entry. First sends skip this (no extra read on the hot path).
local checks = {}
if ARGV[9] == '1' then checks = {tonumber(ARGV[4]), last} end
for _, check in ipairs(checks) do
  if check > 0 and check <= last then
    local got = redis.call('XRANGE', KEYS[1], check .. '-0', check .. '-0')
    if got[1] then
      local f = got[1][2]
      for i = 1, #f, 2 do
        if f[i] == 'n' and f[i + 1] == ARGV[5] then return check end
      end
    end
  end
end
if redis.call('HGET', head, 'closed') == '1' then return -1 end
local seq = last + 1
local maxlen = tonumber(ARGV[6])
if maxlen > 0 then
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', maxlen, seq .. '-0',
             'k', ARGV[1], 'd', ARGV[2], 't', ARGV[3], 'n', ARGV[5])
else
  redis.call('XADD', KEYS[1], seq .. '-0', 'k', ARGV[1], 'd', ARGV[2], 't', ARGV[3], 'n', ARGV[5])
end
redis.call('HSET', head, 'seq', seq)
redis.call('SADD', KEYS[3], ARGV[8])
if ARGV[1] == 'final' then
  redis.call('HSET', head, 'closed', '1')
  local ttl = tonumber(ARGV[7])
  if ttl > 0 then
    redis.call('EXPIRE', KEYS[1], ttl)
    redis.call('EXPIRE', head, ttl)
    redis.call('EXPIRE', KEYS[3], ttl)
  end
end
return seq
"""

# KEYS: input stream, counter. ARGV: kind, data, cols, rows, ttl. Returns the seq.
SEND_INPUT = """
local seq = redis.call('INCR', KEYS[2])
redis.call('XADD', KEYS[1], seq .. '-0', 'k', ARGV[1], 'd', ARGV[2], 'c', ARGV[3], 'r', ARGV[4])
local ttl = tonumber(ARGV[5])
if ttl > 0 then
  redis.call('EXPIRE', KEYS[1], ttl)
  redis.call('EXPIRE', KEYS[2], ttl)
end
return seq
"""


class Keys:
    """Every Redis key this adapter uses, in one place."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def out(self, task_id: str, attempt: int) -> str:
        return f"{self.prefix}out:{task_id}:{attempt}"

    def head(self, task_id: str, attempt: int) -> str:
        return f"{self.prefix}head:{task_id}:{attempt}"

    def attempts(self, task_id: str) -> str:
        return f"{self.prefix}attempts:{task_id}"

    def input(self, task_id: str) -> str:
        return f"{self.prefix}in:{task_id}"

    def input_seq(self, task_id: str) -> str:
        return f"{self.prefix}inseq:{task_id}"
