/* dyld's image queries and a backtrace across two images: the program
 * and libunwlib.dylib (unwlib.c), which calls back into the program.
 * Each frame's image is found with _dyld_find_unwind_sections. */
#include <mach-o/dyld.h>
#include <mach-o/loader.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unwind.h>

/* From dyld's private header: what libunwind asks dyld for. */
struct dyld_unwind_sections {
    const struct mach_header *mh;
    const void *dwarf_section;
    uintptr_t dwarf_section_length;
    const void *compact_unwind_section;
    uintptr_t compact_unwind_section_length;
};
extern bool _dyld_find_unwind_sections(void *addr, struct dyld_unwind_sections *info);
extern intptr_t _dyld_get_image_slide(const struct mach_header *mh);
extern const struct mach_header_64 _mh_execute_header;

int lib_call(int (*callback)(int), int x);

static const char *base(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static int image_of(const struct mach_header *mh) {
    for (uint32_t i = 0; i < _dyld_image_count(); i++)
        if (_dyld_get_image_header(i) == mh)
            return (int)i;
    return -1;
}

static _Unwind_Reason_Code trace(struct _Unwind_Context *ctx, void *arg) {
    int *frames = arg;
    struct dyld_unwind_sections s;
    void *ip = (void *)(_Unwind_GetIP(ctx) - 1);
    if (!_dyld_find_unwind_sections(ip, &s)) {
        printf("frame %d: in no image\n", *frames);
    } else {
        /* (Whether __eh_frame is there is the linker's choice.) */
        printf("frame %d: image %d, unwind info %s\n", *frames, image_of(s.mh),
               s.compact_unwind_section_length ? "yes" : "no");
    }
    return ++*frames == 3 ? _URC_NORMAL_STOP : _URC_NO_REASON;
}

static int callback(int x) {
    int frames = 0;
    int code = _Unwind_Backtrace(trace, &frames);
    printf("backtrace returned %d\n", code);
    return x + frames;
}

int main(void) {
    uint32_t n = _dyld_image_count();
    printf("images: %u\n", n);
    for (uint32_t i = 0; i < n; i++) {
        const struct mach_header *mh = _dyld_get_image_header(i);
        printf("image %u: %s, magic %#x, slides agree: %s\n", i,
               base(_dyld_get_image_name(i)), mh->magic,
               _dyld_get_image_slide(mh) == _dyld_get_image_vmaddr_slide(i) ? "yes" : "no");
    }
    printf("image 0 is the program: %s\n",
           _dyld_get_image_header(0) == (const void *)&_mh_execute_header ? "yes" : "no");
    printf("past the last image: %s\n",
           _dyld_get_image_header(n) == NULL && _dyld_get_image_name(n) == NULL ? "null" : "?");
    struct dyld_unwind_sections s;
    printf("a stack address is in an image: %s\n",
           _dyld_find_unwind_sections(&s, &s) ? "yes" : "no");
    printf("lib_call returned %d\n", lib_call(callback, 40));
    return 0;
}
