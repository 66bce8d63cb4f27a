-- Sends each request to a random one of N route hosts: r0.<domain> … r(N-1).<domain>.
-- The same script drives 1 and 10,000 routes, so that the table size is the only difference.
-- Usage: wrk -s random-host.lua URL -- N DOMAIN
local requests = {}
local n = 1

function init(args)
  n = tonumber(args[1]) or 1
  local domain = args[2] or "apps.localhost"
  math.randomseed(os.time())
  -- Formatted once here: per request, the Lua work is one random number and a table read.
  for i = 1, n do
    requests[i] = wrk.format(nil, nil, { Host = "r" .. (i - 1) .. "." .. domain })
  end
end

function request()
  return requests[math.random(n)]
end
