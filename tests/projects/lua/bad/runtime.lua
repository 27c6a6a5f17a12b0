local function f(t)
  return t.missing.field
end
local function g() return f({}) end
print("before error")
g()
