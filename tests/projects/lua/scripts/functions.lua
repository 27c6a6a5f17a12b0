-- closures, varargs, recursion, coroutines, goto, integer/float semantics
local function counter()
  local n = 0
  return function() n = n + 1; return n end, function() return n end
end
local inc, get = counter()
inc(); inc(); inc()
print("counter", get())

local fns = {}
for i = 1, 5 do fns[i] = function() return i * 10 end end
print(fns[1](), fns[3](), fns[5]())

local function va(...)
  local n = select("#", ...)
  return n, select(2, ...)
end
print(va(1, nil, 3, nil))
print((va(1, 2, 3)))
local function sum(...) local s = 0; for _, v in ipairs({ ... }) do s = s + v end; return s end
print(sum(), sum(1), sum(1, 2, 3, 4.5))
print(table.unpack({ 1, 2, 3 }))

local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end
print("fib(25)", fib(25))
local memo = {}
local function mfib(n)
  if n < 2 then return n end
  if memo[n] then return memo[n] end
  local v = mfib(n - 1) + mfib(n - 2); memo[n] = v; return v
end
print("fib(90)", mfib(90))
local function tail(n, acc) if n == 0 then return acc end return tail(n - 1, acc + 1) end
print("tail calls", tail(1000000, 0))

-- goto
local out = {}
for i = 1, 10 do
  if i % 3 == 0 then goto continue end
  out[#out + 1] = i
  ::continue::
end
print(table.concat(out, " "))

-- integer vs float, bitwise
print(1 == 1.0, math.type(1), math.type(1.0), math.type("1"), 2^53 == 2^53 + 1, 10 // 3, 10.0 / 4)
print(0xFF & 0x0F, 0xF0 | 0x0F, 5 ~ 3, ~0, 1 << 62, 1 << 63, 1 << 64, -1 >> 1, 3.0 | 0)
print(pcall(function() return 1.5 | 0 end))
print(math.ult(1, -1), 5 // 0.0, -5 // 0.0, pcall(function() return 5 // 0 end))
print(7 // -2, 7 % -2, -7 // 2, 7.0 % -2, math.fmod(7, -2), math.fmod(-7, 2))
print("10" + 5, "3" * "4", 10 .. 20, pcall(function() return "a" + 1 end))

-- coroutines
local gen = coroutine.wrap(function(n)
  for i = 1, n do coroutine.yield(i * i) end
  return "done"
end)
print(gen(4), gen(), gen(), gen(), gen())
local co = coroutine.create(function(a, b)
  print("start", a, b)
  local c = coroutine.yield(a + b)
  print("got", c)
  local d, e = coroutine.yield(c * 2)
  print("got", d, e)
  return "finished", a + b + c + d + e
end)
print(coroutine.resume(co, 1, 2))
print(coroutine.status(co))
print(coroutine.resume(co, 10))
print(coroutine.resume(co, 100, 1000))
print(coroutine.status(co), coroutine.resume(co))
local bad = coroutine.create(function() error({ code = 7 }) end)
local ok, err = coroutine.resume(bad)
print(ok, type(err), err.code, coroutine.status(bad))
print(coroutine.isyieldable(), select(2, coroutine.running()), type(coroutine.running()))
local producer = coroutine.create(function()
  for _, w in ipairs({ "a", "b", "c" }) do coroutine.yield(w) end
end)
local function consumer()
  local got = {}
  while true do
    local _, v = coroutine.resume(producer)
    if v == nil then break end
    got[#got + 1] = v
  end
  return table.concat(got)
end
print("consumed", consumer())
-- yield across pcall and a metamethod
local co2 = coroutine.wrap(function()
  local ok2, v = pcall(function() return coroutine.yield("inside pcall") + 1 end)
  return ok2, v
end)
print(co2()); print(co2(41))
local closable = coroutine.create(function()
  local x <close> = setmetatable({}, { __close = function() print("closed by coroutine.close") end })
  coroutine.yield()
end)
coroutine.resume(closable)
print(coroutine.close(closable), coroutine.status(closable))

-- permutations via coroutines
local function permgen(a, n)
  n = n or #a
  if n <= 1 then coroutine.yield(a) else
    for i = 1, n do
      a[n], a[i] = a[i], a[n]
      permgen(a, n - 1)
      a[n], a[i] = a[i], a[n]
    end
  end
end
local perms = {}
for p in coroutine.wrap(function() permgen({ 1, 2, 3 }) end) do perms[#perms + 1] = table.concat(p) end
print(table.concat(perms, " "))

-- load, string.dump, environments
local chunk = load("local a, b = ...; return a * b + x", "=chunk", "t", { x = 5 })
print(chunk(6, 7))
local dumped = string.dump(function(n) return n * 2 + 1 end)
print(load(dumped, "dumped", "b")(20))
print(load("syntax error here"))
local env = { print = print }
local f = load("y = 3; return y", "=env", "t", env)
print(f(), env.y, y)
print(select(-1, 1, 2, 3), select(2, "a", "b", "c"))
