#!/usr/bin/env bash
# Lua 5.4: the objects of src/Makefile (CORE_O + LIB_O, lua.o, luac.o) and
# its two programs, lua and luac, with the Makefile's flags:
# -std=gnu99 -DLUA_COMPAT_5_3 plus the platform's SYSCFLAGS, -DLUA_USE_LINUX
# for `make linux-noreadline`, -DLUA_USE_MACOSX for `make macosx` (without
# LUA_USE_READLINE: there is no macOS libreadline here).
#   build.sh SRC_DIR OUT_DIR native|macos
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
build_args "$@"

core=(lapi lcode lctype ldebug ldo ldump lfunc lgc llex lmem lobject lopcodes
      lparser lstate lstring ltable ltm lundump lvm lzio)
libs=(lauxlib lbaselib lcorolib ldblib liolib lmathlib loadlib loslib lstrlib
      ltablib lutf8lib linit)
# Debian's luaconf.h patch (module paths) includes the multiarch header that
# debian/rules generates; the same one serves both builds.
mkdir -p "$OUT/include"
echo '#define DEB_HOST_MULTIARCH "x86_64-linux-gnu"' > "$OUT/include/lua5.4-deb-multiarch.h"
flags=(-std=gnu99 -DLUA_COMPAT_5_3 -Iinclude)
if [ "$MODE" = native ]; then
    flags+=(-DLUA_USE_LINUX)
else
    flags+=(-DLUA_USE_MACOSX)
fi

srcs=()
for f in "${core[@]}" "${libs[@]}" lua luac; do srcs+=("$SRC/src/$f.c"); done
compile_all "${flags[@]}" -- "${srcs[@]}"
base=()
for f in "${core[@]}" "${libs[@]}"; do base+=("$f.o"); done
# -Wl,-E: the Makefile exports lua's symbols for C modules loaded by require.
link lua lua.o "${base[@]}" -- -Wl,-E -lm -ldl
link luac luac.o "${base[@]}" -- -lm -ldl
