/*
 * prom_text.c - the Prometheus text format (0.0.4) of a query snapshot.
 *
 * Init turns the snapshot's series into output lines in three passes:
 *   1. every series with a point gets a line holding its sanitised name
 *      (all names in one arena, allocated once so pointers stay valid);
 *   2. the lines are sorted by name, then labels, the unchanged name
 *      first, then series order, and each run of one name is given its
 *      family and type (summaries and histograms claim the runs of their
 *      _count, _sum and _bucket names);
 *   3. the lines are sorted again by family first, so a family's lines
 *      are contiguous, and lines repeating the name and labels of the
 *      previous one are dropped (name collisions after sanitising).
 * Fill then writes the lines in order, opening every family with its
 * # HELP and # TYPE lines.
 */
#include "encode/prom_text.h"

#include "encode/json.h"
#include "scoreboard.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { T_GAUGE, T_COUNTER, T_SUMMARY, T_HISTOGRAM };

static const char *const type_names[] = {"gauge", "counter", "summary",
                                         "histogram"};

struct sb_prom_line {
    const sb_result_series *s;
    size_t series;    /* index of s in the result */
    const char *name; /* sanitised, NUL-terminated, in the names arena */
    size_t name_len;
    const char *family; /* a prefix of some line's name */
    size_t family_len;
    int type;
    bool exact; /* the name needed no sanitising */
};

/* Help texts of the series scoreboard writes itself. */
static const struct {
    const char *name;
    const char *help;
} known_help[] = {
    {"process_resident_memory_bytes", "Resident memory size in bytes."},
    {"process_virtual_memory_bytes", "Virtual memory size in bytes."},
    {"process_cpu_seconds_total", "User and system CPU time in seconds."},
    {"process_open_fds", "Open file descriptors."},
    {"process_max_fds", "Limit on open file descriptors."},
    {"process_threads", "Threads in the process."},
    {"process_start_time_seconds", "Start time, Unix seconds."},
    {"system_cpu_usage_percent", "Machine CPU busy time, 0 to 100."},
    {"system_memory_total_bytes", "Total memory in bytes."},
    {"system_memory_available_bytes", "Available memory in bytes."},
    {"system_load1", "Load average over 1 minute."},
    {"system_load5", "Load average over 5 minutes."},
    {"system_load15", "Load average over 15 minutes."},
    {"scoreboard_http_requests_total", "HTTP requests finished."},
    {"scoreboard_http_request_duration_seconds",
     "HTTP request durations of the last interval."},
    {"scoreboard_http_request_duration_seconds_max",
     "Slowest HTTP request of the last interval."},
    {"scoreboard_store_series", "Series held by the store."},
    {"scoreboard_store_points", "Points held by the store."},
    {"scoreboard_store_dropped_points_total",
     "Points removed by retention, capacity or the memory cap."},
    {"scoreboard_store_rejected_samples_total",
     "Samples refused by the series limit or out-of-order window."},
    {"up", "1 when the last scrape of the target succeeded, else 0."},
    {"scrape_duration_seconds", "Duration of the last scrape."},
    {"scrape_samples_scraped", "Samples the last scrape returned."},
};

#define DEFAULT_HELP "Series stored in scoreboard."

static bool name_start(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
           c == ':';
}

bool sb__prom_sanitize_name(const char *name, size_t n, char *out)
{
    bool exact = true;

    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        bool ok = name_start(c) || (i > 0 && c >= '0' && c <= '9');

        out[i] = ok ? (char)c : '_';
        exact = exact && ok;
    }
    return exact;
}

static bool reserved_key(const char *key)
{
    return key[0] == '_' && key[1] == '_';
}

static const char *label_value(const sb_result_series *s, const char *key)
{
    for (size_t i = 0; i < s->nlabels; i++) {
        if (strcmp(s->labels[i].key, key) == 0)
            return s->labels[i].value;
    }
    return NULL;
}

/* Longest number text scoreboard's scrape parser reads (prom_parse.c). */
#define FLOAT_TEXT_MAX 63

/* A value Go's ParseFloat reads (what Prometheus parsers require of the
 * quantile and le labels). Conservative: decimal forms within the double
 * range (ParseFloat refuses "1e500") and the spellings of infinity and
 * NaN, at most FLOAT_TEXT_MAX bytes (so scoreboard reads it too). */
static bool float_text(const char *v)
{
    char *end = NULL;
    double d;

    if (v == NULL || v[0] == '\0' || strlen(v) > FLOAT_TEXT_MAX)
        return false;
    if (strcmp(v, "NaN") == 0 || strcmp(v, "+Inf") == 0 ||
        strcmp(v, "-Inf") == 0 || strcmp(v, "Inf") == 0)
        return true;
    for (const char *p = v; *p; p++) {
        if (!strchr("0123456789.eE+-", *p))
            return false;
    }
    d = strtod(v, &end);
    return end != v && *end == '\0' && isfinite(d);
}

