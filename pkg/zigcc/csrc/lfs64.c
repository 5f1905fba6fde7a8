/* Forwarders for the LFS64 names that musl 1.2.4 (bundled with zig 0.11)
 * dropped from its library while older Rust standard libraries and libc
 * crates still link them. On musl every off_t, struct stat and struct
 * dirent is 64-bit already, so each forwards to the plain call. They are
 * weak so that a musl which still provides the name, or an object that
 * defines it, wins. Added by `muslrust-chef zig cc` to every link. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

/* musl maps the names to the plain ones with macros under
 * _LARGEFILE64_SOURCE; the definitions below need the real names. */
#undef open64
#undef openat64
#undef creat64
#undef stat64
#undef fstat64
#undef lstat64
#undef fstatat64
#undef lseek64
#undef ftruncate64
#undef truncate64
#undef pread64
#undef pwrite64
#undef preadv64
#undef pwritev64
#undef mmap64
#undef readdir64
#undef readdir64_r
#undef posix_fadvise64
#undef posix_fallocate64
#undef fallocate64
#undef sendfile64
#undef getrlimit64
#undef setrlimit64
#undef prlimit64
#undef statfs64
#undef fstatfs64
#undef statvfs64
#undef fstatvfs64

#define WEAK __attribute__((weak))

static mode_t open_mode(int flags, va_list ap) {
	if (flags & (O_CREAT | O_TMPFILE)) return va_arg(ap, mode_t);
	return 0;
}

WEAK int open64(const char *p, int flags, ...) {
	va_list ap; va_start(ap, flags); mode_t m = open_mode(flags, ap); va_end(ap);
	return open(p, flags, m);
}
WEAK int openat64(int fd, const char *p, int flags, ...) {
	va_list ap; va_start(ap, flags); mode_t m = open_mode(flags, ap); va_end(ap);
	return openat(fd, p, flags, m);
}
WEAK int creat64(const char *p, mode_t m) { return creat(p, m); }
WEAK int stat64(const char *restrict p, struct stat *restrict st) { return stat(p, st); }
WEAK int fstat64(int fd, struct stat *st) { return fstat(fd, st); }
WEAK int lstat64(const char *restrict p, struct stat *restrict st) { return lstat(p, st); }
WEAK int fstatat64(int fd, const char *restrict p, struct stat *restrict st, int flag) { return fstatat(fd, p, st, flag); }
WEAK off_t lseek64(int fd, off_t off, int whence) { return lseek(fd, off, whence); }
WEAK int ftruncate64(int fd, off_t len) { return ftruncate(fd, len); }
WEAK int truncate64(const char *p, off_t len) { return truncate(p, len); }
WEAK ssize_t pread64(int fd, void *buf, size_t n, off_t off) { return pread(fd, buf, n, off); }
WEAK ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off) { return pwrite(fd, buf, n, off); }
WEAK ssize_t preadv64(int fd, const struct iovec *iov, int cnt, off_t off) { return preadv(fd, iov, cnt, off); }
WEAK ssize_t pwritev64(int fd, const struct iovec *iov, int cnt, off_t off) { return pwritev(fd, iov, cnt, off); }
WEAK void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off) { return mmap(addr, len, prot, flags, fd, off); }
WEAK struct dirent *readdir64(DIR *d) { return readdir(d); }
WEAK int readdir64_r(DIR *restrict d, struct dirent *restrict e, struct dirent **restrict r) { return readdir_r(d, e, r); }
WEAK int posix_fadvise64(int fd, off_t off, off_t len, int advice) { return posix_fadvise(fd, off, len, advice); }
WEAK int posix_fallocate64(int fd, off_t off, off_t len) { return posix_fallocate(fd, off, len); }
WEAK int fallocate64(int fd, int mode, off_t off, off_t len) { return fallocate(fd, mode, off, len); }
WEAK ssize_t sendfile64(int out, int in, off_t *off, size_t n) { return sendfile(out, in, off, n); }
WEAK int getrlimit64(int res, struct rlimit *rl) { return getrlimit(res, rl); }
WEAK int setrlimit64(int res, const struct rlimit *rl) { return setrlimit(res, rl); }
WEAK int prlimit64(pid_t pid, int res, const struct rlimit *n, struct rlimit *o) { return prlimit(pid, res, n, o); }
WEAK int statfs64(const char *p, struct statfs *b) { return statfs(p, b); }
WEAK int fstatfs64(int fd, struct statfs *b) { return fstatfs(fd, b); }
WEAK int statvfs64(const char *restrict p, struct statvfs *restrict b) { return statvfs(p, b); }
WEAK int fstatvfs64(int fd, struct statvfs *b) { return fstatvfs(fd, b); }
