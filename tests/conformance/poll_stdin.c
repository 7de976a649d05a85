// poll and select on a stdin pipe: readable while data flows, readable (EOF) at the end.
// stdin: pipe-gen:200000
#include <poll.h>
#include <stdio.h>
#include <sys/select.h>
#include <unistd.h>

#include "conf.h"

int main(void)
{
    static unsigned char buf[8192];
    uint32_t x = CONF_GEN_SEED;
    size_t total = 0, bad = 0, polls = 0, not_ready = 0;
    for (;;) {
        struct pollfd p = {0, POLLIN, 0};
        int r = poll(&p, 1, 10000);
        polls++;
        if (r != 1 || !(p.revents & (POLLIN | POLLHUP))) {
            not_ready++;
            break;
        }
        ssize_t n = read(0, buf, sizeof buf);
        if (n <= 0)
            break;
        for (ssize_t i = 0; i < n; i++)
            bad += buf[i] != conf_gen_next(&x);
        total += n;
    }
    printf("bytes=%zu mismatches=%zu poll timeouts=%zu\n", total, bad, not_ready);
    fd_set r;
    FD_ZERO(&r);
    FD_SET(0, &r);
    SHOW(select(1, &r, 0, 0, &(struct timeval){1, 0}));
    printf("select says stdin readable at EOF: %s\n", FD_ISSET(0, &r) ? "yes" : "no");
    SHOW(read(0, buf, 1));
    return 0;
}
