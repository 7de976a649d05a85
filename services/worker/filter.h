/* filter.h -- the worker's image filter, on its own so that the reference
 * tool of the tests (tests/pipeline/filter_ref.c) runs exactly the same code
 * as the worker: decode PNG/JPEG, grayscale, Gaussian blur, Sobel edges,
 * encode PNG. Every step is integer arithmetic, so the output bytes depend
 * only on the input bytes (docs/services.md gives each step precisely). */
#ifndef WORKER_FILTER_H
#define WORKER_FILTER_H

#include <stddef.h>

#define FILTER_MAX_PIXELS (64L * 1024 * 1024) /* default bound on width * height */

/* Filters the PNG or JPEG image in[0..len) into a new PNG in *out (malloc'd,
 * *outlen bytes). Returns 0, or -1 with a reason in err: the input is not a
 * decodable PNG/JPEG, or has more than max_pixels pixels. */
int filter_image(const unsigned char *in, size_t len, long max_pixels, unsigned char **out,
                 size_t *outlen, char *err, size_t errlen);

/* The steps, for tests. gray is w*h bytes. */
void filter_blur(const unsigned char *src, unsigned char *dst, int w, int h);
void filter_sobel(const unsigned char *src, unsigned char *dst, int w, int h);

#endif
