/* filter.c -- decode, grayscale, Gaussian blur, Sobel edges, encode PNG
 * (see filter.h; docs/services.md has the exact arithmetic).
 *
 * Integer arithmetic throughout and clamp-to-edge borders, so a given input
 * gives the same bytes on every machine and with every compiler, which is
 * what the pipeline test relies on when it compares results byte for byte.
 */
#include "filter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "stb_config.h"

static int clampi(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* ITU-R BT.601 luma in 8-bit fixed point: (77 R + 150 G + 29 B + 128) >> 8. */
static void to_gray(const unsigned char *rgb, unsigned char *gray, long n)
{
    for (long i = 0; i < n; i++) {
        const unsigned char *p = rgb + 3 * i;
        gray[i] = (unsigned char)((77 * p[0] + 150 * p[1] + 29 * p[2] + 128) >> 8);
    }
}

/* 5x5 Gaussian, separable [1 4 6 4 1] / 16 each way: horizontal sums kept
 * exact (at most 16 * 255), one rounding at the end: (sum + 128) >> 8. */
void filter_blur(const unsigned char *src, unsigned char *dst, int w, int h)
{
    static const int k[5] = {1, 4, 6, 4, 1};
    unsigned short *tmp = malloc((size_t)w * (size_t)h * sizeof(*tmp));
    if (!tmp)
        abort();
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int s = 0;
            for (int i = -2; i <= 2; i++)
                s += k[i + 2] * src[(size_t)y * w + clampi(x + i, 0, w - 1)];
            tmp[(size_t)y * w + x] = (unsigned short)s;
        }
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int s = 0;
            for (int i = -2; i <= 2; i++)
                s += k[i + 2] * tmp[(size_t)clampi(y + i, 0, h - 1) * w + x];
            dst[(size_t)y * w + x] = (unsigned char)((s + 128) >> 8);
        }
    free(tmp);
}

/* Sobel: Gx = [-1 0 1; -2 0 2; -1 0 1], Gy its transpose; the output is
 * min(255, (|Gx| + |Gy|) / 2), integer division. */
void filter_sobel(const unsigned char *src, unsigned char *dst, int w, int h)
{
    for (int y = 0; y < h; y++) {
        int ym = clampi(y - 1, 0, h - 1), yp = clampi(y + 1, 0, h - 1);
        for (int x = 0; x < w; x++) {
            int xm = clampi(x - 1, 0, w - 1), xp = clampi(x + 1, 0, w - 1);
#define P(yy, xx) ((int)src[(size_t)(yy)*w + (xx)])
            int gx = -P(ym, xm) + P(ym, xp) - 2 * P(y, xm) + 2 * P(y, xp) - P(yp, xm) + P(yp, xp);
            int gy = -P(ym, xm) - 2 * P(ym, x) - P(ym, xp) + P(yp, xm) + 2 * P(yp, x) + P(yp, xp);
#undef P
            int m = ((gx < 0 ? -gx : gx) + (gy < 0 ? -gy : gy)) / 2;
            dst[(size_t)y * w + x] = (unsigned char)(m > 255 ? 255 : m);
        }
    }
}

static void write_to_buf(void *ctx, void *data, int size)
{
    buf_append(ctx, data, (size_t)size);
}

int filter_image(const unsigned char *in, size_t len, long max_pixels, unsigned char **out,
                 size_t *outlen, char *err, size_t errlen)
{
    int w, h, comp;
    if (len > 0x7fffffff || !stbi_info_from_memory(in, (int)len, &w, &h, &comp)) {
        snprintf(err, errlen, "not a PNG or JPEG image (%s)",
                 len > 0x7fffffff ? "too large" : stbi_failure_reason());
        return -1;
    }
    if (w < 1 || h < 1 || (long long)w * h > max_pixels) {
        snprintf(err, errlen, "image of %dx%d pixels is over the limit of %ld", w, h, max_pixels);
        return -1;
    }
    unsigned char *rgb = stbi_load_from_memory(in, (int)len, &w, &h, &comp, 3);
    if (!rgb) {
        snprintf(err, errlen, "cannot decode the image (%s)", stbi_failure_reason());
        return -1;
    }
    long n = (long)w * h;
    unsigned char *a = malloc((size_t)n), *b = malloc((size_t)n);
    if (!a || !b)
        abort();
    to_gray(rgb, a, n);
    stbi_image_free(rgb);
    filter_blur(a, b, w, h);
    filter_sobel(b, a, w, h);
    free(b);
    buf png = BUF_INIT;
    /* Fixed encoder settings: the PNG bytes must not depend on defaults. */
    stbi_write_png_compression_level = 8;
    stbi_write_force_png_filter = -1;
    int ok = stbi_write_png_to_func(write_to_buf, &png, w, h, 1, a, w);
    free(a);
    if (!ok) {
        buf_free(&png);
        snprintf(err, errlen, "cannot encode the PNG");
        return -1;
    }
    *outlen = buf_used(&png);
    *out = malloc(*outlen ? *outlen : 1);
    if (!*out)
        abort();
    memcpy(*out, buf_peek(&png), *outlen);
    buf_free(&png);
    return 0;
}
