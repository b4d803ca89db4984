-- writer.lua - the paced writer of the contention workload: post.lua's
-- requests, one every DELAY_MS milliseconds per connection, so the writer
-- itself never queues and adds few points to the store readers pull.
--
--   wrk -t1 -c1 --latency -s writer.lua URL -- FORMAT 1 BASE_MS 1 DELAY_MS
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "post.lua")

local post_init = init
local delay_ms = 10

function init(args)
    post_init(args)
    delay_ms = tonumber(args[5] or "10")
end

function delay()
    return delay_ms
end
