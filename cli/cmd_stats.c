/*
 * cmd_stats.c — `uigniterctl stats`: one snapshot of what the daemon's VMs cost
 * and how its warm pool stands, like one frame of `docker stats --no-stream`.
 *
 * The VMs come from GET /vm (the live ones: their CPU share, the monitor's RSS,
 * uptime and restarts); the pool from GET /metrics, which has the figures per
 * memory class and the hit/miss counters, with GET /healthz's total of ready
 * VMs as the fallback for a daemon whose metrics cannot be had. All three
 * requests go out at once.
 */
#include "api.h"
#include "cli.h"
#include "table.h"

#include <cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char stats_usage[] =
    "usage: uigniterctl stats\n"
    "\n"
    "Prints one snapshot of every VM that is starting, running or restarting:\n"
    "  ID  NAME  CPU % (host CPU used recently, 100 = one core)  RSS (of its monitor\n"
    "  process)  MEM (guest memory)  UPTIME  RESTARTS\n"
    "then the warm pool: prepared VMs ready and wanted per memory class, and how\n"
    "many starts the pool served (hits) or that made a VM on the spot (misses).\n"
    "\n"
    "  -h, --help   this text\n"
    "\n"
    "With the global --json, prints {\"vms\": GET /vm, \"healthz\": GET /healthz}.\n"
    "\n"
    "exit status: 0 printed, 1 failed, 2 usage error\n";

#define MAX_CLASSES 32

struct pool_figures {
    int nclasses;
    struct {
        char mem[64];
        double ready, target;
    } cls[MAX_CLASSES];
    double hits;
    int have_hits;
    double misses;
    char reasons[256]; /* "empty 1, volumes 2" */
};

static int class_index(struct pool_figures *p, const char *mem)
{
    for (int i = 0; i < p->nclasses; i++)
        if (strcmp(p->cls[i].mem, mem) == 0)
            return i;
    if (p->nclasses == MAX_CLASSES)
        return -1;
    int i = p->nclasses++;
    snprintf(p->cls[i].mem, sizeof p->cls[i].mem, "%s", mem);
    p->cls[i].ready = p->cls[i].target = -1;
    return i;
}

/* The value of label key in a {k="v",...} label set, into out. */
static void label(const char *labels, const char *key, char *out, size_t outlen)
{
    out[0] = '\0';
    char pat[40];
    snprintf(pat, sizeof pat, "%s=\"", key);
    const char *p = labels ? strstr(labels, pat) : NULL;
    if (!p)
        return;
    p += strlen(pat);
    size_t n = strcspn(p, "\"");
    snprintf(out, outlen, "%.*s", (int)n, p);
}

/* Reads the pool's lines of the Prometheus text; other lines are skipped. */
static void parse_metrics(char *text, struct pool_figures *p)
{
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == '#')
            continue;
        size_t nlen = strcspn(line, "{ ");
        char *labels = line[nlen] == '{' ? line + nlen : NULL;
        char *value = labels ? strchr(labels, '}') : line + nlen;
        if (!value)
            continue;
        value += value[0] == '}';
        char *end;
        double v = strtod(value, &end);
        if (end == value)
            continue;
        char name[64], buf[64];
        snprintf(name, sizeof name, "%.*s", (int)nlen, line);
        if (strcmp(name, "uigniter_pool_ready") == 0 || strcmp(name, "uigniter_pool_target") == 0) {
            label(labels, "mem_mib", buf, sizeof buf);
            int i = class_index(p, buf);
            if (i < 0)
                continue;
            if (strcmp(name, "uigniter_pool_ready") == 0)
                p->cls[i].ready = v;
            else
                p->cls[i].target = v;
        } else if (strcmp(name, "uigniter_pool_hits_total") == 0) {
            p->hits = v;
            p->have_hits = 1;
        } else if (strcmp(name, "uigniter_pool_misses_total") == 0) {
            p->misses += v;
            label(labels, "reason", buf, sizeof buf);
            if (buf[0] && v > 0) {
                size_t used = strlen(p->reasons);
                snprintf(p->reasons + used, sizeof p->reasons - used, "%s%s %.0f", used ? ", " : "",
                         buf, v);
            }
        }
    }
}

