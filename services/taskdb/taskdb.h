/* taskdb.h -- the task scheduler: tasks with a type and a life cycle
 *
 *   created --ready--> ready --next (lease)--> leased --finish--> done
 *                        ^                       |
 *                        +---- fail / lease expired, attempts left
 *                                                |
 *                          attempts used up ---> failed
 *
 * tasks.c keeps the tasks in memory (an array indexed by id, FIFO queues of
 * ready tasks overall and per type, a FIFO of leases in deadline order) and
 * writes every change to the log (wal.c) before it is acknowledged. main.c is
 * the HTTP face.
 */
#ifndef TASKDB_H
#define TASKDB_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

enum task_state { TASK_CREATED, TASK_READY, TASK_LEASED, TASK_DONE, TASK_FAILED };

#define TASK_TYPE_MAX 64
#define TASK_DATA_MAX 4096

typedef struct task {
    uint64_t id;
    int state;
    uint32_t attempts;
    uint64_t lease_deadline;  /* CLOCK_MONOTONIC ms, while leased */
    int64_t created, updated; /* unix ms */
    char *type;
    char *data;                 /* opaque to taskdb, "" when none */
    struct task *prev, *next;   /* ready queue or lease queue */
    struct task *tprev, *tnext; /* ready queue of its type */
} task;

typedef struct task_queue {
    task *head, *tail;
} task_queue;

typedef struct type_queue {
    char *type;
    task_queue q;
} type_queue;

/* ---- wal.c: the append-only log ---- */
typedef struct wal {
    int fd;
    char *path;
    char *dir;
    buf pending;      /* records not yet written */
    uint64_t records; /* in the file, for deciding when to compact */
    uint64_t bytes;
} wal;

enum { WAL_CREATE = 'C', WAL_STATE = 'S', WAL_SNAPSHOT = 'T' };

typedef struct wal_record {
    int op;
    uint64_t id;
    int state;
    uint32_t attempts;
    int64_t created, updated;
    const char *type;
    size_t type_len;
    const char *data;
    size_t data_len;
} wal_record;

/* Opens (creating) DIR/taskdb.log and calls apply for each valid record.
 * A torn record at the end (a write that never completed, so was never
 * acknowledged) is cut off. Returns 0 or -1 with errno. */
int wal_open(wal *w, const char *dir, void (*apply)(const wal_record *r, void *arg), void *arg);
void wal_append(wal *w, const wal_record *r);
/* Writes pending records and fdatasync()s. 0, or -1 with errno. */
int wal_sync(wal *w);
/* Replaces the log with one snapshot record per task (tmp, fsync, rename). */
int wal_rewrite(wal *w, void (*emit)(wal *w, void *arg), void *arg);
void wal_close(wal *w);

/* ---- tasks.c ---- */
typedef struct taskdb {
    task **by_id; /* index id - 1 */
    uint64_t ntasks;
    uint64_t cap;
    task_queue ready;
    task_queue leased;
    type_queue *types;
    int ntypes;
    uint32_t max_attempts;
    int lease_ms;
    wal log;
    uint64_t counts[5];
} taskdb;

int taskdb_open(taskdb *db, const char *dir, uint32_t max_attempts, int lease_ms);
task *taskdb_get(taskdb *db, uint64_t id);
task *taskdb_create(taskdb *db, const char *type, const char *data, size_t data_len, int ready);
/* Each returns 0, or -1 with errno EINVAL when the state does not allow it. */
int taskdb_ready(taskdb *db, task *t);
task *taskdb_next(taskdb *db, const char *type, uint64_t now);
int taskdb_finish(taskdb *db, task *t);
int taskdb_fail(taskdb *db, task *t, int final);
/* Returns expired leases to ready (or failed); returns how many. */
int taskdb_expire(taskdb *db, uint64_t now);
/* Compacts the log when it has grown well past the live state. */
int taskdb_maybe_compact(taskdb *db, int force);

const char *task_state_name(int state);
int task_state_parse(const char *name);
int task_type_valid(const char *type);

#endif
