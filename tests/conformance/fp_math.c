// Floating point: double and long double arithmetic and libm printed exactly, rounding modes.
#include <fenv.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    (void)argv;
    volatile double x = 0.1 * argc, y = 3.0;
    printf("%.17g %.17g %.17g\n", x + 0.2, x / y, x * y);
    printf("sqrt(2)=%.17g cbrt(3)=%.17g\n", sqrt(2.0), cbrt(3.0));
    printf("sin(1)=%.17g cos(1)=%.17g tan(1)=%.17g\n", sin(1.0), cos(1.0), tan(1.0));
    printf("exp(1)=%.17g log(10)=%.17g pow(2,0.5)=%.17g\n", exp(1.0), log(10.0), pow(2, 0.5));
    printf("atan2(1,-1)=%.17g hypot(3,4)=%.17g fmod(10,3)=%.17g\n", atan2(1, -1), hypot(3, 4),
           fmod(10, 3));
    printf("lgamma(0.5)=%.17g erf(0.5)=%.17g\n", lgamma(0.5), erf(0.5));
    printf("%a %a\n", x, 1.0 / 3.0);
    printf("strtod: %.17g %.17g\n", strtod("1e-310", 0), strtod("0x1.fffffffffffffp1023", 0));
    printf("DBL_MIN/2=%g DBL_MAX*2=%g 0/0 is nan: %d\n", DBL_MIN / 2, DBL_MAX * (y - 1),
           isnan((x - x) / (x - x)));

    volatile long double lx = 1.0L / 3.0L;
    printf("long double: %.21Lg %La\n", lx, lx);
    printf("sqrtl(2)=%.21Lg expl(1)=%.21Lg\n", sqrtl(2.0L), expl(1.0L));
    printf("LDBL_MANT_DIG=%d\n", LDBL_MANT_DIG);

    /* Rounding modes live in MXCSR and the x87 control word; they must survive syscalls. */
    int modes[] = {FE_TONEAREST, FE_UPWARD, FE_DOWNWARD, FE_TOWARDZERO};
    const char *names[] = {"nearest", "upward", "downward", "towardzero"};
    for (int i = 0; i < 4; i++) {
        fesetround(modes[i]);
        getpid();
        usleep(1000);
        volatile double a = 1.0, b = 3.0;
        volatile long double la = 1.0L, lb = 3.0L;
        printf("%-10s %.17g %.17g %.21Lg rint(2.5)=%g\n", names[i], a / b, -a / b, la / lb,
               rint(2.5));
    }
    fesetround(FE_TONEAREST);
    feclearexcept(FE_ALL_EXCEPT);
    volatile double z = 0.0;
    volatile double inf = 1.0 / z;
    printf("1/0=%g FE_DIVBYZERO raised: %s\n", inf, fetestexcept(FE_DIVBYZERO) ? "yes" : "no");
    getpid();
    printf("flag survives a syscall: %s\n", fetestexcept(FE_DIVBYZERO) ? "yes" : "no");
    return 0;
}
