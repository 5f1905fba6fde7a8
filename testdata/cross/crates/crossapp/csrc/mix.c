/* Computed in C so that the output proves the C code was compiled for, and
 * ran on, the target: FNV-1a (32 bit) of a byte string, and the
 * architecture the C compiler generated code for. */
#include <stddef.h>
#include <stdint.h>

uint32_t mix_fnv1a(const unsigned char *p, size_t n) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 16777619u;
    }
    return h;
}

const char *mix_arch(void) {
#if defined(__aarch64__)
    return "aarch64";
#elif defined(__x86_64__)
    return "x86_64";
#else
    return "other";
#endif
}
