/* tasks.c -- taskdb's state: the tasks in memory and the rules for moving
 * them between states (see taskdb.h). Every change is appended to the log
 * first, as a full "state" record of the task, so replay never depends on
 * the order of rules here: it just sets the state a record says.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "taskdb.h"

static const char *const state_names[] = {"created", "ready", "leased", "done", "failed"};

const char *task_state_name(int state)
{
    return state >= 0 && state <= TASK_FAILED ? state_names[state] : "unknown";
}

int task_state_parse(const char *name)
{
    for (int i = 0; i <= TASK_FAILED; i++)
        if (strcmp(name, state_names[i]) == 0)
            return i;
    return -1;
}

int task_type_valid(const char *type)
{
    size_t n = strlen(type);
    if (n == 0 || n > TASK_TYPE_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = type[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return 0;
    }
    return 1;
}

static int64_t unix_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- queues --------------------------------------------------------------- */

static void q_push(task_queue *q, task *t)
{
    t->next = NULL;
    t->prev = q->tail;
    if (q->tail)
        q->tail->next = t;
    else
        q->head = t;
    q->tail = t;
}

static void q_remove(task_queue *q, task *t)
{
    if (t->prev)
        t->prev->next = t->next;
    else
        q->head = t->next;
    if (t->next)
        t->next->prev = t->prev;
    else
        q->tail = t->prev;
    t->prev = t->next = NULL;
}

static void tq_push(task_queue *q, task *t)
{
    t->tnext = NULL;
    t->tprev = q->tail;
    if (q->tail)
        q->tail->tnext = t;
    else
        q->head = t;
    q->tail = t;
}

static void tq_remove(task_queue *q, task *t)
{
    if (t->tprev)
        t->tprev->tnext = t->tnext;
    else
        q->head = t->tnext;
    if (t->tnext)
        t->tnext->tprev = t->tprev;
    else
        q->tail = t->tprev;
    t->tprev = t->tnext = NULL;
}

static type_queue *type_queue_of(taskdb *db, const char *type, int create)
{
    for (int i = 0; i < db->ntypes; i++)
        if (strcmp(db->types[i].type, type) == 0)
            return &db->types[i];
    if (!create)
        return NULL;
    type_queue *nt = realloc(db->types, (size_t)(db->ntypes + 1) * sizeof(*nt));
    if (!nt)
        abort();
    db->types = nt;
    type_queue *tq = &db->types[db->ntypes++];
    tq->type = strdup(type);
    tq->q.head = tq->q.tail = NULL;
    return tq;
}

/* Leaves the queue of its current state. */
static void detach(taskdb *db, task *t)
{
    if (t->state == TASK_READY) {
        q_remove(&db->ready, t);
        tq_remove(&type_queue_of(db, t->type, 1)->q, t);
    } else if (t->state == TASK_LEASED) {
        q_remove(&db->leased, t);
    }
}

/* Enters state, joining its queue at the tail. */
static void attach(taskdb *db, task *t, int state, uint64_t now)
{
    db->counts[t->state]--;
    t->state = state;
    db->counts[state]++;
    if (state == TASK_READY) {
        q_push(&db->ready, t);
        tq_push(&type_queue_of(db, t->type, 1)->q, t);
    } else if (state == TASK_LEASED) {
        t->lease_deadline = now + (uint64_t)db->lease_ms;
        q_push(&db->leased, t);
    }
}

static void log_state(taskdb *db, task *t, int op)
{
    wal_record r = {.op = op,
                    .id = t->id,
                    .state = t->state,
                    .attempts = t->attempts,
                    .created = t->created,
                    .updated = t->updated,
                    .type = t->type,
                    .type_len = op == WAL_STATE ? 0 : strlen(t->type),
                    .data = t->data,
                    .data_len = op == WAL_STATE ? 0 : strlen(t->data)};
    wal_append(&db->log, &r);
}

static void set_state(taskdb *db, task *t, int state)
{
    detach(db, t);
    t->updated = unix_ms();
    attach(db, t, state, mono_ms());
    log_state(db, t, WAL_STATE);
}

/* ---- index ------------------------------------------------------------------ */

static task *insert(taskdb *db, uint64_t id, const char *type, size_t tlen, const char *data,
                    size_t dlen)
{
    if (id == 0)
        return NULL;
    if (id > db->cap) {
        uint64_t cap = db->cap ? db->cap : 1024;
        while (cap < id)
            cap *= 2;
        task **n = realloc(db->by_id, cap * sizeof(*n));
        if (!n)
            abort();
        memset(n + db->cap, 0, (cap - db->cap) * sizeof(*n));
        db->by_id = n;
        db->cap = cap;
    }
    if (db->by_id[id - 1])
        return db->by_id[id - 1];
    task *t = calloc(1, sizeof(*t));
    if (!t)
        abort();
    t->id = id;
    t->type = strndup(type, tlen);
    t->data = strndup(data, dlen);
    if (!t->type || !t->data)
        abort();
    t->state = TASK_CREATED;
    db->counts[TASK_CREATED]++;
    db->by_id[id - 1] = t;
    if (id > db->ntasks)
        db->ntasks = id;
    return t;
}

