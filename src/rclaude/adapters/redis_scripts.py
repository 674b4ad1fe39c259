"""Redis key names and the Lua scripts of the Redis output log (see ``redis_log``).

Every key the log uses is built by :class:`Keys`, under one configurable prefix.
Output chunks are plain ``XADD``s with the explicit id ``<seq>-0`` the writer expects
(fast: the payload never passes through Lua); Redis refuses an id that is not above
the stream's top, which makes resends idempotent. ``APPEND`` (atomic, in Lua) writes
FINAL and any chunk whose seq the writer does not know, at the next seq after the top;
FINAL seals the stream (``SEALED_ID``) so no plain XADD can follow it. ``SEND_INPUT``
numbers input events the same way.
"""

from __future__ import annotations

#: The largest stream id. Closing an attempt sets the stream's last id to it (XSETID),
#: so Redis itself refuses any later XADD with an explicit id: the log is sealed.
SEALED_ID = "18446744073709551615-18446744073709551615"

# The slow path (FINAL, and chunks whose seq the writer does not know): append at the
# next seq after the stream's top entry, atomically.
# KEYS: stream, attempts-set. ARGV: kind, data, ts, nonce, maxlen, ttl, attempt
# Returns the seq, or -1 when the attempt is closed. A resent chunk that already landed
# (its nonce is on the top entry) returns its seq without writing again.
APPEND = (
    """
local last = 0
local top = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)[1]
if top then
  last = tonumber(string.match(top[1], '^(%d+)'))
  local f = top[2]
  for i = 1, #f, 2 do
    if f[i] == 'n' and f[i + 1] == ARGV[4] then return last end
  end
  for i = 1, #f, 2 do
    if f[i] == 'k' and f[i + 1] == 'final' then return -1 end
  end
end
local seq = last + 1
local maxlen = tonumber(ARGV[5])
if maxlen > 0 then
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', maxlen, seq .. '-0',
             'k', ARGV[1], 'd', ARGV[2], 't', ARGV[3], 'n', ARGV[4])
else
  redis.call('XADD', KEYS[1], seq .. '-0', 'k', ARGV[1], 'd', ARGV[2], 't', ARGV[3], 'n', ARGV[4])
end
redis.call('SADD', KEYS[2], ARGV[7])
if ARGV[1] == 'final' then
  redis.call('XSETID', KEYS[1], '"""
    + SEALED_ID
    + """')
  local ttl = tonumber(ARGV[6])
  if ttl > 0 then
    redis.call('EXPIRE', KEYS[1], ttl)
    redis.call('EXPIRE', KEYS[2], ttl)
  end
end
return seq
"""
)

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

    def attempts(self, task_id: str) -> str:
        return f"{self.prefix}attempts:{task_id}"

    def input(self, task_id: str) -> str:
        return f"{self.prefix}in:{task_id}"

    def input_seq(self, task_id: str) -> str:
        return f"{self.prefix}inseq:{task_id}"
