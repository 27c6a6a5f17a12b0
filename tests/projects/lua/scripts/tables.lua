-- tables: constructors, length, table library, sorting, metatables, OOP
local function show(t) return "{" .. table.concat(t, ",") .. "}" end
local function sortedkeys(t)
  local ks = {}
  for k in pairs(t) do ks[#ks + 1] = tostring(k) end
  table.sort(ks)
  return table.concat(ks, ",")
end

local t = { 10, 20, 30, x = 1, y = 2, [100] = "hundred", ["with space"] = true }
print(#t, t[1], t.x, t[100], t["with space"], sortedkeys(t))
table.insert(t, 40); table.insert(t, 1, 5)
print(show(t), table.remove(t), table.remove(t, 1), show(t))
print(table.concat({ 1, 2, 3 }, ", ", 2, 3), table.concat({}), select("#", table.unpack({ 1, nil, 3 }, 1, 3)))
print(show(table.move({ 1, 2, 3, 4, 5 }, 2, 4, 1)), show(table.move({ 1, 2, 3 }, 1, 3, 3, { 9, 9 })))
local p = table.pack(1, nil, 3)
print(p.n, p[1], p[2], p[3])

local nums = {}
local seed = 7
for i = 1, 200 do seed = (seed * 1103515245 + 12345) % 2147483648; nums[i] = seed % 1000 end
table.sort(nums)
print(nums[1], nums[50], nums[100], nums[200])
table.sort(nums, function(a, b) return a > b end)
print(nums[1], nums[50], nums[100], nums[200])
local people = { { n = "ann", a = 31 }, { n = "bob", a = 25 }, { n = "cid", a = 31 }, { n = "dee", a = 19 } }
table.sort(people, function(a, b) if a.a ~= b.a then return a.a < b.a end return a.n < b.n end)
for _, q in ipairs(people) do io.write(q.n, "=", q.a, " ") end
print()
print(pcall(table.sort, { 3, 1, "x" }))

-- a big table: hash and array parts, deletion during traversal
local big = {}
for i = 1, 10000 do big[i] = i * i end
for i = 1, 10000, 3 do big["k" .. i] = i end
local sum, count = 0, 0
for k, v in pairs(big) do
  count = count + 1
  if type(k) == "number" then sum = sum + v end
  if type(k) == "string" and v % 2 == 0 then big[k] = nil end
end
local left = 0
for _ in pairs(big) do left = left + 1 end
print(count, sum, left, #big)

-- metatables
local Vec = {}
Vec.__index = Vec
function Vec.new(x, y) return setmetatable({ x = x, y = y }, Vec) end
function Vec.__add(a, b) return Vec.new(a.x + b.x, a.y + b.y) end
function Vec.__mul(a, k) return Vec.new(a.x * k, a.y * k) end
function Vec.__eq(a, b) return a.x == b.x and a.y == b.y end
function Vec.__lt(a, b) return a:len2() < b:len2() end
function Vec.__le(a, b) return a:len2() <= b:len2() end
function Vec.__tostring(v) return "(" .. v.x .. "," .. v.y .. ")" end
function Vec.__len(v) return 2 end
function Vec.__concat(a, b) return tostring(a) .. tostring(b) end
function Vec.__unm(v) return Vec.new(-v.x, -v.y) end
function Vec:len2() return self.x * self.x + self.y * self.y end
local a, b = Vec.new(1, 2), Vec.new(3, 4)
print(tostring(a + b), tostring(a * 3), a == Vec.new(1, 2), a < b, b <= a, #a, a .. b, tostring(-a))

local defaults = setmetatable({}, { __index = function(_, k) return "default:" .. k end })
print(defaults.color, rawget(defaults, "color"))
local log = {}
local proxy = setmetatable({}, { __newindex = function(t, k, v) log[#log + 1] = k; rawset(t, k, v) end })
proxy.a = 1; proxy.b = 2; proxy.a = 3
print(table.concat(log, ","), proxy.a)
local callable = setmetatable({}, { __call = function(self, x, y) return x + y end })
print(callable(2, 3))

-- inheritance
local Animal = {}
Animal.__index = Animal
function Animal.new(name, sound) return setmetatable({ name = name, sound = sound }, Animal) end
function Animal:speak() return self.name .. " says " .. self.sound end
local Dog = setmetatable({}, { __index = Animal })
Dog.__index = Dog
function Dog.new(name) local d = Animal.new(name, "woof"); return setmetatable(d, Dog) end
function Dog:fetch() return self.name .. " fetches" end
local d = Dog.new("rex")
print(d:speak(), d:fetch(), getmetatable(d) == Dog)

-- weak tables and __gc, __close
local weak = setmetatable({}, { __mode = "k" })
weak[{}] = 1
collectgarbage(); collectgarbage()
local n = 0
for _ in pairs(weak) do n = n + 1 end
print("weak entries after gc:", n)
local gcran = false
do setmetatable({}, { __gc = function() gcran = true end }) end
collectgarbage(); collectgarbage()
print("__gc ran:", gcran)
do
  local res <close> = setmetatable({}, { __close = function(_, err) print("closing, err =", err) end })
  print("in scope")
end
print(pcall(function()
  local r <close> = setmetatable({}, { __close = function(_, err) print("closing on error:", err) end })
  error("boom", 0)
end))
local c <const> = 42
print(c, rawlen({ 1, 2 }), rawequal(a, a), next({}))
