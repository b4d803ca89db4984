-- get.lua - plain GETs of the URL given to wrk, reported by report.lua.
-- No Accept-Encoding is sent, so every server answers uncompressed.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")
