/*
 * prom_text.h - the Prometheus text exposition format (version 0.0.4) of
 * a latest-value query snapshot, for GET /metrics.
 *
 * The encoder reads a private snapshot (no store lock) and is
 * incremental like the JSON one: each fill appends whole lines until the
 * buffer reaches a target size. Output rules:
 * - one line per series: its newest point in the snapshot, no timestamp;
 * - metric names are sanitised to [a-zA-Z_:][a-zA-Z0-9_:]* ('.', '-' and
 *   any other byte become '_'); label keys starting with "__" (reserved
 *   by Prometheus) are left out; when two series end up with the same
 *   name and labels, only one line is written: the series whose name
 *   needed no change, else the first in scoreboard's name order;
 * - series are grouped in families, each opened by one # HELP and one
 *   # TYPE line. X is a summary when every series named X carries a
 *   numeric "quantile" label and X_count or X_sum exists (those join the
 *   family); X is a histogram when no series is named X, every X_bucket
 *   carries a numeric "le" label and X_count or X_sum exists; neither
 *   when an X_count or X_sum series carries the quantile / le label.
 *   Otherwise a name ending in "_total" is a counter, anything else a
 *   gauge.
 * - values: shortest round-trip decimal, NaN, +Inf, -Inf; label values
 *   escape backslash, double quote and newline.
 */
#ifndef SB_ENCODE_PROM_TEXT_H
#define SB_ENCODE_PROM_TEXT_H

#include "common/buf.h"
#include "store/result.h"

#include <stddef.h>

/* The Content-Type of the output. */
#define SB_PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

typedef struct sb_prom_line sb_prom_line;

typedef struct sb_prom_enc {
    const sb_result *res; /* borrowed */
    sb_prom_line *lines;  /* output order, duplicates removed */
    size_t nlines;
    size_t next;   /* next line to write */
    char *names;   /* arena of sanitised names, owned */
    size_t *point; /* per series: index of its newest point */
} sb_prom_enc;

/* Prepares the output of res (borrowed; it must outlive the encoder).
 * 0, SB_EINVAL or SB_ENOMEM; on failure nothing needs freeing. */
int sb__prom_enc_init(sb_prom_enc *e, const sb_result *res);
/* Appends lines until out->len >= target or the body is complete (at
 * least one line per call). 1 when more remains, 0 when complete, <0 on
 * error. */
int sb__prom_enc_fill(sb_prom_enc *e, sb_buf *out, size_t target);
void sb__prom_enc_free(sb_prom_enc *e);

/* Writes name[0..n) sanitised to the Prometheus metric name charset into
 * out (n bytes). Returns true when nothing had to change. */
bool sb__prom_sanitize_name(const char *name, size_t n, char *out);

#endif
