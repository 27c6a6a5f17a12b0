-- math library and numeric algorithms
local f = string.format
print(math.pi, math.huge, -math.huge, math.maxinteger, math.mininteger)
print(math.floor(3.7), math.ceil(3.2), math.floor(-3.5), math.ceil(-3.5), math.abs(-4), math.abs(math.mininteger))
print(math.max(3, 9, 1), math.min(3, 9, 1), math.max(1.5, 2), math.fmod(10, 3), math.modf(3.75), math.modf(-2.5))
print(f("%.10f %.10f %.10f", math.sqrt(2), math.exp(1), math.log(10)))
print(f("%.10f %.10f %.10f", math.log(8, 2), math.log(1000, 10), math.log(100, 3)))
print(f("%.10f %.10f %.10f %.10f", math.sin(1), math.cos(1), math.tan(1), math.atan(1, 2)))
print(f("%.10f %.10f %.10f", math.asin(0.5), math.acos(0.5), math.atan(-1)))
print(f("%.6f %.6f", math.deg(math.pi), math.rad(180)))
print(2^10, 2^0.5, 10 / 2, 1e308 * 10, -(0 / 0) ~= -(0 / 0))
print(math.tointeger(2^31), 2^31 | 0, math.type(2^31), 1 // 1, 1.0 // 1)
print(8 % 3.5, -2^2, 2^-1, 100000000000000 * 100000, math.maxinteger * 2)
math.randomseed(42)
local r = {}
for i = 1, 8 do r[i] = math.random(1, 100) end
print(table.concat(r, " "))
print(f("%.12f", math.random()), math.random(5), math.random(0) ~= nil)
math.randomseed(42)
print(math.random(1, 100) == r[1])
print(pcall(math.random, 2, 1))

-- sieve of Eratosthenes
local N = 100000
local sieve = {}
for i = 2, N do sieve[i] = true end
for i = 2, math.floor(math.sqrt(N)) do
  if sieve[i] then for j = i * i, N, i do sieve[j] = false end end
end
local primes, last = 0, 0
for i = 2, N do if sieve[i] then primes = primes + 1; last = i end end
print("primes below 100000:", primes, "largest:", last)

-- spectral norm (from the benchmarks game)
local function A(i, j) local ij = i + j - 1; return 1.0 / (ij * (ij - 1) * 0.5 + i) end
local function Av(x, y, n) for i = 1, n do local a = 0; for j = 1, n do a = a + x[j] * A(i, j) end; y[i] = a end end
local function Atv(x, y, n) for i = 1, n do local a = 0; for j = 1, n do a = a + x[j] * A(j, i) end; y[i] = a end end
local function AtAv(x, y, t, n) Av(x, t, n); Atv(t, y, n) end
local n = 100
local u, v, t = {}, {}, {}
for i = 1, n do u[i] = 1 end
for _ = 1, 10 do AtAv(u, v, t, n); AtAv(v, u, t, n) end
local vBv, vv = 0, 0
for i = 1, n do local ui, vi = u[i], v[i]; vBv = vBv + ui * vi; vv = vv + vi * vi end
print(f("spectral norm: %0.9f", math.sqrt(vBv / vv)))

-- n-body (from the benchmarks game), 1000 steps
local sqrt = math.sqrt
local PI = math.pi
local SOLAR_MASS = 4 * PI * PI
local DAYS = 365.24
local bodies = {
  { x = 0, y = 0, z = 0, vx = 0, vy = 0, vz = 0, mass = SOLAR_MASS },
  { x = 4.84143144246472090e+00, y = -1.16032004402742839e+00, z = -1.03622044471123109e-01,
    vx = 1.66007664274403694e-03 * DAYS, vy = 7.69901118419740425e-03 * DAYS,
    vz = -6.90460016972063023e-05 * DAYS, mass = 9.54791938424326609e-04 * SOLAR_MASS },
  { x = 8.34336671824457987e+00, y = 4.12479856412430479e+00, z = -4.03523417114321381e-01,
    vx = -2.76742510726862411e-03 * DAYS, vy = 4.99852801234917238e-03 * DAYS,
    vz = 2.30417297573763929e-05 * DAYS, mass = 2.85885980666130812e-04 * SOLAR_MASS },
  { x = 1.28943695621391310e+01, y = -1.51111514016986312e+01, z = -2.23307578892655734e-01,
    vx = 2.96460137564761618e-03 * DAYS, vy = 2.37847173959480950e-03 * DAYS,
    vz = -2.96589568540237556e-05 * DAYS, mass = 4.36624404335156298e-05 * SOLAR_MASS },
  { x = 1.53796971148509165e+01, y = -2.59193146099879641e+01, z = 1.79258772950371181e-01,
    vx = 2.68067772490389322e-03 * DAYS, vy = 1.62824170038242295e-03 * DAYS,
    vz = -9.51592254519715870e-05 * DAYS, mass = 5.15138902046611451e-05 * SOLAR_MASS },
}
local function advance(nb, dt)
  for i = 1, nb do
    local bi = bodies[i]
    local bix, biy, biz, bimass = bi.x, bi.y, bi.z, bi.mass
    local bivx, bivy, bivz = bi.vx, bi.vy, bi.vz
    for j = i + 1, nb do
      local bj = bodies[j]
      local dx, dy, dz = bix - bj.x, biy - bj.y, biz - bj.z
      local d2 = dx * dx + dy * dy + dz * dz
      local mag = dt / (d2 * sqrt(d2))
      local bm = bj.mass * mag
      bivx = bivx - (dx * bm); bivy = bivy - (dy * bm); bivz = bivz - (dz * bm)
      bm = bimass * mag
      bj.vx = bj.vx + (dx * bm); bj.vy = bj.vy + (dy * bm); bj.vz = bj.vz + (dz * bm)
    end
    bi.vx, bi.vy, bi.vz = bivx, bivy, bivz
    bi.x = bix + dt * bivx; bi.y = biy + dt * bivy; bi.z = biz + dt * bivz
  end
end
local function energy(nb)
  local e = 0
  for i = 1, nb do
    local bi = bodies[i]
    local vx, vy, vz, bim = bi.vx, bi.vy, bi.vz, bi.mass
    e = e + (0.5 * bim * (vx * vx + vy * vy + vz * vz))
    for j = i + 1, nb do
      local bj = bodies[j]
      local dx, dy, dz = bi.x - bj.x, bi.y - bj.y, bi.z - bj.z
      e = e - ((bim * bj.mass) / sqrt(dx * dx + dy * dy + dz * dz))
    end
  end
  return e
end
local px, py, pz = 0, 0, 0
for i = 1, #bodies do local b = bodies[i]; px = px + b.vx * b.mass; py = py + b.vy * b.mass; pz = pz + b.vz * b.mass end
bodies[1].vx, bodies[1].vy, bodies[1].vz = -px / SOLAR_MASS, -py / SOLAR_MASS, -pz / SOLAR_MASS
print(f("n-body energy before: %0.9f", energy(#bodies)))
for _ = 1, 1000 do advance(#bodies, 0.01) end
print(f("n-body energy after:  %0.9f", energy(#bodies)))

-- fannkuch-redux n = 7
local function fannkuch(nn)
  local p, q, s, sign, maxflips, sum = {}, {}, {}, 1, 0, 0
  for i = 1, nn do p[i] = i; q[i] = i; s[i] = i end
  repeat
    local q1 = p[1]
    if q1 ~= 1 then
      for i = 2, nn do q[i] = p[i] end
      local flips = 1
      repeat
        local qq = q[q1]
        if qq == 1 then sum = sum + sign * flips; if flips > maxflips then maxflips = flips end; break end
        q[q1] = q1
        if q1 >= 4 then local i, j = 2, q1 - 1; repeat q[i], q[j] = q[j], q[i]; i = i + 1; j = j - 1 until i >= j end
        q1 = qq; flips = flips + 1
      until false
    end
    if sign == 1 then p[2], p[1] = p[1], p[2]; sign = -1
    else
      p[2], p[3] = p[3], p[2]; sign = 1
      for i = 3, nn do
        local sx = s[i]
        if sx ~= 1 then s[i] = sx - 1; break end
        if i == nn then return sum, maxflips end
        s[i] = i
        local t1 = p[1]; for j = 1, i do p[j] = p[j + 1] end; p[i + 1] = t1
      end
    end
  until false
end
print("fannkuch(7):", fannkuch(7))

-- arbitrary-precision factorial with digit arrays
local function bigfact(m)
  local digits = { 1 }
  for k = 2, m do
    local carry = 0
    for i = 1, #digits do
      local v = digits[i] * k + carry
      digits[i] = v % 10; carry = v // 10
    end
    while carry > 0 do digits[#digits + 1] = carry % 10; carry = carry // 10 end
  end
  local s = {}
  for i = #digits, 1, -1 do s[#s + 1] = digits[i] end
  return table.concat(s)
end
print("50! =", bigfact(50))
