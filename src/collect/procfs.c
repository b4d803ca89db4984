/*
 * procfs.c - reading and parsing /proc text files.
 *
 * Files are read with open/read into caller-provided or stack buffers, so
 * a collector tick does not allocate. The number parsers accept only
 * plain digits (and one decimal point for fractions): /proc never writes
 * signs, exponents or hex, so anything else means the file is not what
 * we think it is.
 */
#include "collect/procfs.h"

#include "scoreboard.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SB_PROC_CHUNK 4096

/* read(2) that retries on EINTR. */
static ssize_t read_retry(int fd, void *buf, size_t n)
{
    ssize_t r;

    do {
        r = read(fd, buf, n);
    } while (r < 0 && errno == EINTR);
    return r;
}

int sb__proc_read(const char *path, char *buf, size_t n, size_t *len)
{
    size_t have = 0;
    int rc = 0;
    char extra;
    int fd;

    if (n < 2)
        return SB_EINVAL;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return SB_ESYS;

    for (;;) {
        ssize_t r = read_retry(fd, buf + have, n - 1 - have);
        if (r < 0) {
            rc = SB_ESYS;
            goto out;
        }
        if (r == 0)
            break;
        have += (size_t)r;
        if (have == n - 1) {
            /* Full: the file fits only if the next read sees its end. */
            r = read_retry(fd, &extra, 1);
            if (r != 0) {
                rc = r < 0 ? SB_ESYS : SB_ETOOLARGE;
                goto out;
            }
            break;
        }
    }
    buf[have] = '\0';
    *len = have;

out:
    close(fd);
    return rc;
}

static bool line_matches(const char *s, size_t len, const char *prefix)
{
    size_t plen = strlen(prefix);

    return len >= plen && memcmp(s, prefix, plen) == 0;
}

static int copy_line(const char *s, size_t len, char *line, size_t n)
{
    if (len >= n)
        return SB_ETOOLARGE;
    memcpy(line, s, len);
    line[len] = '\0';
    return 0;
}

/*
 * Looks for the prefix among the complete lines in chunk[0..*have). Lines
 * are consumed (the remainder is moved to the front). Returns 1 when the
 * line was found and copied, 0 to keep reading, <0 on error. *skipping
 * says the chunk starts inside an overlong line that cannot match.
 */
static int scan_chunk(char *chunk, size_t *have, bool *skipping,
                      const char *prefix, char *line, size_t n)
{
    size_t start = 0;

    for (;;) {
        char *nl = memchr(chunk + start, '\n', *have - start);
        size_t llen;

        if (nl == NULL)
            break;
        llen = (size_t)(nl - (chunk + start));
        if (!*skipping && line_matches(chunk + start, llen, prefix)) {
            int rc = copy_line(chunk + start, llen, line, n);
            return rc < 0 ? rc : 1;
        }
        *skipping = false;
        start += llen + 1;
    }
    memmove(chunk, chunk + start, *have - start);
    *have -= start;
    return 0;
}

int sb__proc_find_line(const char *path, const char *prefix, char *line,
                       size_t n)
{
    char chunk[SB_PROC_CHUNK];
    bool skipping = false;
    size_t have = 0;
    int rc;
    int fd;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return SB_ESYS;

    for (;;) {
        ssize_t r = read_retry(fd, chunk + have, sizeof chunk - have);
        if (r < 0) {
            rc = SB_ESYS;
            goto out;
        }
        have += (size_t)r;
        rc = scan_chunk(chunk, &have, &skipping, prefix, line, n);
        if (rc != 0)
            goto out;
        if (r == 0) {
            /* The last line may lack its newline. */
            if (have > 0 && !skipping && line_matches(chunk, have, prefix))
                rc = copy_line(chunk, have, line, n);
            else
                rc = SB_EINVAL;
            goto out;
        }
        if (have == sizeof chunk) {
            /* One line fills the chunk: it matches only if it is ours,
             * and then it is too long for any caller's buffer. */
            if (!skipping && line_matches(chunk, have, prefix)) {
                rc = SB_ETOOLARGE;
                goto out;
            }
            skipping = true;
            have = 0;
        }
    }

out:
    close(fd);
    return rc < 0 ? rc : 0;
}

static const char *skip_blanks(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

static bool is_field_end(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\0';
}

int sb__proc_u64(const char **p, uint64_t *out)
{
    const char *s = skip_blanks(*p);
    uint64_t v = 0;

    if (*s < '0' || *s > '9')
        return SB_EINVAL;
    for (; *s >= '0' && *s <= '9'; s++) {
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return SB_ERANGE;
        v = v * 10 + d;
    }
    if (!is_field_end(*s))
        return SB_EINVAL;
    *out = v;
    *p = s;
    return 0;
}

int sb__proc_double(const char **p, double *out)
{
    const char *s = skip_blanks(*p);
    const char *e = s;
    char *end;
    double v;

    if (*s < '0' || *s > '9')
        return SB_EINVAL;
    while ((*e >= '0' && *e <= '9') || *e == '.')
        e++;
    if (!is_field_end(*e))
        return SB_EINVAL;
    errno = 0;
    v = strtod(s, &end);
    if (end != e)
        return SB_EINVAL;
    if (errno == ERANGE || !isfinite(v))
        return SB_ERANGE;
    *out = v;
    *p = e;
    return 0;
}

/* The start of the line beginning with "key:", or NULL. */
static const char *find_key(const char *text, const char *key)
{
    size_t klen = strlen(key);
    const char *line = text;

    while (line != NULL && *line != '\0') {
        if (strncmp(line, key, klen) == 0 && line[klen] == ':')
            return line + klen + 1;
        line = strchr(line, '\n');
        if (line != NULL)
            line++;
    }
    return NULL;
}

int sb__proc_field(const char *text, const char *key, uint64_t *out)
{
    const char *p = find_key(text, key);
    uint64_t v;
    int rc;

    if (p == NULL)
        return SB_EINVAL;
    rc = sb__proc_u64(&p, &v);
    if (rc < 0)
        return rc;
    p = skip_blanks(p);
    if (strncmp(p, "kB", 2) == 0) {
        if (v > UINT64_MAX / 1024)
            return SB_ERANGE;
        v *= 1024;
        p += 2;
    }
    if (*p != '\n' && *p != '\0')
        return SB_EINVAL;
    *out = v;
    return 0;
}

int sb__proc_path(char *out, size_t n, const char *root, const char *name)
{
    int len = snprintf(out, n, "%s/%s", root, name);

    if (len < 0 || (size_t)len >= n)
        return SB_ETOOLARGE;
    return 0;
}
