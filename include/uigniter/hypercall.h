/*
 * hypercall.h — the one interface between uvmm (the monitor) and uk.elf (the kernel).
 *
 * Boot: uvmm enters the kernel in 64-bit long mode at its ELF entry point with
 * %rdi = guest-physical address of a struct uh_bootinfo. Paging is on; the monitor's
 * page tables map all guest-physical memory (RAM followed by the image) twice:
 *   UH_PHYSMAP_BASE + gpa   (the kernel's view of memory), and
 *   UH_KERNEL_BASE + gpa    for the first GiB (where uk.elf is linked, -mcmodel=kernel).
 * The lower half of the address space is empty and belongs to the application.
 *
 * Calls: the guest executes `outl %eax, $(UH_PORT_BASE + nr)` with %eax = the
 * guest-physical address (below 4 GiB) of the call's argument struct. The monitor
 * checks every address and length it is given against guest memory, performs the
 * call and writes results back into the struct. A malformed call ends the guest
 * with exit status 125. All structs are little-endian with naturally aligned,
 * fixed-size fields; pointers into the guest are `uh_gpa_t` (guest-physical).
 */
#ifndef UIGNITER_HYPERCALL_H
#define UIGNITER_HYPERCALL_H

#include <stdint.h>

#define UH_PORT_BASE     0x500
#define UH_PHYSMAP_BASE  0xffff800000000000ULL
#define UH_KERNEL_BASE   0xffffffff80000000ULL
#define UH_BOOTINFO_GPA  0x8000ULL  /* one page: struct uh_bootinfo, then strings */
#define UH_KERNEL_GPA    0x100000ULL /* uk.elf is linked to load here */

/* A guest-physical address. The monitor (which defines UH_HOST) sees a struct so that
 * it cannot use one without checking it; the kernel sees a plain integer. */
#ifdef UH_HOST
typedef struct {
    uint64_t v;
} uh_gpa_t;
#else
typedef uint64_t uh_gpa_t;
#endif

enum uh_call {
    UH_EXIT = 0,        /* struct uh_exit: the guest is done (never returns) */
    UH_WRITE = 1,       /* struct uh_io: write to the host's stdout (fd 1) or stderr (fd 2) */
    UH_READ = 2,        /* struct uh_io: read from the host's stdin (fd 0); -EAGAIN if not ready */
    UH_SEEK = 3,        /* struct uh_seek: lseek on host fd 0, 1 or 2 (regular files only) */
    UH_POLL = 4,        /* struct uh_poll: sleep until a device is ready or the timeout ends */
    UH_TIME = 5,        /* struct uh_time: host clocks now */
    UH_RANDOM = 6,      /* struct uh_io: fill with random bytes from the host */
    UH_LOG = 7,         /* struct uh_buf: one diagnostic line for --verbose (stderr, prefixed) */
    UH_MARK = 8,        /* struct uh_mark: boot-time checkpoint (--verbose, or APP_ENTRY with UH_BOOT_NOTIFY) */
    UH_NET_BASE = 16,   /* 16..31: network device (see net module) */
    UH_VOL_BASE = 32,   /* 32..63: host-directory volumes */
    UH_NR_CALLS = 64,
};

/* UH_EXIT */
enum uh_exit_kind {
    UH_EXIT_STATUS = 0, /* the app exited: status is its exit status (0..255) */
    UH_EXIT_SIGNAL = 1, /* the app was killed by signal `status` at rip/addr */
    UH_EXIT_PANIC = 2,  /* the kernel gave up: msg says why; uvmm exits with 125 */
};
struct uh_exit {
    uint32_t kind;
    int32_t status;
    uint64_t rip;
    uint64_t addr;
    uh_gpa_t msg;
    uint64_t msg_len;
};

/* UH_WRITE, UH_READ, UH_RANDOM: a buffer as a list of guest-physical segments, so a
 * buffer that is contiguous only in the guest's virtual memory needs one call. */
#define UH_IO_MAX_SEGS 64
struct uh_seg {
    uh_gpa_t gpa;
    uint64_t len;
};
struct uh_io {
    uint32_t fd;    /* UH_WRITE: 1 or 2; UH_READ: 0; UH_RANDOM: unused */
    uint32_t nsegs; /* at most UH_IO_MAX_SEGS */
    uh_gpa_t segs;  /* array of nsegs struct uh_seg */
    int64_t ret;    /* bytes done, or -errno (-EAGAIN: not ready; -EPIPE: reader gone) */
};

