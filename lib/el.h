/* el.h -- the event loop: one epoll instance per process, file events and timers.
 *
 * Modelled on Redis' ae: a program registers a callback per file descriptor and
 * per timer and then hands control to el_run(). There are no threads and no
 * timerfd: timers are kept in a small list and turned into the epoll_wait
 * timeout, measured with CLOCK_MONOTONIC, because that is all the unikernel
 * offers. File events are level-triggered.
 */
#ifndef UIG_EL_H
#define UIG_EL_H

#include <stdint.h>

#define EL_NONE     0
#define EL_READABLE 1
#define EL_WRITABLE 2

typedef struct el_loop el_loop;

/* mask is what is ready: EL_READABLE and/or EL_WRITABLE. */
typedef void el_file_proc(el_loop *loop, int fd, void *data, int mask);
/* Timers are one-shot; a callback re-adds its timer to repeat. */
typedef void el_timer_proc(el_loop *loop, long long id, void *data);
typedef void el_hook_proc(el_loop *loop, void *data);

el_loop *el_create(void);
void el_free(el_loop *loop);

/* Adds the bits of mask to what fd is watched for; proc and data replace the
 * previous ones. Returns 0, or -1 with errno. */
int el_file_add(el_loop *loop, int fd, int mask, el_file_proc *proc, void *data);
/* Removes the bits of mask; with nothing left the fd leaves the epoll set. Call
 * el_file_del(loop, fd, EL_READABLE | EL_WRITABLE) before close(fd). */
void el_file_del(el_loop *loop, int fd, int mask);
int el_file_mask(el_loop *loop, int fd);

/* Calls proc once, ms milliseconds from now. Returns a positive id. */
long long el_timer_add(el_loop *loop, long long ms, el_timer_proc *proc, void *data);
/* Cancels a pending timer. Deleting a timer that fired already is harmless. */
int el_timer_del(el_loop *loop, long long id);

/* Hooks run at the end of every iteration, before the loop sleeps (Redis'
 * beforeSleep): the place for group commits and batched writes. */
int el_hook_add(el_loop *loop, el_hook_proc *proc, void *data);
void el_hook_del(el_loop *loop, el_hook_proc *proc, void *data);

/* One iteration: waits at most timeout_ms (-1: until something happens, bounded
 * by the next timer), runs ready file events, due timers and hooks. Returns
 * the number of events handled. */
int el_run_once(el_loop *loop, int timeout_ms);
/* Iterates until el_stop(). */
void el_run(el_loop *loop);
void el_stop(el_loop *loop);

/* Milliseconds of CLOCK_MONOTONIC. el_now() is cached per iteration. */
uint64_t el_clock_ms(void);
uint64_t el_now(el_loop *loop);

#endif
