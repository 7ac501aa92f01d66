-- CheckQuota with a random user of 10,000 (or USERS).
local users = tonumber(os.getenv("USERS") or "10000")
local headers = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer dev-internal-token" }

request = function()
  local body = string.format('{"user_id":"u%d","service_name":"passport","count":1}', math.random(0, users - 1))
  return wrk.format("POST", "/internal/v1/billing/check", headers, body)
end