static void print_vms(const cJSON *vms)
{
    table t;
    table_init(&t, 7, "ID", "NAME", "CPU %", "RSS", "MEM", "UPTIME", "RESTARTS");
    const cJSON *vm;
    cJSON_ArrayForEach(vm, vms)
    {
        char cpu[32] = "-", rss[32] = "-", mem[32] = "-", uptime[32] = "-", restarts[32] = "-";
        double v;
        if (json_num(vm, "cpu_percent", &v))
            snprintf(cpu, sizeof cpu, "%.1f%%", v);
        if (json_num(vm, "rss_kib", &v))
            fmt_bytes(v * 1024, rss, sizeof rss);
        if (json_num(vm, "mem_mib", &v))
            snprintf(mem, sizeof mem, "%.0f MiB", v);
        if (json_num(vm, "uptime_s", &v))
            fmt_duration(v, uptime, sizeof uptime);
        if (json_num(vm, "restarts", &v))
            snprintf(restarts, sizeof restarts, "%.0f", v);
        table_add(&t, json_str(vm, "id", NULL), json_str(vm, "name", NULL), cpu, rss, mem, uptime,
                  restarts);
    }
    table_print(&t, stdout);
    table_free(&t);
}

static void print_pool(const api_req *metrics, const api_req *health)
{
    putchar('\n');
    struct pool_figures p = {0};
    if (api_ok(metrics) && metrics->resp) {
        parse_metrics(metrics->resp, &p);
    }
    if (p.nclasses > 0) {
        table t;
        table_init(&t, 3, "POOL MEM", "READY", "TARGET");
        for (int i = 0; i < p.nclasses; i++) {
            char mem[40], ready[24] = "-", target[24] = "-";
            snprintf(mem, sizeof mem, "%s MiB", p.cls[i].mem);
            if (p.cls[i].ready >= 0)
                snprintf(ready, sizeof ready, "%.0f", p.cls[i].ready);
            if (p.cls[i].target >= 0)
                snprintf(target, sizeof target, "%.0f", p.cls[i].target);
            table_add(&t, mem, ready, target);
        }
        table_print(&t, stdout);
        table_free(&t);
    } else {
        double ready;
        if (api_ok(health) && json_num(health->json, "pool_ready", &ready))
            printf("pool: %.0f prepared VMs ready\n", ready);
        else
            printf("pool: no figures (the daemon answered neither /metrics nor /healthz)\n");
    }
    if (p.have_hits) {
        printf("starts: %.0f from the pool, %.0f made on the spot", p.hits, p.misses);
        if (p.reasons[0])
            printf(" (%s)", p.reasons);
        putchar('\n');
    }
}

int cmd_stats(int argc, char **argv)
{
    int done = cli_help_only(argc, argv, "stats", stats_usage);
    if (done >= 0)
        return done;
    if (optind < argc)
        return cli_error(CLI_USAGE,
                         "stats: unexpected argument '%s' (see uigniterctl stats --help)",
                         argv[optind]);
    api_req vms = {0}, metrics = {0}, health = {0};
    snprintf(vms.path, sizeof vms.path, "/vm");
    snprintf(metrics.path, sizeof metrics.path, "/metrics");
    snprintf(health.path, sizeof health.path, "/healthz");
    api_start(&vms);
    if (!cli_opts.json)
        api_start(&metrics);
    api_start(&health);
    api_wait(&vms);
    if (!cli_opts.json)
        api_wait(&metrics);
    api_wait(&health);
    int rc = CLI_OK;
    if (!api_ok(&vms)) {
        rc = api_report(&vms);
    } else if (!cJSON_IsArray(vms.json)) {
        rc = cli_error(CLI_FAIL, "uigniterd's answer to GET /vm is not a JSON array");
    } else if (cli_opts.json) {
        cJSON *out = cJSON_CreateObject();
        cJSON_AddItemReferenceToObject(out, "vms", vms.json);
        if (health.json)
            cJSON_AddItemReferenceToObject(out, "healthz", health.json);
        else
            cJSON_AddNullToObject(out, "healthz");
        char *text = cJSON_PrintUnformatted(out);
        if (text)
            printf("%s\n", text);
        free(text);
        cJSON_Delete(out);
    } else {
        print_vms(vms.json);
        print_pool(&metrics, &health);
    }
    api_release(&vms);
    api_release(&metrics);
    api_release(&health);
    if (fflush(stdout) != 0 && rc == CLI_OK)
        rc = cli_error(CLI_FAIL, "writing the snapshot failed");
    return rc;
}
