-- wrk script for bench/ledger_load.sh: each request posts +10 points to a random bench guest
-- with a fresh Idempotency-Key. GUESTS and TOKEN come from the environment.
local guests = tonumber(os.getenv("GUESTS"))
local token = os.getenv("TOKEN")
local counter = 0
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

function init(args)
  math.randomseed(os.time() + tid * 7919)
end

function request()
  counter = counter + 1
  local n = math.random(2, guests)
  local path = string.format("/api/v1/customers/00000000-0000-7000-9000-%012d/loyalty/adjustments", n)
  local headers = {
    ["authorization"] = "Bearer " .. token,
    ["content-type"] = "application/json",
    ["idempotency-key"] = string.format("bench-%d-%d-%d", os.time(), tid, counter),
  }
  return wrk.format("POST", path, headers, '{"points":10,"reason":"bench posting"}')
end
