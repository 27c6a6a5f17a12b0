-- io and os libraries: files, lines, seek, read formats, stdin, dates
local name = "iolib-test.txt"
local f = assert(io.open(name, "w"))
print(io.type(f), io.type(io.stdout), io.type(42))
f:write("first line\n", "second line\n", 42, " ", 3.5, "\n", "0x10 -7 1e3 .5\n", "no newline at end")
print(f:seek("cur"), f:seek("set", 0), f:seek("end"))
f:close()
print(io.type(f), pcall(f.write, f, "x"))

for line in io.lines(name) do io.write("[", line, "]") end
print()
for a, b in io.lines(name, 1, 3) do io.write(a, "|", b, " ") if a == "o" then break end end
print()
f = assert(io.open(name, "r"))
print(f:read("l"), f:read("L"), f:read("n", "n"), f:read("l"))
print(f:read("n", "n", "n", "n"))
print(f:read(2), f:read(0), f:read("a"), f:read("a"), f:read("l"), f:read(0))
f:seek("set", 6)
print(f:read(4), f:seek("cur"))
f:close()

f = assert(io.open(name, "a+"))
f:write("\nappended")
f:seek("set", 0)
local all = f:read("a")
f:close()
print(#all, select(2, all:gsub("\n", "")))

-- binary data round trip
f = assert(io.open("bin.dat", "wb"))
local bytes = {}
for i = 0, 255 do bytes[#bytes + 1] = string.char(i) end
f:write(table.concat(bytes)); f:close()
f = assert(io.open("bin.dat", "rb"))
local data = f:read("a"); f:close()
print(#data, data:byte(1), data:byte(256), data == table.concat(bytes))

-- setvbuf, flush, write chaining, output redirection
f = assert(io.open("out.txt", "w"))
print(f:setvbuf("full", 1024), f:setvbuf("no"), f:setvbuf("line"))
print(f:write("a"):write("b"):write("c") == f)
local old = io.output()
io.output(f); io.write("through io.write\n"); io.output(old)
f:close()
for l in io.lines("out.txt") do print("out.txt:", l) end

-- errors from the io library
print(io.open("/nonexistent/dir/file", "r"))
print(pcall(io.lines, "/nonexistent/file"))
print(pcall(io.open, name, "rz"))
print(io.close(io.open(name)))

-- os: rename, remove, tmpname, getenv, date, time, clock, difftime
print(os.rename(name, "renamed.txt"), io.open(name) == nil)
print(os.remove("renamed.txt"), os.remove("renamed.txt"))
local tmp = os.tmpname()
print(type(tmp), io.open(tmp, "w"):write("tmp"):close(), os.remove(tmp))
local tf = io.tmpfile(); tf:write("temporary"); tf:seek("set"); print(tf:read("a")); tf:close()
print(os.getenv("MACHLINK_PROJECT_VAR"), os.getenv("MACHLINK_UNSET_VARIABLE"))
print(os.date("!%Y-%m-%d %H:%M:%S", 0), os.date("!%A %B %d %j %p", 1000000000))
local d = os.date("!*t", 1234567890)
print(d.year, d.month, d.day, d.hour, d.min, d.sec, d.wday, d.yday, d.isdst)
print(os.date("!%c", 86400 * 365), os.date("!%x %X", 1e9))
local t1 = os.time({ year = 2024, month = 2, day = 29, hour = 12 })
local t2 = os.time({ year = 2024, month = 3, day = 1, hour = 12 })
print(os.difftime(t2, t1), os.date("%Y-%m-%d", t1), os.date("*t", t1).yday)
print(os.time({ year = 2000, month = 13, day = 1, hour = 0 }) == os.time({ year = 2001, month = 1, day = 1, hour = 0 }))
print(type(os.time()), type(os.clock()), os.clock() >= 0)
print(pcall(os.date, "%Ez"), pcall(os.date, "%"))

-- stdin (run.sh pipes a few lines in)
print("stdin:", io.read("n"), io.read("n"), io.read("l"), io.read("L"))
for l in io.lines() do io.write("stdin line: ", l, "\n") end
print("stdin at eof:", io.read("a") == "", io.read("l"))
io.stderr:write("to stderr\n")
os.remove("bin.dat"); os.remove("out.txt")
