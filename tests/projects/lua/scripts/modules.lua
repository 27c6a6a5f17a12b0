-- require and package: a module from the current directory, preload,
-- package.searchpath, and the exit status via os.exit
package.path = "./?.lua"
local f = io.open("mymod.lua", "w")
f:write([[
local M = {}
M.loaded_as = ...
function M.greet(n) return "hello, " .. n end
return M
]])
f:close()
local m = require("mymod")
print(m.greet("module"), m.loaded_as, package.loaded.mymod == m, require("mymod") == m)
package.preload.virtual = function(name) return { name = name } end
print(require("virtual").name)
print(package.searchpath("mymod", package.path), package.searchpath("nothere", "./?.lua;./?.luac"))
print(pcall(require, "does.not.exist"))
print(package.config:sub(1, 1), type(package.searchers), #package.searchers)
os.remove("mymod.lua")
print(string.format("%s %s", _VERSION, math.type(0)))
io.stdout:write("exiting with status 3\n")
os.exit(3)
