-- DeductQuota with a random user of 10,000 (or USERS) and a unique request id.
local users = tonumber(os.getenv("USERS") or "10000")
local counter = 0
local headers = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer dev-internal-token" }

-- wrk does not seed Lua's generator: unseeded, every run would draw the same thread ids
-- and users, and a second run's request ids would be replays of the first's.
math.randomseed(os.time())

setup = function(thread)
  thread:set("tid", tostring(math.random(1, 1000000000)))
end

init = function(args)
  math.randomseed(tonumber(tid))
end

request = function()
  counter = counter + 1
  local body = string.format(
    '{"user_id":"u%d","service_name":"passport","count":1,"request_id":"%s-%d"}',
    math.random(0, users - 1), tid, counter)
  return wrk.format("POST", "/internal/v1/billing/deduct", headers, body)
end