/* Labels compared key by key, then value; reserved keys skipped. */
static int labels_cmp(const sb_result_series *a, const sb_result_series *b)
{
    size_t i = 0, j = 0;
    int c;

    for (;;) {
        while (i < a->nlabels && reserved_key(a->labels[i].key))
            i++;
        while (j < b->nlabels && reserved_key(b->labels[j].key))
            j++;
        if (i == a->nlabels || j == b->nlabels)
            return (i < a->nlabels) - (j < b->nlabels);
        c = strcmp(a->labels[i].key, b->labels[j].key);
        if (c == 0)
            c = strcmp(a->labels[i].value, b->labels[j].value);
        if (c != 0)
            return c;
        i++;
        j++;
    }
}

static int cmp_size(size_t a, size_t b)
{
    return (a > b) - (a < b);
}

/* Name, labels, unchanged name first, series order. */
static int line_cmp_name(const void *pa, const void *pb)
{
    const sb_prom_line *a = pa, *b = pb;
    int c = strcmp(a->name, b->name);

    if (c == 0)
        c = labels_cmp(a->s, b->s);
    if (c == 0)
        c = (int)b->exact - (int)a->exact;
    return c != 0 ? c : cmp_size(a->series, b->series);
}

static int family_cmp(const sb_prom_line *a, const sb_prom_line *b)
{
    size_t n = a->family_len < b->family_len ? a->family_len : b->family_len;
    int c = memcmp(a->family, b->family, n);

    return c != 0 ? c : cmp_size(a->family_len, b->family_len);
}

static int line_cmp_family(const void *pa, const void *pb)
{
    int c = family_cmp(pa, pb);

    return c != 0 ? c : line_cmp_name(pa, pb);
}

/* ------------------------------------------------------------ families */

/* The run of lines named name[0..n): [*lo, *hi). False when none. */
static bool find_run(const sb_prom_enc *e, const char *name, size_t n,
                     size_t *lo, size_t *hi)
{
    size_t a = 0, b = e->nlines;

    while (a < b) { /* first line whose name is >= name */
        size_t mid = a + (b - a) / 2;
        const sb_prom_line *l = &e->lines[mid];
        int c = strncmp(l->name, name, n);

        if (c < 0 || (c == 0 && l->name_len < n))
            a = mid + 1;
        else
            b = mid;
    }
    if (a == e->nlines || e->lines[a].name_len != n ||
        memcmp(e->lines[a].name, name, n) != 0)
        return false;
    *lo = a;
    for (b = a; b < e->nlines && e->lines[b].name_len == n &&
                memcmp(e->lines[b].name, name, n) == 0;
         b++)
        ;
    *hi = b;
    return true;
}

static bool run_has_suffix(const sb_prom_enc *e, const sb_prom_line *base,
                           size_t base_len, const char *suffix)
{
    char buf[SB_NAME_MAX + 16];
    size_t n = strlen(suffix), lo, hi;

    if (base_len + n > sizeof buf)
        return false;
    memcpy(buf, base->name, base_len);
    memcpy(buf + base_len, suffix, n);
    return find_run(e, buf, base_len + n, &lo, &hi);
}

/* Gives the runs of base+suffix the family base and the type. */
static void claim(sb_prom_enc *e, const sb_prom_line *base, size_t base_len,
                  const char *suffix, int type)
{
    char buf[SB_NAME_MAX + 16];
    size_t n = strlen(suffix), lo, hi;

    if (base_len + n > sizeof buf)
        return;
    memcpy(buf, base->name, base_len);
    memcpy(buf + base_len, suffix, n);
    if (!find_run(e, buf, base_len + n, &lo, &hi))
        return;
    for (size_t i = lo; i < hi; i++) {
        e->lines[i].family = base->name;
        e->lines[i].family_len = base_len;
        e->lines[i].type = type;
    }
}

/*
 * Whether a line of the run base+suffix carries a label key. Prometheus'
 * parsers take a quantile label on any line of a summary family, and an
 * le label on any line of a histogram family, as a number and drop it:
 * on a _count or _sum line it breaks the whole exposition (not numeric)
 * or folds series together, so such a run prevents the family.
 */
static bool run_has_key(const sb_prom_enc *e, const sb_prom_line *base,
                        size_t base_len, const char *suffix, const char *key)
{
    char buf[SB_NAME_MAX + 16];
    size_t n = strlen(suffix), lo, hi;

    if (base_len + n > sizeof buf)
        return false;
    memcpy(buf, base->name, base_len);
    memcpy(buf + base_len, suffix, n);
    if (!find_run(e, buf, base_len + n, &lo, &hi))
        return false;
    for (size_t i = lo; i < hi; i++) {
        if (label_value(e->lines[i].s, key) != NULL)
            return true;
    }
    return false;
}

