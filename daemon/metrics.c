/* metrics.c -- GET /metrics in Prometheus' text format (version 0.0.4).
 *
 * Counters live in one struct the loop increments; the two latency
 * histograms have fixed buckets from 0.25 ms to 10 s, which covers a pooled
 * start on hardware and a cold start on an emulated machine alike.
 */
#include <stdio.h>
#include <string.h>

#include "daemon.h"

metrics stats;

static const double bounds[] = {0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02,
                                0.05,    0.1,    0.2,   0.5,   1,     2,    5, 10};
#define NB (sizeof bounds / sizeof bounds[0])

typedef struct histogram {
    unsigned long long buckets[NB];
    unsigned long long count;
    double sum;
} histogram;

static histogram start_h, boot_h;

static void observe(histogram *h, double s)
{
    for (size_t i = 0; i < NB; i++)
        if (s <= bounds[i])
            h->buckets[i]++;
    h->count++;
    h->sum += s;
}

void metrics_observe_start(double seconds)
{
    observe(&start_h, seconds);
}

void metrics_observe_boot(double seconds)
{
    observe(&boot_h, seconds);
}

static void histogram_text(buf *b, const char *name, const char *help, const histogram *h)
{
    buf_printf(b, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
    for (size_t i = 0; i < NB; i++)
        buf_printf(b, "%s_bucket{le=\"%g\"} %llu\n", name, bounds[i], h->buckets[i]);
    buf_printf(b, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.6f\n%s_count %llu\n", name, h->count,
               name, h->sum, name, h->count);
}

static void counter(buf *b, const char *name, const char *help, unsigned long long v)
{
    buf_printf(b, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help, name, name, v);
}

void metrics_reply(http_req *req)
{
    buf b = BUF_INIT;
    int by_state[VM_CRASHED + 1] = {0};
    for (vm *v = vm_list; v; v = v->next)
        by_state[v->state]++;
    buf_puts(&b, "# HELP uigniter_vms VMs by state.\n# TYPE uigniter_vms gauge\n");
    for (int s = VM_STARTING; s <= VM_CRASHED; s++)
        buf_printf(&b, "uigniter_vms{state=\"%s\"} %d\n", vm_state_name(s), by_state[s]);

    int mem[MAX_POOL_CLASSES], ready[MAX_POOL_CLASSES], target[MAX_POOL_CLASSES];
    int n = pool_classes(mem, ready, target, MAX_POOL_CLASSES);
    buf_puts(&b, "# HELP uigniter_pool_ready Prepared VMs waiting, per memory class.\n"
                 "# TYPE uigniter_pool_ready gauge\n");
    for (int i = 0; i < n; i++)
        buf_printf(&b, "uigniter_pool_ready{mem_mib=\"%d\"} %d\n", mem[i], ready[i]);
    buf_puts(&b, "# HELP uigniter_pool_target Configured size of each memory class.\n"
                 "# TYPE uigniter_pool_target gauge\n");
    for (int i = 0; i < n; i++)
        buf_printf(&b, "uigniter_pool_target{mem_mib=\"%d\"} %d\n", mem[i], target[i]);
    counter(&b, "uigniter_pool_hits_total", "Starts served by a prepared VM.", stats.pool_hits);
    static const char *const reasons[POOL_MISS_NR] = {"empty", "no_class", "volumes", "restart"};
    buf_puts(&b, "# HELP uigniter_pool_misses_total Starts that created their VM on the spot.\n"
                 "# TYPE uigniter_pool_misses_total counter\n");
    for (int i = 0; i < POOL_MISS_NR; i++)
        buf_printf(&b, "uigniter_pool_misses_total{reason=\"%s\"} %llu\n", reasons[i],
                   stats.pool_misses[i]);
    counter(&b, "uigniter_pool_create_failures_total", "Prepared VMs that could not be made.",
            pool_create_failures());
    counter(&b, "uigniter_vm_starts_total", "Programs started (restarts included).", stats.starts);
    counter(&b, "uigniter_vm_stops_total", "Stop and forced DELETE requests.", stats.stops);
    counter(&b, "uigniter_vm_exits_total", "uvmm processes that ended.", stats.exits);
    counter(&b, "uigniter_vm_crashes_total", "Ends by crash (status 125 or 128+N, not asked for).",
            stats.crashes);
    counter(&b, "uigniter_vm_restarts_total", "Restarts by policy.", stats.restarts);
    histogram_text(&b, "uigniter_start_seconds",
                   "POST /vm/run received to the program handed to its VM.", &start_h);
    histogram_text(&b, "uigniter_boot_seconds",
                   "POST /vm/run received to the program's first instruction.", &boot_h);
    int cpu[256], count[256];
    int nc = vm_cpu_vms(cpu, count, 256);
    buf_puts(&b, "# HELP uigniter_cpu_vms VMs placed on each host core.\n"
                 "# TYPE uigniter_cpu_vms gauge\n");
    for (int i = 0; i < nc; i++)
        buf_printf(&b, "uigniter_cpu_vms{cpu=\"%d\"} %d\n", cpu[i], count[i]);
    buf_puts(&b, "# HELP uigniter_ips_in_use Addresses allocated to VMs and prepared VMs.\n"
                 "# TYPE uigniter_ips_in_use gauge\n");
    buf_printf(&b, "uigniter_ips_in_use %d\n", netmgr_ip_in_use(net));
    counter(&b, "uigniter_api_requests_total", "API requests received.", stats.api_requests);
    deploy_metrics(&b);
    http_reply(req, 200, "text/plain; version=0.0.4", buf_peek(&b), buf_used(&b));
    buf_free(&b);
}
