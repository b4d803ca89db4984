-- post.lua - POSTs of metric points, every request with new timestamps.
--
--   wrk -t THREADS -s post.lua URL -- FORMAT POINTS BASE_MS THREADS
--
-- FORMAT is json (scoreboard and the Go peer: an array, or one object
-- when POINTS is 1), import (VictoriaMetrics' JSON lines) or influx (line
-- protocol). A request of POINTS points holds one point of each series
-- bench_0 .. bench_<POINTS-1>, all at one time; a single-point request
-- cycles through bench_0 .. bench_999. Request n of a thread is at
-- BASE_MS + n * THREADS + id milliseconds, so no two requests of a run
-- share a timestamp (a repeated time would replace points, not add).
--
-- A batch body is built by table.concat(parts, timestamp): the parts
-- around the timestamps are made once in init(), so the per-request cost
-- is one concatenation and the load generator stays cheap.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")

local next_id = 0
function setup(thread)
    thread:set("id", next_id)
    next_id = next_id + 1
end

local format, points, base_ms, nthreads, parts
local n = 0
local sec_cache, sec_text = -1, ""

-- Two-decimal values that differ between series (throughput only: the
-- memory workload loads benchtool's data instead).
local function value(s)
    return string.format("%d.%02d", (s * 37) % 100, (s * 53) % 100)
end

local function json_point(s)
    return '{"name":"bench_' .. s .. '","value":' .. value(s) .. ',"time":"'
end

function init(args)
    format = args[1] or "json"
    points = tonumber(args[2] or "1")
    base_ms = tonumber(args[3] or "0")
    nthreads = tonumber(args[4] or "1")
    id = id or 0
    wrk.method = "POST"
    wrk.headers["Content-Type"] = "application/json"
    parts = {}
    if points == 1 then return end
    for s = 0, points - 1 do
        if format == "json" then
            parts[#parts + 1] = (s == 0 and "[" or '"},') .. json_point(s)
        elseif format == "import" then
            parts[#parts + 1] = (s == 0 and "" or "]}\n") ..
                '{"metric":{"__name__":"bench_' .. s .. '"},"values":[' ..
                value(s) .. '],"timestamps":['
        else
            parts[#parts + 1] = (s == 0 and "" or "\n") ..
                "bench_" .. s .. " value=" .. value(s) .. " "
        end
    end
    parts[#parts + 1] = ({json = '"}]', import = "]}\n", influx = "\n"})[format]
end

-- The timestamp of the next request in the wire format's own unit.
local function stamp(ms)
    if format == "import" then
        return string.format("%d", ms)
    elseif format == "influx" then
        return string.format("%d000000", ms)
    end
    local sec = math.floor(ms / 1000)
    if sec ~= sec_cache then
        sec_cache, sec_text = sec, os.date("!%Y-%m-%dT%H:%M:%S", sec)
    end
    return string.format("%s.%03dZ", sec_text, ms % 1000)
end

function request()
    local ts = stamp(base_ms + n * nthreads + id)
    local body
    n = n + 1
    if points > 1 then
        body = table.concat(parts, ts)
    else
        local s = n % 1000
        if format == "json" then
            body = json_point(s) .. ts .. '"}'
        elseif format == "import" then
            body = '{"metric":{"__name__":"bench_' .. s ..
                '"},"values":[' .. value(s) .. '],"timestamps":[' .. ts .. ']}\n'
        else
            body = "bench_" .. s .. " value=" .. value(s) .. " " .. ts .. "\n"
        end
    end
    return wrk.format(nil, nil, nil, body)
end