static bool run_all_have(const sb_prom_enc *e, size_t lo, size_t hi,
                         const char *key)
{
    for (size_t i = lo; i < hi; i++) {
        if (!float_text(label_value(e->lines[i].s, key)))
            return false;
    }
    return true;
}

static bool ends_with(const sb_prom_line *l, const char *suffix)
{
    size_t n = strlen(suffix);

    return l->name_len > n && memcmp(l->name + l->name_len - n, suffix, n) == 0;
}

/* Summaries: the run X itself, all with a numeric quantile label. */
static void detect_summary(sb_prom_enc *e, size_t lo, size_t hi)
{
    const sb_prom_line *x = &e->lines[lo];

    if (!run_all_have(e, lo, hi, "quantile"))
        return;
    if (!run_has_suffix(e, x, x->name_len, "_count") &&
        !run_has_suffix(e, x, x->name_len, "_sum"))
        return;
    if (run_has_key(e, x, x->name_len, "_count", "quantile") ||
        run_has_key(e, x, x->name_len, "_sum", "quantile"))
        return;
    claim(e, x, x->name_len, "", T_SUMMARY);
    claim(e, x, x->name_len, "_count", T_SUMMARY);
    claim(e, x, x->name_len, "_sum", T_SUMMARY);
}

/* Histograms: the run X_bucket, all with a numeric le label, no X. */
static void detect_histogram(sb_prom_enc *e, size_t lo, size_t hi)
{
    const sb_prom_line *b = &e->lines[lo];
    size_t base = b->name_len - strlen("_bucket"), l, h;

    if (find_run(e, b->name, base, &l, &h) || !run_all_have(e, lo, hi, "le"))
        return;
    if (!run_has_suffix(e, b, base, "_count") &&
        !run_has_suffix(e, b, base, "_sum"))
        return;
    if (run_has_key(e, b, base, "_count", "le") ||
        run_has_key(e, b, base, "_sum", "le"))
        return;
    claim(e, b, base, "_bucket", T_HISTOGRAM);
    claim(e, b, base, "_count", T_HISTOGRAM);
    claim(e, b, base, "_sum", T_HISTOGRAM);
}

/* Lines are sorted by name; every line starts as its own family. */
static void assign_families(sb_prom_enc *e)
{
    size_t lo = 0, hi;

    for (size_t i = 0; i < e->nlines; i++) {
        sb_prom_line *l = &e->lines[i];

        l->family = l->name;
        l->family_len = l->name_len;
        l->type = ends_with(l, "_total") ? T_COUNTER : T_GAUGE;
    }
    for (; lo < e->nlines; lo = hi) {
        const sb_prom_line *l = &e->lines[lo];

        find_run(e, l->name, l->name_len, &lo, &hi);
        if (l->family != l->name)
            continue; /* claimed by a summary already */
        if (ends_with(l, "_bucket"))
            detect_histogram(e, lo, hi);
        else
            detect_summary(e, lo, hi);
    }
}

/* Drops each line with the name and labels of the line before it. */
static void drop_duplicates(sb_prom_enc *e)
{
    size_t out = 0;

    for (size_t i = 0; i < e->nlines; i++) {
        const sb_prom_line *l = &e->lines[i];

        if (out > 0) {
            const sb_prom_line *p = &e->lines[out - 1];

            if (strcmp(p->name, l->name) == 0 && labels_cmp(p->s, l->s) == 0)
                continue;
        }
        e->lines[out++] = *l;
    }
    e->nlines = out;
}

/* ---------------------------------------------------------------- init */

static int make_lines(sb_prom_enc *e)
{
    const sb_result *res = e->res;
    size_t total = 0, at = 0;

    for (size_t i = 0; i < res->nseries; i++)
        total += res->series[i].name_len + 1;
    e->names = malloc(total ? total : 1);
    e->lines = calloc(res->nseries ? res->nseries : 1, sizeof *e->lines);
    if (e->names == NULL || e->lines == NULL)
        return SB_ENOMEM;
    for (size_t i = 0; i < res->nseries; i++) {
        const sb_result_series *s = &res->series[i];
        sb_prom_line *l = &e->lines[e->nlines];

        if (e->point[i] == SIZE_MAX)
            continue; /* no point in the snapshot */
        l->s = s;
        l->series = i;
        l->name = e->names + at;
        l->name_len = s->name_len;
        l->exact = sb__prom_sanitize_name(s->name, s->name_len, e->names + at);
        e->names[at + s->name_len] = '\0';
        at += s->name_len + 1;
        e->nlines++;
    }
    return 0;
}

