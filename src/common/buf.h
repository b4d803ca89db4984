/*
 * buf.h - a growable byte buffer with a hard cap.
 *
 * Invariants: data is NULL or points to cap bytes; len <= cap; when data is
 * non-NULL, data[len] is a NUL byte (so the content can be read as a C
 * string), hence cap > len always. max bounds len; appending past it fails
 * with SB_ETOOLARGE and leaves the buffer unchanged.
 */
#ifndef SB_COMMON_BUF_H
#define SB_COMMON_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct sb_buf {
    char *data;
    size_t len;
    size_t cap;
    size_t max; /* hard cap on len; SIZE_MAX for none */
} sb_buf;

/* Initialises an empty buffer that may hold at most max bytes. */
void sb__buf_init(sb_buf *b, size_t max);
/* Frees the storage; the buffer is empty and reusable afterwards. */
void sb__buf_free(sb_buf *b);
/* Empties the buffer but keeps its storage. */
void sb__buf_reset(sb_buf *b);
/* Makes room for n more bytes. 0, SB_ENOMEM or SB_ETOOLARGE. */
int sb__buf_reserve(sb_buf *b, size_t n);
int sb__buf_append(sb_buf *b, const void *p, size_t n);
int sb__buf_append_str(sb_buf *b, const char *s);
int sb__buf_append_char(sb_buf *b, char c);
int sb__buf_printf(sb_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Removes the first n bytes (n <= len). */
void sb__buf_consume(sb_buf *b, size_t n);
/*
 * Grows a plain array *arr of *cap elements of elem bytes so it holds at
 * least need elements: the capacity doubles from first (or from *cap),
 * so appending one element at a time costs amortised O(1). Guards the
 * size arithmetic against overflow. 0 or SB_ENOMEM; on failure the array
 * is unchanged.
 */
int sb__array_grow(void **arr, size_t *cap, size_t need, size_t elem,
                   size_t first);

/* Hands the storage to the caller (who frees it with free()) and leaves
 * the buffer empty. Returns NULL when the buffer never allocated. */
char *sb__buf_steal(sb_buf *b, size_t *len);

#endif