task *taskdb_get(taskdb *db, uint64_t id)
{
    return id >= 1 && id <= db->ntasks ? db->by_id[id - 1] : NULL;
}

/* Replay: each record carries the whole state of its task. */
static void apply(const wal_record *r, void *arg)
{
    taskdb *db = arg;
    task *t = taskdb_get(db, r->id);
    if (r->op == WAL_CREATE || r->op == WAL_SNAPSHOT) {
        if (!t)
            t = insert(db, r->id, r->type, r->type_len, r->data, r->data_len);
    }
    if (!t || r->state < 0 || r->state > TASK_FAILED) {
        log_warn("log: record for unknown task %llu ignored", (unsigned long long)r->id);
        return;
    }
    detach(db, t);
    t->attempts = r->attempts;
    t->created = r->created;
    t->updated = r->updated;
    /* A lease found in the log starts over: its worker may still finish. */
    attach(db, t, r->state, mono_ms());
}

int taskdb_open(taskdb *db, const char *dir, uint32_t max_attempts, int lease_ms)
{
    memset(db, 0, sizeof(*db));
    db->max_attempts = max_attempts;
    db->lease_ms = lease_ms;
    if (wal_open(&db->log, dir, apply, db) < 0)
        return -1;
    log_info("%llu tasks in %s (%llu ready, %llu leased, %llu done, %llu failed)",
             (unsigned long long)db->ntasks, db->log.path,
             (unsigned long long)db->counts[TASK_READY],
             (unsigned long long)db->counts[TASK_LEASED], (unsigned long long)db->counts[TASK_DONE],
             (unsigned long long)db->counts[TASK_FAILED]);
    return taskdb_maybe_compact(db, 0);
}

task *taskdb_create(taskdb *db, const char *type, const char *data, size_t data_len, int ready)
{
    task *t = insert(db, db->ntasks + 1, type, strlen(type), data, data_len);
    t->created = t->updated = unix_ms();
    if (ready)
        attach(db, t, TASK_READY, mono_ms());
    log_state(db, t, WAL_CREATE);
    return t;
}

int taskdb_ready(taskdb *db, task *t)
{
    if (t->state == TASK_READY)
        return 0;
    if (t->state == TASK_FAILED)
        t->attempts = 0; /* an operator retries a failed task from scratch */
    else if (t->state != TASK_CREATED) {
        errno = EINVAL;
        return -1;
    }
    set_state(db, t, TASK_READY);
    return 0;
}

task *taskdb_next(taskdb *db, const char *type, uint64_t now)
{
    task *t;
    if (type) {
        type_queue *tq = type_queue_of(db, type, 0);
        t = tq ? tq->q.head : NULL;
    } else {
        t = db->ready.head;
    }
    if (!t)
        return NULL;
    detach(db, t);
    t->attempts++;
    t->updated = unix_ms();
    attach(db, t, TASK_LEASED, now);
    log_state(db, t, WAL_STATE);
    return t;
}

int taskdb_finish(taskdb *db, task *t)
{
    if (t->state == TASK_DONE)
        return 0;
    /* A worker whose lease ran out may still finish: the result is as good. */
    if (t->state != TASK_LEASED && t->state != TASK_READY) {
        errno = EINVAL;
        return -1;
    }
    set_state(db, t, TASK_DONE);
    return 0;
}

int taskdb_fail(taskdb *db, task *t, int final)
{
    if (t->state != TASK_LEASED) {
        errno = EINVAL;
        return -1;
    }
    set_state(db, t, final || t->attempts >= db->max_attempts ? TASK_FAILED : TASK_READY);
    return 0;
}

int taskdb_expire(taskdb *db, uint64_t now)
{
    int n = 0;
    while (db->leased.head && db->leased.head->lease_deadline <= now) {
        task *t = db->leased.head;
        log_info("task %llu: lease expired (attempt %u of %u)", (unsigned long long)t->id,
                 t->attempts, db->max_attempts);
        set_state(db, t, t->attempts >= db->max_attempts ? TASK_FAILED : TASK_READY);
        n++;
    }
    return n;
}

static void emit_snapshot(wal *w, void *arg)
{
    taskdb *db = arg;
    (void)w;
    for (uint64_t i = 0; i < db->ntasks; i++)
        if (db->by_id[i])
            log_state(db, db->by_id[i], WAL_SNAPSHOT);
}

int taskdb_maybe_compact(taskdb *db, int force)
{
    uint64_t live = db->ntasks;
    if (!force && db->log.records <= 2 * live + 10000)
        return 0;
    uint64_t before = db->log.bytes;
    if (wal_rewrite(&db->log, emit_snapshot, db) < 0) {
        log_error("compacting %s: %s", db->log.path, strerror(errno));
        return -1;
    }
    log_info("compacted %s: %llu -> %llu bytes", db->log.path, (unsigned long long)before,
             (unsigned long long)db->log.bytes);
    return 0;
}
