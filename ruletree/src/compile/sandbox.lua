-- sb2 rule compile sandbox (compile/record.rs): records what rule files read
-- and print, so the launcher's ruletree cache knows when a result still holds.
local probe_file, uncacheable, output, getenv, placeholders =
  __sb2_probe_file, __sb2_uncacheable, __sb2_output, __sb2_getenv, __sb2_placeholders
__sb2_probe_file, __sb2_uncacheable, __sb2_output, __sb2_getenv, __sb2_placeholders = nil, nil, nil, nil, nil
local open, lines, iowrite, ioout = io.open, io.lines, io.write, io.output
local select, type, tostring, error = select, type, tostring, error
local sfind, concat, pack = string.find, table.concat, table.pack
local function text(...)
  local t = pack(...)
  for i = 1, t.n do
    local v = t[i]
    if type(v) ~= "string" and type(v) ~= "number" then
      error("bad argument #" .. i .. " to 'write' (string expected, got " .. type(v) .. ")", 3)
    end
    t[i] = tostring(v)
  end
  return concat(t, "", 1, t.n)
end
io.open = function(p, mode, ...)
  if type(p) == "string" and (mode == nil or mode == "r" or mode == "rb") then
    return open(probe_file(p), mode, ...)
  end
  uncacheable("io.open(" .. tostring(p) .. ", " .. tostring(mode) .. ")")
  return open(p, mode, ...)
end
io.lines = function(p, ...)
  if type(p) == "string" then return lines(probe_file(p), ...) end
  uncacheable("io.lines on standard input")
  return lines(p, ...)
end
for _, n in ipairs({ "input", "output", "popen", "read", "tmpfile" }) do
  local f = io[n]
  io[n] = function(...) uncacheable("io." .. n) return f(...) end
end
io.write = function(...)
  if ioout() ~= io.stdout then return iowrite(...) end
  output(1, text(...))
  return io.stdout
end
local methods = getmetatable(io.stdout).__index
local fwrite = methods.write
methods.write = function(f, ...)
  if f == io.stdout then output(1, text(...)) return f end
  if f == io.stderr then output(2, text(...)) return f end
  return fwrite(f, ...)
end
print = function(...)
  local t = pack(...)
  for i = 1, t.n do t[i] = tostring(t[i]) end
  output(1, concat(t, "\t", 1, t.n) .. "\n")
end
os.getenv = function(n) return getenv(n) end
for _, n in ipairs({ "clock", "date", "execute", "exit", "remove", "rename", "setlocale", "time", "tmpname" }) do
  local f = os[n]
  os[n] = function(...) uncacheable("os." .. n) return f(...) end
end
for _, n in ipairs({ "random", "randomseed" }) do
  local f = math[n]
  math[n] = function(...) uncacheable("math." .. n) return f(...) end
end
local df, lf, req = dofile, loadfile, require
dofile = function(p, ...)
  if p == nil then uncacheable("dofile of standard input") return df() end
  return df(probe_file(p), ...)
end
loadfile = function(p, ...)
  if p == nil then uncacheable("loadfile of standard input") return lf(p, ...) end
  return lf(probe_file(p), ...)
end
require = function(...) uncacheable("require") return req(...) end
if #placeholders > 0 then
  local function tainted(...)
    for i = 1, select("#", ...) do
      local v = select(i, ...)
      if type(v) == "string" then
        for _, p in ipairs(placeholders) do
          if sfind(v, p, 1, true) then return true end
        end
      end
    end
    return false
  end
  for _, n in ipairs({ "byte", "find", "gmatch", "gsub", "len", "lower", "match", "rep", "reverse", "sub", "upper", "pack", "unpack" }) do
    local f = string[n]
    string[n] = function(...)
      if tainted(...) then uncacheable("string." .. n .. " on a per-session value") end
      return f(...)
    end
  end
  local tn = tonumber
  tonumber = function(...)
    if tainted(...) then uncacheable("tonumber on a per-session value") end
    return tn(...)
  end
end
