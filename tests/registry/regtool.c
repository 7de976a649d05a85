/* regtool.c -- test tool for lib's registry helpers.
 *   regtool --registry HOST:PORT register NAME ADDR TTL
 *       registers ADDR under NAME and keeps refreshing it until killed;
 *       prints "registered" once the first round is through.
 *   regtool --registry HOST:PORT lookup NAME
 *       prints the live replicas of NAME, one per line.
 *   regtool --registry HOST:PORT watch NAME MS
 *       keeps a reg_watch running for MS milliseconds, then prints what
 *       reg_watch_next() hands out over 2 rounds (checks round-robin).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "el.h"
#include "log.h"
#include "mc.h"
#include "net.h"
#include "registry.h"

static int lookup_done;

static void on_lookup(int err, const char *const *addrs, int n, void *arg)
{
    (void)arg;
    if (err)
        die("lookup: %s", strerror(err));
    for (int i = 0; i < n; i++)
        printf("%s\n", addrs[i]);
    lookup_done = 1;
}

static void on_check(el_loop *loop, long long id, void *data)
{
    (void)id;
    reg_entry *e = data;
    if (reg_registered(e)) {
        printf("registered\n");
        fflush(stdout);
        return;
    }
    el_timer_add(loop, 20, on_check, e);
}

int main(int argc, char **argv)
{
    log_init("regtool", LOG_LEVEL_WARN);
    char host[NET_ADDR_MAX];
    int port;
    if (argc < 5 || strcmp(argv[1], "--registry") != 0 ||
        net_parse_hostport(argv[2], host, sizeof(host), &port) < 0)
        die("usage: regtool --registry HOST:PORT register NAME ADDR TTL | lookup NAME | watch "
            "NAME MS");
    el_loop *loop = el_create();
    mc_client *mc = mc_client_create(loop, host, port);
    const char *cmd = argv[3];
    if (strcmp(cmd, "register") == 0 && argc == 7) {
        reg_entry *e = reg_register(mc, argv[4], argv[5], atoi(argv[6]));
        if (!e)
            die("register: %s", strerror(errno));
        el_timer_add(loop, 20, on_check, e);
        el_run(loop);
    } else if (strcmp(cmd, "lookup") == 0 && argc == 5) {
        if (reg_lookup(mc, argv[4], on_lookup, NULL) < 0)
            die("lookup: %s", strerror(errno));
        uint64_t end = el_clock_ms() + 5000;
        while (!lookup_done && el_clock_ms() < end)
            el_run_once(loop, 100);
        if (!lookup_done)
            die("lookup: no answer");
    } else if (strcmp(cmd, "watch") == 0 && argc == 6) {
        reg_watch *w = reg_watch_create(mc, argv[4], 100);
        uint64_t end = el_clock_ms() + (uint64_t)atoi(argv[5]);
        while (el_clock_ms() < end)
            el_run_once(loop, 50);
        int n = reg_watch_count(w);
        for (int i = 0; i < 2 * n; i++)
            printf("%s\n", reg_watch_next(w));
        reg_watch_free(w);
    } else {
        die("unknown command %s", cmd);
    }
    mc_client_free(mc);
    el_free(loop);
    return 0;
}
