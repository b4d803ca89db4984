/*
 * scoreboard.h - the public interface of libscoreboard.
 *
 * libscoreboard is an in-memory metrics store with an embeddable HTTP
 * endpoint. A program creates a store, writes samples into it from any
 * number of threads, and either queries it directly or starts a server
 * that answers the scoreboard HTTP API (GET/POST /metrics and friends) and
 * runs the background collectors.
 *
 * Conventions used throughout:
 * - Every fallible function returns int: 0 (SB_OK) on success or a negative
 *   SB_E* code. sb_strerror() turns a code into text.
 * - Objects the library owns are opaque handles with a create/destroy
 *   pair; every destroy function accepts NULL.
 * - Option structs are initialised with their *_init() function before the
 *   caller changes fields, so new fields can be added without breaking
 *   callers.
 * - Times are int64_t nanoseconds since the Unix epoch, UTC.
 * - Strings passed in are borrowed for the duration of the call only; the
 *   library copies what it keeps.
 */
#ifndef SCOREBOARD_H
#define SCOREBOARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SB_VERSION_MAJOR  0
#define SB_VERSION_MINOR  1
#define SB_VERSION_PATCH  0
#define SB_VERSION_STRING "0.1.0"

/* The library's version string at run time, e.g. "0.1.0". Static. */
const char *sb_version(void);

/* Error codes. All are negative; SB_OK is zero. */
enum sb_error {
    SB_OK = 0,
    SB_EINVAL = -1,    /* an argument or an input value is invalid */
    SB_ENOMEM = -2,    /* an allocation failed */
    SB_ELIMIT = -3,    /* a configured count limit (max series) refuses */
    SB_ETOOLARGE = -4, /* an input or a result exceeds a size cap */
    SB_ERANGE = -5,    /* a time lies outside the accepted window */
    SB_ESYS = -6,      /* a system call failed (see errno / the log) */
    SB_EADDR = -7,     /* a listen address is malformed or cannot bind */
};

/* Text for an SB_E* code. Never NULL; static storage. */
const char *sb_strerror(int err);

/* Current wall-clock time in nanoseconds since the Unix epoch. */
int64_t sb_time_now(void);

/*
 * Limits on what one sample may carry. Names match
 * [A-Za-z_:][A-Za-z0-9_:.-]*, label keys match [A-Za-z_][A-Za-z0-9_]*,
 * label values are any UTF-8 text without NUL bytes.
 */
#define SB_NAME_MAX        255  /* bytes in a metric name */
#define SB_LABEL_KEY_MAX   127  /* bytes in a label key */
#define SB_LABEL_VALUE_MAX 1024 /* bytes in a label value */
#define SB_LABELS_MAX      32   /* labels on one series */

typedef struct sb_label {
    const char *key;
    const char *value;
} sb_label;

/*
 * One data point. On input every pointer is borrowed for the call. On
 * output (sb_result_get_point) the pointers point into the result and stay
 * valid until the result is freed.
 */
typedef struct sb_sample {
    const char *name;
    const sb_label *labels; /* may be NULL when nlabels is 0 */
    size_t nlabels;
    double value; /* any double, including NaN and +-Inf */
    int64_t time_ns;
} sb_sample;

/* ---------------------------------------------------------------- store */

typedef struct sb_store_options {
    int64_t retention_ns;         /* keep points this long; default 1h */
    size_t max_points_per_series; /* oldest whole chunks dropped beyond
                                     (about 3/4 of it kept); 10000 */
    size_t max_series;            /* writes creating more fail; 10000 */
    int64_t max_future_ns;        /* accept times this far ahead; 10min */
    size_t max_memory; /* bytes of sample data; the oldest chunks store-wide
                          are evicted beyond; default 256 MiB; 0 = none */
} sb_store_options;

void sb_store_options_init(sb_store_options *opts);

typedef struct sb_store sb_store;

/* Creates a store. opts may be NULL for the defaults. On success *out
 * receives a store the caller owns and frees with sb_store_destroy(). */
int sb_store_create(const sb_store_options *opts, sb_store **out);
void sb_store_destroy(sb_store *store);

