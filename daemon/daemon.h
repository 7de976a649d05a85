/* daemon.h -- what the files of uigniterd share: the configuration, the VM
 * record, the uvmm process handle and each module's entry points.
 *
 * The daemon is one event loop (lib/el.h) that owns every VM record, the API
 * and the published ports, plus one thread, the warm pool's, that creates and
 * destroys prepared uvmm processes off the loop (pool.c). The two meet only in
 * pool_take() and in the network manager, both thread-safe. Everything else is
 * touched by the loop alone, so it needs no locks.
 *
 * Module map: main.c (options, start-up, shutdown), api.c (HTTP routes),
 * runreq.c (the POST /vm/run body), vm.c (lifecycle and supervision),
 * spawn.c (starting uvmm and talking to it), pool.c (warm pool), console.c
 * (console FIFOs and logs), images.c (the image store), state.c (records on
 * disk and recovery), metrics.c (counters and /metrics), netmgr.c and proxy.c
 * (bridge, taps, addresses, published ports).
 */
#ifndef UIGD_DAEMON_H
#define UIGD_DAEMON_H

#include <limits.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"
#include "daemon_limits.h"
#include "deployspec.h"
#include "el.h"
#include "http.h"
#include "netmgr.h"
#include "proxy.h"

#define UIGD_VERSION "0.2"

#define MAX_POOL_CLASSES 16
#define VM_ID_LEN        12

/* ---- configuration (main.c) ---------------------------------------------- */

typedef struct daemon_config {
    char state_dir[PATH_MAX];
    char listen[64];       /* "" when off */
    char socket_path[108]; /* "" when off */
    char bridge[IFNAMSIZ];
    char subnet[32];
    char tap_prefix[12];
    int pool_mem[MAX_POOL_CLASSES]; /* memory classes, MiB */
    int pool_size[MAX_POOL_CLASSES];
    int npool;
    int default_mem;
    int max_vms;
    int max_exited;
    long long log_size;
    long long max_image;
    int stop_timeout_s;
    char uvmm[PATH_MAX];
    char kernel[PATH_MAX];
    char dns[16];
    char publish_netns[PATH_MAX]; /* "": published ports listen where we run */
    bool foreground;
} daemon_config;

extern daemon_config cfg;

/* ---- uvmm processes (spawn.c) -------------------------------------------- */

typedef struct uvmm_proc {
    pid_t pid;
    int pidfd;
    int ctl; /* our end of the --wait-fd socket, -1 once closed */
} uvmm_proc;

typedef struct spawn_opts {
    int mem_mib;
    int tap_fd; /* -1: no network */
    uint32_t ip;
    const uint8_t *mac;
    char *const *volumes;
    int nvolumes;
    int out_fd; /* the program's stdout/stderr until the request names others; -1: /dev/null */
} spawn_opts;

/* Starts `uvmm --wait-fd 3 ...` with its tap on fd 4. 0, or -1 with err. */
int uvmm_spawn(const spawn_opts *o, uvmm_proc *p, char *err, size_t errlen);
/* Reads "ready\n" within timeout_ms (the pool's thread, blocking). */
int uvmm_wait_ready(uvmm_proc *p, int timeout_ms);
/* Sends the request: image, arguments, environment and stdio fds. The image
 * path is absolute. 0, or -1 with errno (EPIPE: the uvmm is gone). */
int uvmm_send_request(uvmm_proc *p, const char *image, char *const *args, int nargs,
                      bool args_given, char *const *env, int nenv, int out_fd);
/* Reaps an exited child through its pidfd. Returns 0 with the wait status
 * fields, or -1 (not ours, or not yet ended). */
int uvmm_reap(uvmm_proc *p, int *code, int *sig);
void uvmm_close(uvmm_proc *p);
/* The process's start time in clock ticks since boot (/proc/PID/stat), 0 if gone. */
unsigned long long proc_starttime(pid_t pid);

/* ---- warm pool (pool.c) --------------------------------------------------- */

typedef struct pool_vm {
    uvmm_proc proc;
    uint32_t ip;
    uint8_t mac[6];
    char tap[IFNAMSIZ];
    int mem_mib;
} pool_vm;

enum { POOL_MISS_EMPTY, POOL_MISS_NO_CLASS, POOL_MISS_VOLUMES, POOL_MISS_RESTART, POOL_MISS_NR };

