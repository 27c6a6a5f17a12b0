/* sqlite_cfg.h for the macOS build: what SQLite's configure finds on macOS
 * (no <malloc.h>, malloc_usable_size, strchrnul, pread64/pwrite64 or
 * fdatasync declaration), written by hand because configure cannot target
 * macOS from Linux. No zlib, as in config-native.h. */
#define HAVE_DLFCN_H 1
#define HAVE_GMTIME_R 1
#define HAVE_INT16_T 1
#define HAVE_INT32_T 1
#define HAVE_INT64_T 1
#define HAVE_INT8_T 1
#define HAVE_INTPTR_T 1
#define HAVE_INTTYPES_H 1
#define HAVE_ISNAN 1
#define HAVE_LOCALTIME_R 1
#define HAVE_MEMORY_H 1
#define HAVE_PREAD 1
#define HAVE_PWRITE 1
#define HAVE_STDINT_H 1
#define HAVE_STDLIB_H 1
#define HAVE_STRINGS_H 1
#define HAVE_STRING_H 1
#define HAVE_SYS_STAT_H 1
#define HAVE_SYS_TYPES_H 1
#define HAVE_UINT16_T 1
#define HAVE_UINT32_T 1
#define HAVE_UINT64_T 1
#define HAVE_UINT8_T 1
#define HAVE_UINTPTR_T 1
#define HAVE_UNISTD_H 1
#define HAVE_USLEEP 1
#define HAVE_UTIME 1
#define STDC_HEADERS 1
#ifndef _DARWIN_USE_64_BIT_INODE
# define _DARWIN_USE_64_BIT_INODE 1
#endif