/* Why a batch write failed: the index of the first refused sample and a
 * static, human-readable reason. */
typedef struct sb_write_error {
    size_t index;
    const char *reason;
} sb_write_error;

/*
 * Stores samples atomically: either every sample is stored or none is.
 * Fails with SB_EINVAL for a malformed name, label or duplicate label key,
 * SB_ERANGE for a time older than the retention window or further ahead
 * than max_future_ns, or not newer than the chunks before its series' two
 * newest (the out-of-order window: a series' samples are compressed in
 * chunks and only the two newest are rewritten; see the README), SB_ELIMIT
 * when a new series would exceed max_series. A sample whose series already
 * holds a point at the same time inside the window replaces that point's
 * value. err may be NULL. Thread-safe.
 */
int sb_store_write_batch(sb_store *store, const sb_sample *samples, size_t n,
                         sb_write_error *err);

/* Stores one sample; the same rules as a batch of one. */
int sb_store_write(sb_store *store, const sb_sample *sample);

/*
 * Drops points older than the retention window (relative to now_ns) and
 * removes series left with no points. The server calls this every
 * collector tick; an embedding program that runs no server calls it
 * itself. Returns the number of series removed.
 */
size_t sb_store_sweep(sb_store *store, int64_t now_ns);

typedef struct sb_store_stats {
    size_t series;              /* series held now */
    size_t points;              /* points held now */
    uint64_t dropped_retention; /* points removed by retention */
    uint64_t dropped_capacity;  /* points removed by max_points_per_series */
    uint64_t rejected_series;   /* samples refused by max_series */
    size_t sample_bytes;        /* bytes allocated for sample data */
    uint64_t dropped_memory;    /* points evicted by max_memory */
    uint64_t rejected_out_of_order; /* writes refused as out of order */
} sb_store_stats;

void sb_store_stats_get(sb_store *store, sb_store_stats *out);

/* ---------------------------------------------------------------- query */

/*
 * Label matchers select series by their labels. A matcher compares the
 * value of label key (the metric name when key is "__name__"; "" when the
 * series has no such label) with value: equal, not equal, or matching the
 * POSIX extended regular expression value, anchored at both ends (it must
 * match the whole label value). Several matchers must all hold.
 */
enum sb_match_op {
    SB_MATCH_EQ = 0,  /* KEY=VALUE */
    SB_MATCH_NE = 1,  /* KEY!=VALUE */
    SB_MATCH_RE = 2,  /* KEY=~REGEX */
    SB_MATCH_NRE = 3, /* KEY!~REGEX */
};

#define SB_MATCHERS_MAX    32   /* matchers in one query */
#define SB_MATCH_VALUE_MAX 1024 /* bytes in a matcher's value or regex */

typedef struct sb_matcher {
    const char *key;   /* a label key, or "__name__" */
    const char *value; /* compared text or regular expression */
    int op;            /* enum sb_match_op */
} sb_matcher;

typedef struct sb_query {
    const char *const *names; /* exact names to select; NULL/0 = all */
    size_t nnames;
    int64_t since_ns;  /* inclusive lower bound; INT64_MIN = none */
    int64_t until_ns;  /* inclusive upper bound; INT64_MAX = none */
    size_t limit;      /* keep only the newest N points; 0 = all */
    bool latest;       /* only the newest point of each series */
    bool series_only;  /* series and their counts, no points copied */
    size_t max_points; /* fail with SB_ETOOLARGE beyond; 0 = no cap */
    /* Label matchers, all of which must hold (ANDed with names); at most
     * SB_MATCHERS_MAX. A bad key, op or regex fails with SB_EINVAL. */
    const sb_matcher *matchers;
    size_t nmatchers;
} sb_query;

void sb_query_init(sb_query *q);

/* An immutable snapshot copied out of the store. */
typedef struct sb_result sb_result;

/*
 * Copies the matching points out of the store. Locks are held only while
 * copying one shard's series, never while the caller encodes or sends the
 * result. On success *out receives a result the caller frees with
 * sb_result_free(). Points are ordered oldest first; points with equal
 * times are ordered by series (name, then labels).
 */
int sb_store_query(sb_store *store, const sb_query *q, sb_result **out);
void sb_result_free(sb_result *res);

