-- wrk hooks for bench/run.sh: the API key comes from the environment (never on the command line),
-- and done() prints one machine-readable line that loadtest.py parses.
local api_key = os.getenv("BENCH_API_KEY")
if api_key == nil or api_key == "" then
  error("BENCH_API_KEY is not set")
end
wrk.headers["X-API-Key"] = api_key

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH-RESULT requests=%d duration_us=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d "
      .. "connect=%d read=%d write=%d status=%d timeout=%d\n",
    summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
end
