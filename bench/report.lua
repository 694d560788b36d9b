-- Appended to every scenario's script by bench/wrk.py, after the request definition (wrk.method,
-- wrk.body, wrk.headers and `expect_body`, a Lua pattern every 2xx body must match, or nil).
-- Counts non-2xx answers and 2xx answers missing the expected text per thread, keeps the first
-- failure of each thread for the report, and prints one JSON line from done().

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  -- A fleet scenario's request() seeds its random picks with this (see bench/fleet.py).
  thread:set("thread_index", #threads)
end

function init(args)
  non_2xx = 0
  bad_body = 0
  first_failure = ""
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non_2xx = non_2xx + 1
    if first_failure == "" then
      first_failure = tostring(status) .. " " .. string.sub(body or "", 1, 300)
    end
  elseif expect_body ~= nil and not string.find(body or "", expect_body) then
    bad_body = bad_body + 1
    if first_failure == "" then
      first_failure = tostring(status) .. " (unexpected body) " .. string.sub(body or "", 1, 300)
    end
  end
end

local function json_string(value)
  local escaped = string.gsub(value, '[%c"\\]', function(c)
    if c == '"' then return '\\"' end
    if c == "\\" then return "\\\\" end
    return string.format("\\u%04x", string.byte(c))
  end)
  return '"' .. escaped .. '"'
end

function done(summary, latency, requests)
  local total_non_2xx, total_bad_body, failure = 0, 0, ""
  for _, thread in ipairs(threads) do
    total_non_2xx = total_non_2xx + (thread:get("non_2xx") or 0)
    total_bad_body = total_bad_body + (thread:get("bad_body") or 0)
    if failure == "" then
      failure = thread:get("first_failure") or ""
    end
  end
  local errors = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "duration_us": %d, "bytes": %d, "non_2xx": %d, "bad_body": %d, '
      .. '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, '
      .. '"latency_us": {"p50": %d, "p90": %d, "p99": %d, "max": %d, "mean": %.1f}, "first_failure": %s}\n',
    summary.requests, summary.duration, summary.bytes, total_non_2xx, total_bad_body,
    errors.connect, errors.read, errors.write, errors.status, errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean,
    json_string(failure)
  ))
end
