-- wrk script: citizen name searches (prefixes with or without diacritics, some within a
-- unit), rotating over the request paths in a file, with the administrator's token.
-- Usage: wrk -t2 -c16 -d30s -s bench/search.lua http://127.0.0.1:PORT -- TOKEN PATHS_FILE
local paths = {}
local token
local n = 0

function init(args)
  token = args[1]
  for line in io.lines(args[2]) do
    paths[#paths + 1] = line
  end
  n = math.random(#paths)
end

function request()
  n = n % #paths + 1
  return wrk.format("GET", paths[n], { ["Authorization"] = "Bearer " .. token })
end

function done(summary, latency, requests)
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format("requests: %d, non-2xx or errors: %d\n", summary.requests, errors))
  for _, p in ipairs({ 50, 90, 99, 99.9 }) do
    io.write(string.format("p%g: %.2f ms\n", p, latency:percentile(p) / 1000))
  end
end
