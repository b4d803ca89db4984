-- report.lua - the done() shared by every bench script: one line that
-- bench/run.sh parses, instead of wrk's human-readable summary.
--
--   wrk-result requests=N seconds=S bytes=B status_errors=N
--              socket_errors=N p50_us=X p99_us=Y
--
-- bytes counts whole responses (status line and headers included).

function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        "wrk-result requests=%d seconds=%.6f bytes=%d status_errors=%d " ..
        "socket_errors=%d p50_us=%d p99_us=%d\n",
        summary.requests, summary.duration / 1e6, summary.bytes, e.status,
        e.connect + e.read + e.write + e.timeout,
        latency:percentile(50), latency:percentile(99)))
end
