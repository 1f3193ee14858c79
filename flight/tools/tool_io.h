/* Whole-file reading and writing for the flight core's command-line tools (not part of the library, which does no
 * I/O). Define TOOL (the program's name, for messages) before including. */
#ifndef MC_TOOL_IO_H
#define MC_TOOL_IO_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* The bytes of a file ("-": standard input; malloc'd, one byte more than *len, which is 0), or NULL with a
 * message. */
static inline unsigned char *read_all(const char *path, size_t *len)
{
    FILE *f = path[0] == '-' && path[1] == 0 ? stdin : fopen(path, "rb");
    unsigned char *buf = NULL;
    size_t cap = 0, got = 0;
    if (!f) {
        fprintf(stderr, "%s: cannot open %s\n", TOOL, path);
        return NULL;
    }
    for (;;) {
        if (got == cap) {
            unsigned char *more;
            cap = cap ? 2 * cap : 65536;
            more = realloc(buf, cap + 1);
            if (!more) {
                free(buf);
                if (f != stdin) fclose(f);
                fprintf(stderr, "%s: %s does not fit in memory\n", TOOL, path);
                return NULL;
            }
            buf = more;
        }
        got += fread(buf + got, 1, cap - got, f);
        if (got < cap) break;
    }
    if (f != stdin) fclose(f);
    buf[got] = 0;
    *len = got;
    return buf;
}

/* A little-endian u32 of a case file. */
static inline uint32_t le32(const unsigned char *b)
{
    return (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) | ((uint32_t)b[3] << 24);
}

static inline int write_all(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(data, 1, len, f) == len;
    if (f && fclose(f) != 0) ok = 0;
    if (!ok) fprintf(stderr, "%s: cannot write %s\n", TOOL, path);
    return ok;
}

#endif /* MC_TOOL_IO_H */
