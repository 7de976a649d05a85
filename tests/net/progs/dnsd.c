/*
 * dnsd — a tiny DNS server for the network tests: answers every A query with
 * ADDR, except names starting with "missing", which get NXDOMAIN.
 *
 * usage: dnsd ADDR [PORT]
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int main(int argc, char **argv)
{
    if (argc < 2)
        return fprintf(stderr, "usage: dnsd ADDR [PORT]\n"), 2;
    struct in_addr answer;
    if (inet_pton(AF_INET, argv[1], &answer) != 1)
        return fprintf(stderr, "dnsd: bad address\n"), 2;
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(argc > 2 ? atoi(argv[2]) : 53)};
    if (bind(s, (struct sockaddr *)&a, sizeof a) < 0)
        return perror("dnsd: bind"), 1;
    printf("dnsd: ready\n");
    fflush(stdout);
    for (;;) {
        unsigned char q[512], r[600];
        struct sockaddr_in from;
        socklen_t fl = sizeof from;
        ssize_t n = recvfrom(s, q, sizeof q, 0, (struct sockaddr *)&from, &fl);
        if (n < 12)
            continue;
        /* The question: labels up to a zero byte, then type and class. */
        size_t p = 12;
        char name[256] = "";
        size_t nl = 0;
        while (p < (size_t)n && q[p] && nl < 200) {
            size_t l = q[p];
            if (p + 1 + l > (size_t)n)
                break;
            memcpy(name + nl, q + p + 1, l);
            nl += l;
            name[nl++] = '.';
            p += 1 + l;
        }
        name[nl] = 0;
        if (p + 5 > (size_t)n)
            continue;
        size_t qend = p + 5;
        unsigned qtype = q[p + 1] << 8 | q[p + 2];
        memcpy(r, q, qend);
        r[2] = 0x84 | (q[2] & 1); /* response, authoritative, RD copied */
        r[3] = 0x80;              /* RA */
        r[4] = 0, r[5] = 1;       /* one question */
        r[6] = r[7] = r[8] = r[9] = r[10] = r[11] = 0;
        size_t len = qend;
        if (!strncmp(name, "missing", 7)) {
            r[3] |= 3; /* NXDOMAIN */
        } else if (qtype == 1) {
            r[7] = 1; /* one answer */
            unsigned char rr[] = {0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4};
            memcpy(r + len, rr, sizeof rr);
            len += sizeof rr;
            memcpy(r + len, &answer, 4);
            len += 4;
        }
        sendto(s, r, len, 0, (struct sockaddr *)&from, fl);
    }
}