/* UH_SEEK: whence is SEEK_SET/CUR/END, or UH_SEEK_FIONREAD for the bytes readable now. */
#define UH_SEEK_FIONREAD 0x100
struct uh_seek {
    uint32_t fd;
    uint32_t whence;
    int64_t offset;
    int64_t ret; /* new offset or -errno */
};

/* UH_POLL: wait until one of `want` is ready, or timeout_ns passes (-1: forever). */
#define UH_READY_STDIN (1u << 0)
#define UH_READY_NET   (1u << 1)
#define UH_READY_SIGNAL (1u << 31) /* the host asked the guest to stop (SIGTERM/SIGINT) */
struct uh_poll {
    int64_t timeout_ns;
    uint32_t want;
    uint32_t ready;  /* out */
    uint64_t mono_ns; /* out: host CLOCK_MONOTONIC when the call returned */
    uint32_t signo;  /* out: the host signal behind UH_READY_SIGNAL */
    uint32_t pad;
    /* Optional, so that one exit does a whole wait cycle of the network device:
     * net_tx (a struct uh_net_batch, or 0) is sent before sleeping, as UH_NET_SEND
     * would; net_rx (or 0) is filled after waking when the tap is readable, as
     * UH_NET_RECV would (its ret is 0 otherwise). */
    uh_gpa_t net_tx;
    uh_gpa_t net_rx;
};

/* UH_TIME */
struct uh_time {
    uint64_t mono_ns; /* host CLOCK_MONOTONIC */
    uint64_t real_ns; /* host CLOCK_REALTIME */
};

/* UH_LOG */
struct uh_buf {
    uh_gpa_t buf;
    uint64_t len;
};

/* UH_MARK */
enum uh_mark_id {
    UH_MARK_KERNEL_ENTRY = 0, /* first C code in the kernel */
    UH_MARK_APP_ENTRY = 1,    /* about to jump to the app's entry point */
    UH_MARK_NR
};
struct uh_mark {
    uint32_t id;
    uint32_t pad;
    uint64_t guest_tsc; /* guest TSC when the mark was taken */
};

/* Network device: one Ethernet interface backed by a host tap.
 * UH_NET_INFO fills struct uh_net_info (present == 0 when uvmm has no --net).
 * UH_NET_SEND and UH_NET_RECV move batches of frames through struct uh_net_batch:
 * `slots` is an array of n guest-physical addresses of UH_NET_SLOT-byte buffers,
 * `lens` n uint16_t frame lengths. SEND transmits lens[i] bytes of slot i for
 * i < n (a frame the host cannot take now is dropped, as a NIC would); RECV fills
 * slots with the frames waiting on the tap, up to n, and sets `ret` to their number:
 * ret == n means more may be waiting. Frames are Ethernet without FCS. */
enum uh_net_call {
    UH_NET_INFO = UH_NET_BASE + 0,
    UH_NET_SEND = UH_NET_BASE + 1,
    UH_NET_RECV = UH_NET_BASE + 2,
};
#define UH_NET_SLOT 2048     /* bytes per frame slot; frames are at most 1514 + 4 (VLAN) */
#define UH_NET_MAX_BATCH 256 /* slots per call */
struct uh_net_info {
    uint32_t present;
    uint16_t mtu;
    uint8_t mac[6];
    uint32_t ipv4;    /* network byte order; 0: none given */
    uint32_t prefix;  /* prefix length of ipv4 */
    uint32_t gateway; /* network byte order; 0: none */
    uint32_t dns;     /* network byte order; 0: none */
};
struct uh_net_batch {
    uh_gpa_t slots; /* uh_gpa_t[n] */
    uh_gpa_t lens;
    uint32_t n;
    uint32_t ret; /* out: frames sent or received */
};

