-- wrk script: audited once-only look-ups by CCCD, rotating over the ids in ids.txt.
-- Usage: wrk -t2 -c64 -d30s -s bench/share.lua http://127.0.0.1:PORT -- KEY IDS_FILE
local ids = {}
local key
local n = 0

function init(args)
  key = args[1]
  for line in io.lines(args[2]) do
    ids[#ids + 1] = line
  end
  n = math.random(#ids)
end

function request()
  n = n % #ids + 1
  return wrk.format("GET", "/api/v1/share/citizens/" .. ids[n] .. "?purpose=building-permit",
    { ["Authorization"] = "Bearer " .. key })
end

function done(summary, latency, requests)
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format("requests: %d, non-2xx or errors: %d\n", summary.requests, errors))
  for _, p in ipairs({ 50, 90, 99, 99.9 }) do
    io.write(string.format("p%g: %.2f ms\n", p, latency:percentile(p) / 1000))
  end
end
