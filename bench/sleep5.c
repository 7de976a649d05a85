/* sleep5 — a guest that says "sleeping" and sleeps 5 s in one nanosleep, for
 * bench/boot's measure of the host CPU an idle unikernel costs (the line tells
 * the benchmark that the boot is over). Static musl. */
#include <time.h>
#include <unistd.h>

int main(void)
{
    if (write(1, "sleeping\n", 9) != 9)
        return 1;
    struct timespec ts = {5, 0};
    while (nanosleep(&ts, &ts) != 0)
        ;
    return 0;
}