int pool_start(netmgr *nm);
/* A prepared VM of exactly mem_mib, or NULL with *reason. Constant time. */
pool_vm *pool_take(int mem_mib, int *reason);
/* Hands a taken VM back for destruction (its request could not be sent). */
void pool_discard(pool_vm *v);
/* Ends the thread and every prepared VM. */
void pool_stop(void);
/* For /metrics and /healthz: the class's ready count and target. */
int pool_classes(int *mem, int *ready, int *target, int max);
unsigned long long pool_create_failures(void);

/* ---- VMs (vm.c) ----------------------------------------------------------- */

typedef enum {
    VM_STARTING,
    VM_RUNNING,
    VM_RESTARTING,
    VM_EXITED,
    VM_CRASHED,
} vm_state;

typedef enum { RESTART_NO, RESTART_ON_FAILURE, RESTART_ALWAYS } restart_policy;

typedef struct console console;

typedef struct vm {
    char id[VM_ID_LEN + 1];
    char name[RR_NAME_MAX + 1];
    char image[RR_IMAGE_MAX + 1];
    char **args; /* NULL-terminated */
    int nargs;
    bool args_given;
    char **env;
    int nenv;
    int mem_mib;
    restart_policy restart;
    bool auto_remove;
    char **volumes;
    int nvolumes;
    port_spec ports[RR_PORTS_MAX];
    proxy *proxies[RR_PORTS_MAX];
    int nports;

    vm_state state;
    int exit_code; /* -1: none or unknown */
    int signal;    /* 0: none */
    char error[256];
    bool stopped;     /* ended by stop/DELETE/shutdown */
    bool stop_asked;  /* SIGTERM sent by us */
    bool adopted;     /* not our child: its exit status cannot be learnt */
    bool removing;    /* DELETE ?force=1 in progress */

    uint32_t ip; /* the VM's address (kept for display after it ended) */
    bool ip_held; /* ip is allocated to this VM */
    uint8_t mac[6];
    char tap[IFNAMSIZ];
    uvmm_proc proc; /* pid 0 when no process */
    unsigned long long starttime;
    int cpu;
    bool pool_hit;
    int restarts;
    int backoff_ms;
    long long backoff_timer, kill_timer;
    char ctlbuf[16];
    int ctllen;

    double created_at, started_at, finished_at; /* CLOCK_REALTIME seconds */
    uint64_t t_request_ns;                       /* CLOCK_MONOTONIC of the run request */
    double start_ms, boot_ms;                    /* -1 until known */
    uint64_t cpu_ticks;                          /* last sample of utime+stime */
    uint64_t cpu_sample_ms;
    double cpu_pct;

    /* A replica of a deployment (deploy.c); deploy[0] == 0 for other VMs. */
    char deploy[DS_NAME_MAX + 1];
    char service[DS_NAME_MAX + 1];
    int replica;
    uint64_t spec_hash;
    bool ready; /* its program accepts connections on the service's port */
    int probe_fd;
    uint64_t probe_t0, probe_next_ns;

    console *con;
    http_req *run_reply; /* POST /vm/run not answered yet */
    bool run_wait;       /* ... and it waits for "running" */
    struct stop_waiter *waiters;
    struct vm *next, *prev;
} vm;

typedef struct stop_waiter {
    http_req *req;
    bool delete_after;
    struct stop_waiter *next;
} stop_waiter;

extern vm *vm_list; /* oldest first */
extern vm *vm_list_tail;

const char *vm_state_name(vm_state s);
const char *restart_name(restart_policy r);
/* By id, unique id prefix (>= 4 chars) or name. *ambiguous set when a prefix
 * matches several. */
vm *vm_find(const char *key, bool *ambiguous);
vm *vm_find_name(const char *name);
int vm_count_live(void);
bool vm_live(const vm *v); /* starting, running or restarting */

/* An empty record (recovery fills it from disk). */
vm *vm_new_record(void);
void vm_free_record(vm *v); /* a record not in the list */
/* Restart after the back-off (a record found restarting at recovery). */
void vm_schedule_restart(vm *v);
void vm_list_add(vm *v);
/* The POST /vm/run reply: sent once the program is handed over, or with wait
 * once it runs, or with an error if it ends before. */
