-- wrk hooks for bench/run.sh. Secrets come from the environment (never on the command line), and
-- done() prints one machine-readable line that loadtest.py parses. BENCH_SCENARIO picks the load:
--   otp     GET /otp with X-API-Key
--   otp-fresh  the same with Connection: close: a new TCP connection per request
--   account GET BENCH_PATH (/accounts/<name>/otp) with a scoped client's X-API-Key
--   verify  POST /otp/verify with X-API-Key and {"otp": BENCH_OTP_CODE}
--   v2      GET /otp signed per request: each request sends the next of the pre-signed header
--           sets in BENCH_V2_SETS (one "key_id timestamp nonce signature" line each; LuaJIT has
--           no HMAC). wrk threads have separate Lua states: thread n of BENCH_THREADS sends only
--           lines n+1, n+1+BENCH_THREADS, ..., so no nonce is sent twice.
local scenario = os.getenv("BENCH_SCENARIO") or "otp"

local function required(name)
  local value = os.getenv(name)
  if value == nil or value == "" then
    error(name .. " is not set")
  end
  return value
end

local threads = {}

if scenario == "otp" or scenario == "otp-fresh" or scenario == "account" or scenario == "verify" then
  wrk.headers["X-API-Key"] = required("BENCH_API_KEY")
end
if scenario == "otp-fresh" then
  wrk.headers["Connection"] = "close"
end

if scenario == "account" then
  wrk.path = required("BENCH_PATH")
elseif scenario == "verify" then
  wrk.method = "POST"
  wrk.path = "/otp/verify"
  wrk.headers["Content-Type"] = "application/json"
  wrk.body = string.format('{"otp": "%s"}', required("BENCH_OTP_CODE"))
elseif scenario == "v2" then
  local sets_file = required("BENCH_V2_SETS")
  local thread_count = tonumber(required("BENCH_THREADS"))

  -- Runs in the main Lua state, once per thread, before the threads start.
  setup = function(thread)
    thread:set("id", #threads)
    thread:set("sets_file", sets_file)
    thread:set("thread_count", thread_count)
    table.insert(threads, thread)
  end

  -- Runs in each thread's own state: pre-format this thread's requests.
  init = function(args)
    prepared, next_request, exhausted = {}, 0, 0
    local line_number = 0
    for line in io.lines(sets_file) do
      if line_number % thread_count == id then
        local kid, timestamp, nonce, signature = line:match("^(%S+) (%S+) (%S+) (%S+)$")
        prepared[#prepared + 1] = wrk.format("GET", "/otp", {
          ["X-Key-Id"] = kid, ["X-Timestamp"] = timestamp,
          ["X-Nonce"] = nonce, ["X-Signature"] = signature,
        })
      end
      line_number = line_number + 1
    end
  end

  request = function()
    next_request = next_request + 1
    if next_request > #prepared then
      -- Out of sets: resend the last one. The server answers 401 (a used nonce), which wrk counts
      -- as non-2xx, and done() reports how often it happened.
      exhausted = exhausted + 1
      return prepared[#prepared]
    end
    return prepared[next_request]
  end
end

done = function(summary, latency, requests)
  local e = summary.errors
  local exhausted = 0
  for _, thread in ipairs(threads) do
    exhausted = exhausted + (thread:get("exhausted") or 0)
  end
  io.write(string.format(
    "BENCH-RESULT requests=%d duration_us=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d "
      .. "connect=%d read=%d write=%d status=%d timeout=%d exhausted=%d\n",
    summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout, exhausted))
end
