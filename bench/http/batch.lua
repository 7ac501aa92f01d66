-- Batch deductions: ITEMS (default 100) items per request, each for a random user of
-- USERS (default 10,000) with a unique request id. Counts the items answered as charged,
-- so the run can check the ledger against them (bench/http/run.sh).
local users = tonumber(os.getenv("USERS") or "10000")
local items = tonumber(os.getenv("ITEMS") or "100")
local prefix = os.getenv("PREFIX") or "b"
local headers = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer dev-internal-token" }
local threads = {}
local counter = 0
charged = 0
failed = 0

-- wrk does not seed Lua's generator: unseeded, every run would draw the same thread ids
-- and users, and a second run's request ids would be replays of the first's.
math.randomseed(os.time())

setup = function(thread)
  thread:set("tid", tostring(math.random(1, 1000000000)))
  table.insert(threads, thread)
end

init = function(args)
  math.randomseed(tonumber(tid))
end

request = function()
  local parts = {}
  for i = 1, items do
    counter = counter + 1
    parts[i] = string.format('{"user_id":"u%d","service_name":"passport","count":1,"request_id":"%s%s-%d"}',
      math.random(0, users - 1), prefix, tid, counter)
  end
  return wrk.format("POST", "/internal/v1/billing/deduct/batch", headers, '{"items":[' .. table.concat(parts, ",") .. ']}')
end

response = function(status, headers, body)
  if status ~= 200 then return end
  for _ in string.gmatch(body, '"success":true') do charged = charged + 1 end
  for _ in string.gmatch(body, '"success":false') do failed = failed + 1 end
end

done = function(summary, latency, requests)
  local total, bad = 0, 0
  for _, thread in ipairs(threads) do
    total = total + thread:get("charged")
    bad = bad + thread:get("failed")
  end
  io.write(string.format("items_charged %d\nitems_failed %d\n", total, bad))
end