/* Volumes: host directories mounted in the guest (uvmm --volume HOSTDIR:GUESTDIR[:ro]).
 * The guest names files by paths relative to a volume's root ("." is the root),
 * already resolved by the guest (no symlinks inside them); the monitor resolves them
 * again beneath the volume's root and never follows a symlink in the last component.
 * Open files are monitor handles. Every call sets `ret` to 0 (or a count) or -errno:
 * a bad volume is -ENODEV, a bad handle -EBADF, a write to a read-only volume -EROFS,
 * a path leaving the volume what openat2(RESOLVE_BENEATH) says (-EXDEV, -ELOOP).
 * Malformed calls (paths that do not fit or hold a NUL, bad segments) end the guest.
 *
 * UH_VOL_INFO     uh_vol_info: volume `index` (-ENOENT past the last one)
 * UH_VOL_LOOKUP   uh_vol_req: attr of path (the link itself if it is a symlink)
 * UH_VOL_OPEN     uh_vol_req: open path (flags: UH_VOL_O_*) -> handle, attr; regular
 *                 files and directories only (-ENXIO for others)
 * UH_VOL_CREATE   uh_vol_req: create regular file path with mode, exclusively ->
 *                 handle open for reading and writing, attr
 * UH_VOL_CLOSE    uh_vol_req: handle
 * UH_VOL_READ,    uh_vol_io: preadv/pwritev at offset into/from the segments
 * UH_VOL_WRITE
 * UH_VOL_FSTAT    uh_vol_req: attr of handle
 * UH_VOL_TRUNCATE uh_vol_req: size arg; of handle (opened for writing), or of path
 *                 when handle is UH_VOL_NOHANDLE
 * UH_VOL_FSYNC    uh_vol_req: fsync (flags & 1: fdatasync) of handle, to the disk
 * UH_VOL_READDIR  uh_vol_dir: Linux dirent64 records of directory handle from the
 *                 host's cookie `cookie` (0: the start); ret bytes, 0 at the end
 * UH_VOL_MKDIR    uh_vol_req: path, mode
 * UH_VOL_UNLINK   uh_vol_req: path; flags UH_VOL_RMDIR removes a directory
 * UH_VOL_RENAME   uh_vol_req: path to path2; flags UH_VOL_NOREPLACE
 * UH_VOL_READLINK uh_vol_req: target of symlink path into path2 (path2_len bytes at
 *                 most); ret its length
 * UH_VOL_SYMLINK  uh_vol_req: symlink path -> path2; only relative targets that stay
 *                 inside the volume (-EPERM otherwise)
 * UH_VOL_SETATTR  uh_vol_req: of handle, or of path when handle is UH_VOL_NOHANDLE:
 *                 flags UH_VOL_SET_MODE (mode), UH_VOL_SET_ATIME (arg, ns since the
 *                 epoch), UH_VOL_SET_MTIME (arg2)
 */
enum uh_vol_call {
    UH_VOL_INFO = UH_VOL_BASE + 0,
    UH_VOL_LOOKUP = UH_VOL_BASE + 1,
    UH_VOL_OPEN = UH_VOL_BASE + 2,
    UH_VOL_CREATE = UH_VOL_BASE + 3,
    UH_VOL_CLOSE = UH_VOL_BASE + 4,
    UH_VOL_READ = UH_VOL_BASE + 5,
    UH_VOL_WRITE = UH_VOL_BASE + 6,
    UH_VOL_FSTAT = UH_VOL_BASE + 7,
    UH_VOL_TRUNCATE = UH_VOL_BASE + 8,
    UH_VOL_FSYNC = UH_VOL_BASE + 9,
    UH_VOL_READDIR = UH_VOL_BASE + 10,
    UH_VOL_MKDIR = UH_VOL_BASE + 11,
    UH_VOL_UNLINK = UH_VOL_BASE + 12,
    UH_VOL_RENAME = UH_VOL_BASE + 13,
    UH_VOL_READLINK = UH_VOL_BASE + 14,
    UH_VOL_SYMLINK = UH_VOL_BASE + 15,
    UH_VOL_SETATTR = UH_VOL_BASE + 16,
};
#define UH_VOL_MAX 16              /* volumes per VM */
#define UH_VOL_NAME_MAX 256        /* bytes of a guest mount point, NUL included */
#define UH_VOL_PATH_MAX 4096       /* bytes of a path, NUL excluded, at most this - 1 */
#define UH_VOL_NOHANDLE 0xffffffffu
#define UH_VOL_O_WRITE (1u << 0)   /* UH_VOL_OPEN: for writing */
#define UH_VOL_O_READ (1u << 1)    /* for reading (both: O_RDWR) */
#define UH_VOL_O_DIRECTORY (1u << 2)
#define UH_VOL_O_SYNC (1u << 3)    /* O_SYNC: every write reaches the disk */
#define UH_VOL_RMDIR (1u << 0)
#define UH_VOL_NOREPLACE (1u << 0)
#define UH_VOL_SET_MODE (1u << 0)
#define UH_VOL_SET_ATIME (1u << 1)
#define UH_VOL_SET_MTIME (1u << 2)