size_t sb_result_point_count(const sb_result *res);
/* The i-th point, oldest first. Pointers stay valid until the result is
 * freed. i must be below sb_result_point_count(). */
void sb_result_get_point(const sb_result *res, size_t i, sb_sample *out);

typedef struct sb_series_info {
    const char *name;
    const sb_label *labels; /* sorted by key */
    size_t nlabels;
    size_t npoints;   /* points in the queried range */
    int64_t first_ns; /* oldest point in range; 0 when npoints is 0 */
    int64_t last_ns;  /* newest point in range */
} sb_series_info;

size_t sb_result_series_count(const sb_result *res);
/* The i-th series, ordered by name then labels. */
void sb_result_get_series(const sb_result *res, size_t i, sb_series_info *out);

/* ---------------------------------------------------------------- server */

enum sb_log_level {
    SB_LOG_ERROR = 0,
    SB_LOG_WARN = 1,
    SB_LOG_INFO = 2,
    SB_LOG_DEBUG = 3,
};

/* A log sink. line is one event without a trailing newline, formatted as
 * "event key=value ..."; it is valid only during the call. Called from
 * several threads at once. */
typedef void (*sb_log_fn)(void *ud, int level, const char *line);

/* A ready-made sink: writes "<RFC 3339 time> level=<level> <line>\n" to
 * stderr with a single write. ud is unused. */
void sb_log_stderr(void *ud, int level, const char *line);

/* Parses "error", "warn", "info" or "debug". Returns the level or -1. */
int sb_log_level_parse(const char *name);

/*
 * A Prometheus target the server scrapes (text format 0.0.4) into the
 * store, every sample labelled job and instance (host:port of the URL),
 * plus up, scrape_duration_seconds and scrape_samples_scraped per
 * target. Strings are copied by sb_server_start().
 */
typedef struct sb_scrape_target {
    const char *url;     /* http:// or https:// */
    int64_t interval_ns; /* 0 = 10s; at least 100ms */
    const char *job;     /* the job label; NULL = "scrape" */
} sb_scrape_target;

typedef struct sb_server_options {
    const char *listen;              /* "HOST:PORT", "[V6]:PORT"; default
                                        "127.0.0.1:8080"; port 0 picks one */
    int64_t interval_ns;             /* collector period; default 1s */
    size_t max_body;                 /* POST bodies above get 413; 1 MiB */
    size_t max_query_points;         /* GET results above get 400; 1,000,000 */
    const char *const *cors_origins; /* exact origins or "*" */
    size_t ncors_origins;
    bool access_log;      /* log one line per request at info */
    bool collect_process; /* process collector; default true */
    bool collect_system;  /* machine collector; default true */
    unsigned threads;     /* HTTP worker threads; 0 = automatic */
    int log_level;        /* SB_LOG_*; default SB_LOG_INFO */
    sb_log_fn log;        /* NULL = silent */
    void *log_ud;
    size_t max_query_values; /* GET /api/v1/query values; 100,000 */

    /* StatsD receiver on UDP and TCP at "HOST:PORT" (port 0 picks one,
     * logged as `statsd_listening address=`); NULL = off (the default). */
    const char *statsd_listen;
    const sb_scrape_target *scrape; /* Prometheus targets to pull */
    size_t nscrape;
} sb_server_options;

void sb_server_options_init(sb_server_options *opts);

typedef struct sb_server sb_server;

/*
 * Binds the listen address, starts the HTTP workers and the collector
 * thread, and returns. The store is borrowed: it must outlive the server.
 * On success *out receives a server stopped and freed by sb_server_stop().
 */
int sb_server_start(sb_store *store, const sb_server_options *opts,
                    sb_server **out);

/* The port actually bound (useful after asking for port 0). */
uint16_t sb_server_port(const sb_server *srv);

/*
 * Graceful stop: stops accepting connections, lets in-flight requests
 * finish (for at most about half a second), stops and joins the collector
 * thread, then frees the server. Accepts NULL.
 */
void sb_server_stop(sb_server *srv);

#ifdef __cplusplus
}
#endif

#endif /* SCOREBOARD_H */
