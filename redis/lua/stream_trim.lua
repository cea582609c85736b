-- Trims the event stream towards max_len entries, never past floor: the
-- oldest entry some consumer group has not acknowledged (the caller reads it
-- from every group). At most 10000 entries go per call, so a call stays
-- short; approximate trimming (~) removes whole nodes only. KEYS: the stream.
-- ARGV: deadline_ms, max_len, floor ('' = no entry is held back).
-- Answers {'OK', entries trimmed}.
if late() then return {'LATE'} end
local excess = redis.call('XLEN', KEYS[1]) - tonumber(ARGV[2])
if excess <= 0 then return {'OK', 0} end
if excess > 10000 then excess = 10000 end
local oldest = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', excess)
local last = oldest[#oldest][1]
local ms, seq = string.match(last, '^(%d+)-(%d+)$')
local cut = ms .. '-' .. (tonumber(seq) + 1)
if ARGV[3] ~= '' and newer(cut, ARGV[3]) then cut = ARGV[3] end
return {'OK', redis.call('XTRIM', KEYS[1], 'MINID', '~', cut)}
