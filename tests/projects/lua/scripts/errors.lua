-- error handling: pcall, xpcall, error objects and levels, tracebacks
print(pcall(error, "plain"))
print(pcall(error, "no position", 0))
print(pcall(function() error("level 1") end))
local function lvl2() error("level 2", 2) end
print(pcall(function() lvl2() end))
print(select(2, pcall(error, { code = 42 })).code)
print(select(2, pcall(error, setmetatable({}, { __tostring = function() return "custom error" end }))))
print(pcall(error))
print(pcall(function() local x = nil; return x.field end))
print(pcall(function() return 1 + {} end))
print(pcall(function() return #5 end))
print(pcall(function() return {} < {} end))
print(pcall(function() undefinedfunction() end))
print(pcall(function() local t = setmetatable({}, { __index = function() error("in __index") end }); return t.x end))
print(pcall(string.rep))
print(pcall(string.format, "%d", 1.5))
print(pcall(string.format, "%d", "x"))
print(pcall(setmetatable, 1, {}))
print(pcall(assert, false))
print(pcall(assert, nil, "assert message"))
print(pcall(assert, 1 == 1, "unused"))
print(pcall(tostring))
print(pcall(ipairs))
print(pcall(math.floor, "x"))
print(pcall(string.sub))
print(xpcall(function() error("with handler") end, function(m) return "handled: " .. m end))
print(xpcall(function(a, b) return a + b end, print, 3, 4))
local ok, tb = xpcall(function() local function inner() error("deep") end inner() end, debug.traceback)
print(ok, (tb:gsub("\n%s*%[C%]: in %?", "")))
-- errors inside error handlers and nested pcalls
print(pcall(pcall, error, "nested"))
print(xpcall(function() error("first") end, function() error("handler fails") end))
-- stack overflow is caught
local function rec(n) return 1 + rec(n + 1) end
local ok2, msg = pcall(rec, 1)
print(ok2, (msg:gsub("^.-:%d+: ", "")))
local function deep(n) if n == 0 then return 0 end return deep(n - 1) + 1 end
print(pcall(deep, 100000))
-- error with non-string values
for _, v in ipairs({ 42, true, 3.5 }) do print(pcall(error, v)) end
-- runtime errors report the source line
local ok3, e3 = pcall(load("local t = {}\nlocal u = t.a.b\nreturn u", "=loaded"))
print(ok3, e3)
-- warn
warn("@on"); warn("a ", "warning"); warn("@off"); warn("hidden")
-- tostring of error in coroutine, and error rethrown
local co = coroutine.wrap(function() error("inside coroutine") end)
print(pcall(co))
print(select("#", pcall(error)))
