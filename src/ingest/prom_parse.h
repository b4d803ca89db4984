/*
 * prom_parse.h - a parser of the Prometheus text exposition format 0.0.4
 * (what `--scrape` reads). Pure: no I/O, no allocation per line.
 *
 * The input is one complete buffer; sb__prom_next() returns its items one
 * by one. Lines (ended by '\n'; a '\r' before it is dropped; the last
 * line needs no '\n'):
 *
 *   blank line                                   skipped
 *   # HELP <name> <text>                         help, text unescapes \\ \n
 *   # TYPE <name> counter|gauge|histogram|summary|untyped
 *   # <anything else>                            comment, skipped
 *   <name>[{<key>="<value>",...[,]}] <value> [<timestamp>]
 *
 * Tokens are separated by spaces or tabs. Names match
 * [a-zA-Z_:][a-zA-Z0-9_:]*, label keys [a-zA-Z_][a-zA-Z0-9_]* (not
 * __name__, no key twice); label values are UTF-8 and unescape \\, \"
 * and \n. A value is a float in Go's ParseFloat syntax (decimal or hex,
 * NaN, Inf, +Inf, -Inf in any case; out of range is an error); a
 * timestamp is an int64 of milliseconds.
 *
 * Families, as Go's text parser (promtool) tracks them over the whole
 * input: a sample belongs to the family of its name when one exists,
 * else for X_count or X_sum to a summary or histogram family X, for
 * X_bucket to a histogram family X (which needs a numeric le label); any
 * other sample creates an untyped family of its own name. A sample named
 * X of a summary X needs a numeric quantile label; an le (quantile)
 * label on any line of a histogram (summary) family must be numeric. A
 * second HELP or TYPE line for a family, or a TYPE line after its
 * samples, is an error.
 *
 * Every error names the line and the reason; the caller is expected to
 * drop the whole input.
 */
#ifndef SB_INGEST_PROM_PARSE_H
#define SB_INGEST_PROM_PARSE_H

#include "scoreboard.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum sb_prom_kind { SB_PROM_SAMPLE = 1, SB_PROM_HELP, SB_PROM_TYPE };

enum sb_prom_type {
    SB_PROM_UNTYPED,
    SB_PROM_COUNTER,
    SB_PROM_GAUGE,
    SB_PROM_HISTOGRAM,
    SB_PROM_SUMMARY,
};

/* Limits; zero fields take the defaults below. */
typedef struct sb_prom_limits {
    size_t max_line;    /* bytes in one line; 64 KiB */
    size_t max_labels;  /* labels on one sample; SB_LABELS_MAX */
    size_t max_samples; /* samples in the input; 100,000; also the
                           cap on metric families */
} sb_prom_limits;

#define SB_PROM_LINE_MAX    (64 * 1024)
#define SB_PROM_SAMPLES_MAX 100000

/* One item. Strings are NUL-terminated and valid until the next call. */
typedef struct sb_prom_item {
    int kind;         /* enum sb_prom_kind */
    const char *name; /* metric name (of the sample, or HELP/TYPE) */
    sb_label labels[SB_LABELS_MAX];
    size_t nlabels;
    double value;
    bool has_time;
    int64_t time_ms;
    int type;         /* TYPE: declared; SAMPLE: its family's */
    const char *help; /* HELP: the unescaped text ("" when none) */
} sb_prom_item;

typedef struct sb_prom_parser {
    const char *data; /* borrowed */
    size_t len, pos;
    size_t line; /* number of the line last read, from 1 */
    sb_prom_limits lim;
    size_t nsamples;
    char *scratch; /* unescaped strings of the current line, owned */
    struct sb_prom_family *fams; /* open-addressing table, owned */
    size_t nfams, fams_cap;      /* cap is 0 or a power of two */
    uint8_t hash_key[16];
    int failed;    /* the error returned, 0 while none */
    char err[200]; /* "line N: reason" after an error */
} sb_prom_parser;

/* Starts parsing data[0..len) (borrowed). lim may be NULL. 0 or
 * SB_ENOMEM; free with sb__prom_parser_free() either way. */
int sb__prom_parser_init(sb_prom_parser *p, const char *data, size_t len,
                         const sb_prom_limits *lim);
/*
 * The next item: 1 with *out filled, 0 at the end of the input,
 * SB_EINVAL for a malformed line or SB_ETOOLARGE for a limit, both with
 * p->err set. After an error the parser stays failed.
 */
int sb__prom_next(sb_prom_parser *p, sb_prom_item *out);
void sb__prom_parser_free(sb_prom_parser *p);

#endif
