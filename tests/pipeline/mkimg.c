/* mkimg.c -- makes deterministic test images for the pipeline tests and
 * benchmarks, so that no binary test data lives in the repository:
 *   mkimg DIR N [W H]
 * writes DIR/img-000.png ... : PNG (RGB, RGBA, gray) and JPEG in turn, with
 * gradients, shapes and noise from a fixed seed (sizes vary around W x H,
 * default 160 x 120, so edges and borders get exercised). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stb_config.h"

static unsigned long long seed = 0x9e3779b97f4a7c15ULL;

static unsigned rnd(void)
{
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    return (unsigned)(seed >> 16);
}

static void write_file(void *ctx, void *data, int size)
{
    fwrite(data, 1, (size_t)size, ctx);
}

int main(int argc, char **argv)
{
    if (argc != 3 && argc != 5) {
        fprintf(stderr, "usage: mkimg DIR N [W H]\n");
        return 2;
    }
    int n = atoi(argv[2]);
    int bw = argc == 5 ? atoi(argv[3]) : 160, bh = argc == 5 ? atoi(argv[4]) : 120;
    if (n < 1 || bw < 8 || bh < 8) {
        fprintf(stderr, "mkimg: bad arguments\n");
        return 2;
    }
    for (int k = 0; k < n; k++) {
        int w = bw + (int)(rnd() % (unsigned)(bw / 2 + 1)) - bw / 4;
        int h = bh + (int)(rnd() % (unsigned)(bh / 2 + 1)) - bh / 4;
        int kind = k % 4; /* 0 RGB PNG, 1 RGBA PNG, 2 gray PNG, 3 JPEG */
        int comp = kind == 1 ? 4 : kind == 2 ? 1 : 3;
        unsigned char *px = malloc((size_t)w * h * comp);
        if (!px)
            return 1;
        int cx = (int)(rnd() % (unsigned)w), cy = (int)(rnd() % (unsigned)h);
        int r2 = (int)(rnd() % (unsigned)(w * h / 8 + 1)) + 16;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                int inside = (x - cx) * (x - cx) + (y - cy) * (y - cy) < r2;
                int bar = ((x / 9) + (y / 13) + k) % 5 == 0;
                for (int c = 0; c < comp; c++) {
                    int v = (x * 255 / w) * (c == 0) + (y * 255 / h) * (c == 1) +
                            ((x + y + 37 * k) & 255) * (c == 2);
                    if (inside)
                        v = 255 - v;
                    if (bar)
                        v /= 3;
                    v += (int)(rnd() % 24) - 12;
                    if (c == 3)
                        v = 128 + (int)(rnd() % 128);
                    px[((size_t)y * w + x) * comp + c] = (unsigned char)(v < 0     ? 0
                                                                         : v > 255 ? 255
                                                                                   : v);
                }
            }
        char path[4096];
        snprintf(path, sizeof(path), "%s/img-%03d.%s", argv[1], k, kind == 3 ? "jpg" : "png");
        FILE *f = fopen(path, "wb");
        if (!f) {
            perror(path);
            return 1;
        }
        int ok = kind == 3 ? stbi_write_jpg_to_func(write_file, f, w, h, comp, px, 85)
                           : stbi_write_png_to_func(write_file, f, w, h, comp, px, w * comp);
        if (!ok || fclose(f) != 0) {
            fprintf(stderr, "mkimg: cannot write %s\n", path);
            return 1;
        }
        free(px);
    }
    return 0;
}