struct uh_vol_info {
    uint32_t index;
    uint32_t readonly;              /* out */
    char guest_dir[UH_VOL_NAME_MAX]; /* out: absolute mount point, NUL-terminated */
    int64_t ret;
};
struct uh_vol_attr { /* out */
    uint64_t ino;
    uint64_t size;
    uint64_t blocks; /* 512-byte units */
    uint64_t nlink;
    uint32_t mode;   /* S_IF* and permission bits */
    uint32_t blksize;
    int64_t atime_ns, mtime_ns, ctime_ns;
};
struct uh_vol_req {
    uint32_t vol;
    uint32_t handle; /* in, or out of OPEN and CREATE */
    uh_gpa_t path;
    uint32_t path_len;
    uint32_t flags;
    uh_gpa_t path2;
    uint32_t path2_len;
    uint32_t mode;
    uint64_t arg;
    uint64_t arg2;
    struct uh_vol_attr attr;
    int64_t ret;
};
struct uh_vol_io {
    uint32_t handle;
    uint32_t nsegs; /* at most UH_IO_MAX_SEGS */
    uh_gpa_t segs;  /* array of nsegs struct uh_seg */
    uint64_t offset;
    int64_t ret;    /* bytes done (short only at the end of the file) or -errno */
};
struct uh_vol_dir {
    uint32_t handle;
    uint32_t len;   /* bytes at buf, at most UH_VOL_DIRBUF_MAX */
    uh_gpa_t buf;
    uint64_t cookie;
    int64_t ret;
};
#define UH_VOL_DIRBUF_MAX (64 * 1024)

/* Boot information, written by the monitor at UH_BOOTINFO_GPA. */
#define UH_BOOT_MAGIC 0x544f4f4255494755ULL /* "UGIUBOOT" */
#define UH_BOOT_VERSION 1
#define UH_BOOT_VERBOSE (1u << 0)
#define UH_BOOT_ARGS (1u << 1) /* argv holds the arguments given after "--" (argv[1..]) */
#define UH_BOOT_NOTIFY (1u << 2) /* send UH_MARK_APP_ENTRY even without VERBOSE (pool "notify=1") */

#define UH_STDIO_TTY (1u << 31) /* in uh_stdio.mode: the host fd is a terminal */
struct uh_stdio {
    uint32_t mode;  /* st_mode file type of the host fd (S_IFCHR, S_IFIFO, S_IFREG...) |
                       UH_STDIO_TTY; 0: the fd is closed */
    uint16_t rows;  /* terminal size when the fd is a terminal, else 0 */
    uint16_t cols;
};

struct uh_bootinfo {
    uint64_t magic;
    uint32_t version;
    uint32_t flags;
    uint64_t mem_size;      /* bytes of RAM at guest-physical 0 */
    uint64_t kernel_end;    /* first byte after the kernel image (incl. bss), physical */
    uint64_t reserved_end;  /* boot structures occupy [0, reserved_end) below UH_KERNEL_GPA */
    uh_gpa_t pml4;          /* the monitor's page tables; the kernel adds the lower half */
    uh_gpa_t image;         /* read-only image, mapped as guest memory */
    uint64_t image_size;
    uint64_t tsc_khz;       /* guest TSC frequency */
    uint64_t boot_mono_ns;  /* host clocks just before the first instruction */
    uint64_t boot_real_ns;
    uh_gpa_t argv;          /* argc NUL-terminated strings back to back: argv[1..] when
                               UH_BOOT_ARGS is set, else unused (the image's defaults) */
    uint32_t argc;
    uint32_t envc;          /* extra environment (K=V), after the image's */
    uh_gpa_t envp;
    uh_gpa_t argv0;         /* NUL-terminated argv[0] override, or 0 */
    struct uh_stdio stdio[3];
    uint8_t seed[32];       /* random bytes for AT_RANDOM and the kernel */
    uint64_t net_info;      /* reserved for the network device manifest */
    uint64_t vol_info;      /* reserved for the volume manifest */
};

#endif
