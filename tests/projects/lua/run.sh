#!/usr/bin/env bash
# Runs the Lua scripts in scripts/ with lua, plus luac compile/list/run and
# the interpreter's command-line options, error exits and stdin.
#   run.sh OUT_DIR [RUNNER]
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
run_args "$@"
here="$projects_dir/lua"
# The interpreter reads these; a fixed environment keeps runs comparable.
unset LUA_INIT LUA_INIT_5_4 LUA_PATH LUA_PATH_5_4 LUA_CPATH LUA_CPATH_5_4
export TZ=UTC LC_ALL=C MACHLINK_PROJECT_VAR=project-value
cp "$here"/scripts/*.lua "$here"/bad/*.lua .

for s in strings tables functions errors mathlib; do
    step "lua $s.lua" prog lua "$s.lua"
done
iolib() { printf '12 3.5 rest of line\nsecond\nthird\nfourth' | prog lua iolib.lua; }
step "lua iolib.lua" iolib
expect 3 "lua modules.lua (exits 3)" prog lua modules.lua

luac_list() {
    # luac -l prints each function's address; keep everything else.
    prog luac -l -l -p functions.lua | sed -E 's/0x[0-9a-f]+/ADDR/g' | sed -n '1,80p;/^constants/,+5p' 
}
luac_run() { prog luac -s -o mathlib.luac mathlib.lua && prog lua mathlib.luac | tail -3; }
step "luac -l -l -p" luac_list
step "luac -s -o; lua mathlib.luac" luac_run
step "luac -v" prog luac -v
expect 1 "luac syntax error" prog luac -p syntax.lua

step "lua -v -e" prog lua -v -e 'print(#arg, 1 + 1)'
step "lua -e with args" prog lua -e 'x = 10' -e 'print(x * 2, ...)' - a b <<< 'print("from stdin", ..., #arg, arg[0], arg[1], arg[2])'
step "lua script args" prog lua -e 'print(arg[-1], arg[0])' args.lua one "two words" 
step "lua -W warnings" prog lua -W -e 'warn("visible warning")'
expect 1 "lua runtime error" prog lua runtime.lua
expect 1 "lua missing script" prog lua no-such-script.lua
expect 1 "lua error object" prog lua -e 'error(setmetatable({}, {__tostring = function() return "object error" end}))'
expect 1 "lua os.exit(false)" prog lua -e 'os.exit(false)'
step "lua os.exit(true, true)" prog lua -e 'io.write("closing state\n") os.exit(true, true)'
exit "$STATUS"
