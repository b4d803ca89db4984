/*
 * buf.c - growable byte buffer with a hard cap. See buf.h for the
 * invariants. Growth doubles the capacity (never past max + 1, the +1
 * being the NUL terminator) so appends are amortised O(1).
 */
#include "common/buf.h"

#include "scoreboard.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sb__buf_init(sb_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void sb__buf_free(sb_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void sb__buf_reset(sb_buf *b)
{
    b->len = 0;
    if (b->data != NULL)
        b->data[0] = '\0';
}

int sb__buf_reserve(sb_buf *b, size_t n)
{
    size_t need, cap;
    char *p;

    if (n > b->max || b->len > b->max - n)
        return SB_ETOOLARGE;
    need = b->len + n + 1; /* room for the NUL */
    if (need <= b->cap)
        return SB_OK;

    cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    if (b->max != SIZE_MAX && cap > b->max + 1)
        cap = b->max + 1;
    p = realloc(b->data, cap);
    if (p == NULL)
        return SB_ENOMEM;
    if (b->data == NULL)
        p[0] = '\0';
    b->data = p;
    b->cap = cap;
    return SB_OK;
}

int sb__buf_append(sb_buf *b, const void *p, size_t n)
{
    int rc = sb__buf_reserve(b, n);

    if (rc != SB_OK)
        return rc;
    if (n > 0)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return SB_OK;
}

int sb__buf_append_str(sb_buf *b, const char *s)
{
    return sb__buf_append(b, s, strlen(s));
}

int sb__buf_append_char(sb_buf *b, char c)
{
    return sb__buf_append(b, &c, 1);
}

int sb__buf_printf(sb_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n, rc;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return SB_EINVAL;

    rc = sb__buf_reserve(b, (size_t)n);
    if (rc != SB_OK)
        return rc;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return SB_OK;
}

void sb__buf_consume(sb_buf *b, size_t n)
{
    if (n >= b->len) {
        sb__buf_reset(b);
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
    b->data[b->len] = '\0';
}

char *sb__buf_steal(sb_buf *b, size_t *len)
{
    char *p = b->data;

    if (len != NULL)
        *len = b->len;
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    return p;
}

int sb__array_grow(void **arr, size_t *cap, size_t need, size_t elem,
                   size_t first)
{
    size_t n = *cap ? *cap : (first ? first : 1);
    void *p;

    if (need <= *cap)
        return SB_OK;
    while (n < need) {
        if (n > SIZE_MAX / 2)
            return SB_ENOMEM;
        n *= 2;
    }
    if (elem != 0 && n > SIZE_MAX / elem)
        return SB_ENOMEM;
    p = realloc(*arr, n * elem);
    if (p == NULL)
        return SB_ENOMEM;
    *arr = p;
    *cap = n;
    return SB_OK;
}
