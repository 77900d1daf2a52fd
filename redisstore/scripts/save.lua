-- Stores ARGV[1], a token state's JSON, under KEYS[1], expiring after ARGV[2] ms (none if
-- 0), unless the state stored there is this client's and newer. Returns 1 when stored, 0
-- when the stored state was kept. A value that is not a state of this client is replaced.
local function parse(text)
  local ok, s = pcall(cjson.decode, text)
  if ok and type(s) == 'table' then return s end
  return nil
end
local function revision(s)
  if type(s.revision) == 'number' then return s.revision end
  local c, n = s.counters, 0
  if type(c) == 'table' then
    if type(c.client_credentials_requests) == 'number' then n = n + c.client_credentials_requests end
    if type(c.refresh_token_requests) == 'number' then n = n + c.refresh_token_requests end
  end
  return n
end
local stored = redis.call('GET', KEYS[1])
if stored then
  local old, new = parse(stored), parse(ARGV[1])
  if old and new and old.client_id == new.client_id and old.token_url == new.token_url
      and revision(old) > revision(new) then
    return 0
  end
end
local ttl = tonumber(ARGV[2])
if ttl and ttl > 0 then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
else
  redis.call('SET', KEYS[1], ARGV[1])
end
return 1
