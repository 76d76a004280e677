/*
 * sysnr.h — x86-64 system call numbers newer than some C library headers
 * (Debian 12's stop at Linux 6.1). Private to src/trace.
 */
#ifndef FNGUARD_SYSNR_H
#define FNGUARD_SYSNR_H

#include <sys/syscall.h>

#ifndef __NR_io_uring_setup
#define __NR_io_uring_setup 425
#define __NR_io_uring_enter 426
#define __NR_io_uring_register 427
#endif
#ifndef __NR_pidfd_open
#define __NR_pidfd_open 434
#endif
#ifndef __NR_openat2
#define __NR_openat2 437
#endif
#ifndef __NR_pidfd_getfd
#define __NR_pidfd_getfd 438
#endif
#ifndef __NR_fchmodat2
#define __NR_fchmodat2 452
#endif

#endif
