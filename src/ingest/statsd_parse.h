/*
 * statsd_parse.h - one StatsD / DogStatsD line into a validated metric.
 *
 * The line format (one metric per line; the caller splits packets at
 * '\n' and may leave a trailing '\r' on the line):
 *
 *     <name>:<value>|<type>[|@<rate>][|#<tag>,<tag>...][|c:<id>][|T<ts>]
 *
 *     type   c (counter), g (gauge), ms (timer), h (histogram),
 *            d (distribution, aggregated like h), s (set)
 *     value  a finite decimal (no hex, no NaN/Inf); for a gauge a leading
 *            '+' or '-' makes it a delta; for a set any member text
 *     rate   a decimal in (0, 1]; absent means 1
 *     tag    key:value, or a bare key (value ""); keys are sanitised to
 *            [A-Za-z_][A-Za-z0-9_]*, values are kept as UTF-8
 *
 * The DogStatsD container (|c:) and timestamp (|T) sections are accepted
 * and ignored; any other section rejects the line. The parser is pure (no
 * I/O, no allocation): everything it returns lives in the caller's
 * sb_statsd_line, so one line's worth of state is reused line after line.
 */
#ifndef SB_INGEST_STATSD_PARSE_H
#define SB_INGEST_STATSD_PARSE_H

#include "scoreboard.h"

#include <stdbool.h>
#include <stddef.h>

/* Longest StatsD name after sanitising: leaves room for the longest
 * suffix the aggregator appends ("_seconds_count"). */
#define SB_STATSD_NAME_MAX (SB_NAME_MAX - 16)
/* Tags per line: one label is kept free for the quantile label. */
#define SB_STATSD_TAGS_MAX (SB_LABELS_MAX - 1)
/* Longest line (TCP framing and the parser); longer ones are refused. */
#define SB_STATSD_LINE_MAX (64 * 1024)
/* Longest set member and longest numeric field. */
#define SB_STATSD_MEMBER_MAX SB_LABEL_VALUE_MAX
#define SB_STATSD_NUMBER_MAX 64

enum sb_statsd_type {
    SB_STATSD_COUNTER,
    SB_STATSD_GAUGE,
    SB_STATSD_TIMER,     /* ms: milliseconds, stored as seconds */
    SB_STATSD_HISTOGRAM, /* h and d: unitless */
    SB_STATSD_SET,
    SB_STATSD_TYPE_COUNT
};

/* Room for the name, the set member and every tag key and value, each
 * NUL-terminated. */
#define SB_STATSD_TEXT_MAX                                                     \
    (SB_STATSD_NAME_MAX + 2 + SB_STATSD_MEMBER_MAX + 1 +                       \
     SB_STATSD_TAGS_MAX * (SB_LABEL_KEY_MAX + 1 + SB_LABEL_VALUE_MAX + 1))

typedef struct sb_statsd_line {
    int type;           /* enum sb_statsd_type */
    double value;       /* counters, gauges, timers, histograms */
    bool delta;         /* gauge: value is added to the current one */
    double rate;        /* sample rate in (0, 1]; 1 when absent */
    const char *name;   /* sanitised, NUL-terminated, into text */
    const char *member; /* sets: the member text, into text */
    size_t member_len;
    sb_label tags[SB_STATSD_TAGS_MAX]; /* sorted by key, into text */
    size_t ntags;
    size_t used; /* bytes of text in use */
    char text[SB_STATSD_TEXT_MAX];
} sb_statsd_line;

/*
 * Parses line[0..len) (no '\n'; one trailing '\r' is ignored). Returns 0
 * and fills *out, or SB_EINVAL (SB_ETOOLARGE for an over-long line or
 * field) with *reason set to a static description. On failure *out holds
 * nothing meaningful. Names: ASCII letters, digits, '_', '.' and '-' are
 * kept, any other printable ASCII byte becomes '_', and a name starting
 * with a digit, '.' or '-' gets a leading '_'; a name with a control or
 * non-ASCII byte is refused. The whole line must be valid UTF-8 without
 * control bytes. Tag keys are sanitised the same way to the label-key
 * charset; a repeated key (after sanitising) or the key "quantile"
 * rejects the line.
 */
int sb__statsd_parse(const char *line, size_t len, sb_statsd_line *out,
                     const char **reason);

/* The protocol letters of a type ("c", "g", "ms", "h", "s"). */
const char *sb__statsd_type_name(int type);

#endif