int sb__prom_enc_init(sb_prom_enc *e, const sb_result *res)
{
    int rc;

    memset(e, 0, sizeof *e);
    if (res == NULL)
        return SB_EINVAL;
    e->res = res;
    e->point = malloc((res->nseries ? res->nseries : 1) * sizeof *e->point);
    if (e->point == NULL)
        return SB_ENOMEM;
    for (size_t i = 0; i < res->nseries; i++)
        e->point[i] = SIZE_MAX;
    for (size_t i = 0; i < res->npoints; i++) { /* oldest first: last wins */
        if (res->points[i].series >= res->nseries) {
            sb__prom_enc_free(e);
            return SB_EINVAL;
        }
        e->point[res->points[i].series] = i;
    }

    rc = make_lines(e);
    if (rc < 0) {
        sb__prom_enc_free(e);
        return rc;
    }
    qsort(e->lines, e->nlines, sizeof *e->lines, line_cmp_name);
    assign_families(e);
    qsort(e->lines, e->nlines, sizeof *e->lines, line_cmp_family);
    drop_duplicates(e);
    return 0;
}

void sb__prom_enc_free(sb_prom_enc *e)
{
    free(e->lines);
    free(e->names);
    free(e->point);
    e->lines = NULL;
    e->names = NULL;
    e->point = NULL;
    e->nlines = 0;
}

/* ---------------------------------------------------------------- fill */

static const char *help_of(const char *family, size_t n)
{
    for (size_t i = 0; i < sizeof known_help / sizeof known_help[0]; i++) {
        if (strlen(known_help[i].name) == n &&
            memcmp(known_help[i].name, family, n) == 0)
            return known_help[i].help;
    }
    return DEFAULT_HELP;
}

static int put_family_head(const sb_prom_line *l, sb_buf *out)
{
    return sb__buf_printf(out, "# HELP %.*s %s\n# TYPE %.*s %s\n",
                          (int)l->family_len, l->family,
                          help_of(l->family, l->family_len), (int)l->family_len,
                          l->family, type_names[l->type]);
}

/* Appends v escaped for a label value: \\, \" and \n. */
static int put_label_value(const char *v, sb_buf *out)
{
    const char *run = v;
    int rc = 0;

    for (const char *p = v; *p && rc == 0; p++) {
        const char *esc = *p == '\\'   ? "\\\\"
                          : *p == '"'  ? "\\\""
                          : *p == '\n' ? "\\n"
                                       : NULL;

        if (esc == NULL)
            continue;
        rc = sb__buf_append(out, run, (size_t)(p - run));
        if (rc == 0)
            rc = sb__buf_append(out, esc, 2);
        run = p + 1;
    }
    return rc != 0 ? rc : sb__buf_append_str(out, run);
}

static int put_labels(const sb_result_series *s, sb_buf *out)
{
    bool first = true;
    int rc = 0;

    for (size_t i = 0; i < s->nlabels && rc == 0; i++) {
        const sb_label *lb = &s->labels[i];

        if (reserved_key(lb->key))
            continue;
        rc = sb__buf_append_char(out, first ? '{' : ',');
        if (rc == 0)
            rc = sb__buf_printf(out, "%s=\"", lb->key);
        if (rc == 0)
            rc = put_label_value(lb->value, out);
        if (rc == 0)
            rc = sb__buf_append_char(out, '"');
        first = false;
    }
    if (rc == 0 && !first)
        rc = sb__buf_append_char(out, '}');
    return rc;
}

static int put_line(const sb_prom_enc *e, const sb_prom_line *l, sb_buf *out)
{
    char num[SB_DOUBLE_MAX + 1];
    size_t n = sb__fmt_double(e->res->points[e->point[l->series]].value, num);
    int rc;

    rc = sb__buf_append(out, l->name, l->name_len);
    if (rc == 0)
        rc = put_labels(l->s, out);
    if (rc == 0)
        rc = sb__buf_append_char(out, ' ');
    if (rc == 0)
        rc = sb__buf_append(out, num, n);
    if (rc == 0)
        rc = sb__buf_append_char(out, '\n');
    return rc;
}

int sb__prom_enc_fill(sb_prom_enc *e, sb_buf *out, size_t target)
{
    bool progress = false;
    int rc;

    while (e->next < e->nlines && (!progress || out->len < target)) {
        const sb_prom_line *l = &e->lines[e->next];

        if (e->next == 0 || family_cmp(&e->lines[e->next - 1], l) != 0) {
            rc = put_family_head(l, out);
            if (rc < 0)
                return rc;
        }
        rc = put_line(e, l, out);
        if (rc < 0)
            return rc;
        e->next++;
        progress = true;
    }
    return e->next < e->nlines ? 1 : 0;
}