void vm_set_run_reply(vm *v, http_req *req, bool wait);
/* A stop or DELETE request answered when the VM has ended. */
void vm_add_waiter(vm *v, http_req *req, bool delete_after);
/* VMs with a process per host core, for /metrics. */
int vm_cpu_vms(int *cpu, int *count, int max);
/* Creates the record (id, console, directory) from a validated request. */
struct run_req;
vm *vm_create(const struct run_req *r, char *err, size_t errlen, int *status);
/* Starts the VM's program (first start or restart). 0, or -1 with err/status. */
int vm_launch(vm *v, char *err, size_t errlen, int *status);
/* SIGTERM, then SIGKILL after timeout_s. Stops restarts. */
void vm_stop(vm *v, int timeout_s);
/* Removes an ended VM: record, logs, directory. */
void vm_remove(vm *v);
/* Called when v's pidfd is readable. */
void vm_on_exit(vm *v, int code, int sig, bool known);
/* Adopt a recorded, still living uvmm (state.c). */
int vm_adopt(vm *v);
void vm_prune_exited(void);
/* Periodic CPU sampling (placement and cpu_percent). */
void vm_sample_cpu(void);
int vm_rss_kib(const vm *v);
/* Shutdown: stop everything; returns once all VMs have ended. */
void vm_stop_all(void);

/* ---- console (console.c) -------------------------------------------------- */

/* Creates (or, on recovery, reopens) DIR/console.fifo and starts draining it
 * into DIR/console.log. */
console *console_open(const char *dir, bool recover, char *err, size_t errlen);
/* A fresh fd the VM writes to (opened read-write, so writes never fail with
 * EPIPE while no daemon reads). The caller closes it after passing it on. */
int console_writer(console *c);
/* Reads what is buffered now (at a VM's exit, before it is reported). */
void console_drain(console *c);
void console_free(console *c);
/* GET /vm/{id}/logs: whole, or the last tail lines (tail < 0: all). */
void console_reply(console *c, http_req *req, long tail, bool follow);
/* Ends every following reply (the VM ended for good). */
void console_end_followers(console *c);

/* ---- image store (images.c) ---------------------------------------------- */

bool image_name_ok(const char *name);
/* STATE/images/NAME.img, or NULL when absent. */
const char *image_path(const char *name, char *out, size_t outlen);
void images_on_headers(http_req *req); /* POST /images, PUT /images/NAME */
void images_upload_done(http_req *req); /* ... and their on_request */
void images_list(http_req *req);
void images_get(http_req *req, const char *name);
void images_delete(http_req *req, const char *name);

/* ---- records on disk (state.c) ------------------------------------------- */

/* Writes text to path through path.tmp and a rename (fsync first when sync):
 * 0, or -1 with "path: reason". */
int write_file_atomic(const char *path, const char *text, bool sync, char *err, size_t errlen);
void state_save(vm *v);
void state_remove_dir(const char *id);
void vm_dir(const char *id, char *out, size_t outlen);
/* Reads every record, adopts what still lives, reaps the rest, kills unknown
 * uvmm processes of this state directory and deletes orphaned taps. */
void state_recover(netmgr *nm);
struct cJSON *vm_to_json(const vm *v, bool for_disk);

/* ---- deployments (deploy.c) --------------------------------------------- */

/* Reads STATE/deployments/ (after state_recover) and starts keeping them. */
void deploy_load(void);
/* /deployments and /deployments/NAME. */
void deploy_route(http_req *req);
/* A replica started, became running or ended: the deployment looks again. */
void deploy_vm_event(vm *v);
/* A record is going away: its readiness probe ends. */
void deploy_vm_removed(vm *v);
void deploy_metrics(buf *b);

/* ---- metrics (metrics.c) -------------------------------------------------- */

typedef struct metrics {
    unsigned long long starts, stops, crashes, restarts, exits;
    unsigned long long pool_hits, pool_misses[POOL_MISS_NR];
    unsigned long long api_requests;
} metrics;
extern metrics stats;
void metrics_observe_start(double seconds);
void metrics_observe_boot(double seconds);
void metrics_reply(http_req *req);

/* ---- the daemon's shared objects (main.c) -------------------------------- */

extern el_loop *loop;
extern netmgr *net;
extern bool shutting_down;
double now_real(void);
uint64_t now_mono_ns(void);
/* RFC 3339 UTC with milliseconds. */
void fmt_time(double t, char out[32]);

/* api.c */
void api_on_request(http_req *req);
void api_on_headers(http_req *req);
/* Replies to a VM request with the VM's JSON. */
void api_reply_vm(http_req *req, int status, const vm *v);
bool api_query_flag(http_req *req, const char *key);

#endif
