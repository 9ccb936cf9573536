-- wrk script for scripts/bench-mcp-wrk.sh: stateless MCP 2026-07-28 `tools/call` requests for
-- `lookup_customer` by a random one of the seed's customer emails (c1..cN@example.com), all with
-- one tenant's bearer token. Each request carries its protocol version and client capabilities in
-- `params._meta` and the `Mcp-Method` / `Mcp-Name` headers (no initialize, no session).
--
-- Environment: TOKEN (the bearer token), CUSTOMERS (default 50).
-- Counts a reply as failed unless it is HTTP 200 with `structuredContent` and no `"isError":true`,
-- and prints `calls/s`, `p50_ms`, `p99_ms`, `failed` lines that bench-mcp-wrk.sh parses.

local token = os.getenv("TOKEN") or error("TOKEN is not set")
local customers = tonumber(os.getenv("CUSTOMERS") or "50")
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  failed = 0
  id = 0
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
  wrk.method = "POST"
  wrk.headers["Authorization"] = "Bearer " .. token
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Accept"] = "application/json, text/event-stream"
  wrk.headers["MCP-Protocol-Version"] = "2026-07-28"
  wrk.headers["Mcp-Method"] = "tools/call"
  wrk.headers["Mcp-Name"] = "lookup_customer"
end

function request()
  id = id + 1
  local body = '{"jsonrpc":"2.0","id":' .. id ..
    ',"method":"tools/call","params":{"name":"lookup_customer","arguments":{"email":"c' ..
    math.random(1, customers) .. '@example.com"},"_meta":{' ..
    '"io.modelcontextprotocol/protocolVersion":"2026-07-28",' ..
    '"io.modelcontextprotocol/clientInfo":{"name":"wrk","version":"4.1.0"},' ..
    '"io.modelcontextprotocol/clientCapabilities":{}}}}'
  return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
  if status ~= 200 or not body:find('"structuredContent"', 1, true)
      or body:find('"isError":true', 1, true) then
    failed = failed + 1
    if failed == 1 then
      io.stderr:write("first failed reply: " .. status .. " " .. body:sub(1, 300) .. "\n")
    end
  end
end

function done(summary, latency, requests)
  local bad = 0
  for _, t in ipairs(threads) do
    bad = bad + (t:get("failed") or 0)
  end
  local secs = summary.duration / 1e6
  io.write(string.format("calls/s %.1f\n", (summary.requests - bad) / secs))
  io.write(string.format("p50_ms %.2f\n", latency:percentile(50) / 1000))
  io.write(string.format("p99_ms %.2f\n", latency:percentile(99) / 1000))
  io.write(string.format("failed %d\n", bad + summary.errors.connect + summary.errors.read +
    summary.errors.write + summary.errors.timeout))
end
