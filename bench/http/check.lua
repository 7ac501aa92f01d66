-- CheckQuota with a random user of 10,000 (or USERS).
local users = tonumber(os.getenv("USERS") or "10000")
local headers = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer dev-internal-token" }

-- Seeded per run and thread (wrk does not seed Lua's generator).
math.randomseed(os.time())
local threads = 0
setup = function(thread)
  threads = threads + 1
  thread:set("seed", os.time() * 100 + threads)
end
init = function(args)
  math.randomseed(seed)
end

request = function()
  local body = string.format('{"user_id":"u%d","service_name":"passport","count":1}', math.random(0, users - 1))
  return wrk.format("POST", "/internal/v1/billing/check", headers, body)
end
