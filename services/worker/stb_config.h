/* stb_config.h -- which parts of Debian's stb_image and stb_image_write the worker
 * uses (PNG and JPEG in, PNG out, memory only: no stdio, no HDR), in one
 * place for the implementation file and its users. */
#ifndef WORKER_STB_CONFIG_H
#define WORKER_STB_CONFIG_H

#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_NO_STDIO
#define STBI_NO_HDR
#define STBI_NO_LINEAR
#define STBI_NO_THREAD_LOCALS
#define STBI_WRITE_NO_STDIO

#include <stb_image.h>
#include <stb_image_write.h>

#endif
