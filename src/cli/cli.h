/*
 * cli.h - the `scoreboard` command line: option parsing (pure functions,
 * unit-tested), the serve and push commands, and the usage text.
 *
 * Parsers take the arguments after the command name (argv[0] is the first
 * flag or operand, not the program) and the environment as a
 * NULL-terminated array of "NAME=value" strings. They never print: on a
 * usage error they return SB_EINVAL with a one-line message in err that
 * names the flag or variable at fault.
 *
 * Exit codes of the commands: 0 success, 1 run-time failure (cannot bind,
 * cannot reach the server, server refused), 2 usage error.
 */
#ifndef SB_CLI_CLI_H
#define SB_CLI_CLI_H

#include "common/buf.h"
#include "scoreboard.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define SB_CLI_ERR_MAX 256

#define SB_CLI_EXIT_OK    0
#define SB_CLI_EXIT_FAIL  1
#define SB_CLI_EXIT_USAGE 2

/* Bounds enforced on serve options. */
#define SB_CLI_MIN_INTERVAL_NS (10 * 1000000LL)        /* 10ms */
#define SB_CLI_MAX_BODY_MAX    (1024u * 1024u * 1024u) /* 1 GiB */

/* Default of --max-memory: 256 MiB of sample data. */
#define SB_CLI_DEFAULT_MAX_MEMORY ((size_t)256 << 20)

typedef struct sb_cli_serve {
    const char *listen; /* borrowed from argv or the environment */
    int64_t retention_ns;
    int64_t interval_ns;
    size_t max_series;
    size_t max_points; /* per series */
    size_t max_body;
    const char **cors; /* ncors origins; strings borrowed or in cors_env */
    size_t ncors;
    size_t cors_cap;
    bool access_log;
    int log_level;
    bool no_process;
    bool no_system;
    bool help;      /* --help given: print usage, nothing else is valid */
    char *cors_env; /* owned, split copy of SCOREBOARD_CORS_ORIGIN */
    /* Bytes of sample data the store keeps; 0 = no cap. */
    size_t max_memory;

    /* --statsd address or NULL; borrowed from argv or the environment. */
    const char *statsd;
    sb_scrape_target *scrape; /* --scrape targets; url and job owned */
    size_t nscrape;
    size_t scrape_cap;
} sb_cli_serve;

/*
 * Adds a --scrape target from "URL[,INTERVAL[,JOB]]" (scrape_opt.c): the
 * URL ends at the first comma (write a comma inside a URL as %2C), must
 * be http:// or https:// with a host; INTERVAL is a duration of at least
 * 100ms (default 10s); JOB is the job label (default "scrape"), printable
 * ASCII without spaces or commas, at most 128 bytes. With from_env, v
 * holds several specs separated by spaces. 0, SB_EINVAL or SB_ENOMEM.
 */
int sb__cli_add_scrape(sb_cli_serve *o, const char *src, const char *v,
                       bool from_env, char *err, size_t errn);
void sb__cli_scrape_free(sb_cli_serve *o);

/*
 * Parses `serve` flags. Defaults, then environment variables for flags not
 * given, then flags (both "--flag value" and "--flag=value"). On success
 * the caller frees *out with sb__cli_serve_free(); on failure *out holds
 * nothing to free. Returns 0, SB_EINVAL (err filled) or SB_ENOMEM.
 */
int sb__cli_parse_serve(int argc, char *const *argv, char *const *envp,
                        sb_cli_serve *out, char *err, size_t errn);
void sb__cli_serve_free(sb_cli_serve *o);

typedef struct sb_cli_push {
    const char *name; /* borrowed from argv */
    double value;
    sb_label labels[SB_LABELS_MAX]; /* point into label_text */
    size_t nlabels;
    char *label_text[SB_LABELS_MAX]; /* owned copies, split at '=' */
    const char *url; /* borrowed; a trailing "/" is dropped when sending */
    bool has_time;
    int64_t time_ns;
    bool help;
} sb_cli_push;

/*
 * Parses `push NAME VALUE [label=value ...] [--url URL] [--time T]`.
 * VALUE is a decimal or NaN, +Inf, -Inf; T is any form sb__parse_time()
 * takes, relative to now_ns. The URL defaults to SCOREBOARD_URL, then
 * http://127.0.0.1:8080. Name and label syntax, label count and duplicate
 * keys are checked here so usage errors never reach the server. Free with
 * sb__cli_push_free() on success.
 */
int sb__cli_parse_push(int argc, char *const *argv, char *const *envp,
                       int64_t now_ns, sb_cli_push *out, char *err,
                       size_t errn);
void sb__cli_push_free(sb_cli_push *p);

/* Appends the JSON point object for p to out. 0 or SB_E*. */
int sb__cli_push_body(const sb_cli_push *p, sb_buf *out);

/* The message to show for a failed push: the "error" text of a JSON error
 * body (either {"error":"..."} or {"error":{"message":"..."}}), else the
 * body itself with control bytes replaced, cut to fit out (size n). */
void sb__cli_error_message(const char *body, size_t len, char *out, size_t n);

/* The commands; each returns the process exit code. */
int sb__cli_serve_main(int argc, char *const *argv, char *const *envp);
int sb__cli_push_main(int argc, char *const *argv, char *const *envp);

/* Writes the usage text to f. */
void sb__cli_usage(FILE *f);

/* The value of NAME in envp, or NULL when unset or empty. */
const char *sb__cli_getenv(char *const *envp, const char *name);

#endif
