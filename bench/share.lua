-- wrk script: audited once-only look-ups by CCCD, rotating over the ids in ids.txt.
-- Usage: wrk -t2 -c64 -d30s -s bench/share.lua http://127.0.0.1:PORT -- KEY IDS_FILE
-- Requests are formatted once in init(): wrk shares the server's cores, and formatting
-- each request in Lua as it goes cost it about a fifth of its time.
local reqs = {}
local n = 0

function init(args)
  local key = args[1]
  for line in io.lines(args[2]) do
    reqs[#reqs + 1] = wrk.format("GET", "/api/v1/share/citizens/" .. line .. "?purpose=building-permit",
      { ["Authorization"] = "Bearer " .. key })
  end
  n = math.random(#reqs)
end

function request()
  n = n % #reqs + 1
  return reqs[n]
end

function done(summary, latency, requests)
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format("requests: %d, non-2xx or errors: %d\n", summary.requests, errors))
  for _, p in ipairs({ 50, 90, 99, 99.9 }) do
    io.write(string.format("p%g: %.2f ms\n", p, latency:percentile(p) / 1000))
  end
end
