-- POSTs a sign request with an e-mail address no other request of this run (or any earlier
-- run: the nonce comes from the command line) has used, so every request is a new signer.
-- The same script drives the bare INSERT view, which gets the same body.
local dir = debug.getinfo(1, "S").source:sub(2):match("(.*/)")
dofile(dir .. "report.lua")

local threads = {}
local counter = 0
local nonce = "x"

-- thread_id is a global each thread gets from setup() (wrk runs one Lua state per thread).
function setup(thread)
  thread:set("thread_id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  nonce = args[1] or tostring(os.time())
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

local template = '{"first_name": "Erika", "last_name": "Mustermann", "email": "%s", ' ..
  '"postcode": "10115", "country": "DE", "city": "Berlin", "privacy_consent": true, ' ..
  '"consent_version": "%s", "newsletter_consent": false, "show_name_publicly": true, ' ..
  '"share_name_with_officials": false, "locale": "de", "utm_source": "bench"}'

function request()
  counter = counter + 1
  local email = string.format("b%s.t%d.%d@example.org", nonce, thread_id or 0, counter)
  local body = string.format(template, email, os.getenv("BENCH_CONSENT_VERSION") or "1")
  return wrk.format(nil, nil, nil, body)
end
