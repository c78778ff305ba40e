-- The same request as request.lua (loaded from beside this script), counting the answers by
-- status; done() prints one JSON line, e.g. {"401": 1200, "429": 88000, "with_retry_after": 88000}.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "request.lua")

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  counts = {}
end

function response(status, headers, body)
  counts[status] = (counts[status] or 0) + 1
  if status == 429 or status == 503 then
    retry = headers["Retry-After"] or headers["retry-after"]
    if retry then
      with_retry_after = (with_retry_after or 0) + 1
    end
  end
end

function done(summary, latency, requests)
  local total, retry = {}, 0
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("counts")) do
      total[status] = (total[status] or 0) + n
    end
    retry = retry + (thread:get("with_retry_after") or 0)
  end
  local parts = {}
  for status, n in pairs(total) do
    table.insert(parts, string.format('"%d": %d', status, n))
  end
  table.insert(parts, string.format('"with_retry_after": %d', retry))
  io.write("{" .. table.concat(parts, ", ") .. "}\n")
end
