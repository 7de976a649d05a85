// SSE state across syscalls and sleeps: vectorised loops over doubles and floats, printed exactly.
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#define N 4096

static double a[N], b[N], c[N];
static float fa[N], fb[N];

__attribute__((optimize("tree-vectorize"))) static void axpy(double k)
{
    for (int i = 0; i < N; i++)
        c[i] = k * a[i] + b[i];
}

__attribute__((optimize("tree-vectorize"))) static float fdot(void)
{
    float s = 0;
    for (int i = 0; i < N; i++)
        s += fa[i] * fb[i];
    return s;
}

int main(void)
{
    for (int i = 0; i < N; i++) {
        a[i] = i * 0.25 + 1.0 / (i + 1);
        b[i] = (N - i) * 1e-3;
        fa[i] = (float)i / 7.0f;
        fb[i] = 1.0f / (float)(i + 3);
    }
    double total = 0;
    for (int round = 0; round < 20; round++) {
        axpy(round * 0.5 + 0.1);
        /* Syscalls and a sleep between rounds: the kernel must keep the vector registers. */
        getpid();
        if (round % 5 == 0)
            nanosleep(&(struct timespec){0, 1000000}, 0);
        for (int i = 0; i < N; i++)
            total += c[i];
    }
    printf("axpy total: %.17g\n", total);
    printf("c[0]=%.17g c[N-1]=%.17g\n", c[0], c[N - 1]);
    printf("float dot: %.9g\n", (double)fdot());
    float f = 0;
    for (int i = 0; i < N; i++)
        f += fa[i];
    printf("float sum: %.9g\n", (double)f);
    return 0;
}
