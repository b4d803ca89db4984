/*
 * points_parse.c - turns a POST /metrics body into samples.
 *
 * jansson parses the whole body into a tree first (rejecting duplicate
 * keys, invalid UTF-8, \u0000, nesting beyond its depth cap and trailing
 * bytes); then two passes walk the points. The first checks every field
 * and fills the samples while counting labels; the second, after one
 * allocation for all labels, points each sample at its slice of that
 * array. Strings are not copied: names, label keys and values point into
 * the jansson tree, which the batch keeps alive (priv) until
 * sb__parsed_batch_free.
 */
#include "ingest/points_parse.h"

#include "common/quote.h"
#include "common/timeparse.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What the batch owns beyond the samples array. */
typedef struct batch_priv {
    json_t *root;
    sb_label *labels;
} batch_priv;

/* Longest key or label name quoted into an error message, and the
 * buffer its escaped form needs. */
#define QUOTE_MAX 40
#define QUOTE_BUF SB_QUOTE_BUF(QUOTE_MAX)

static void set_error(sb_parse_error *err, long index, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_error(sb_parse_error *err, long index, const char *fmt, ...)
{
    va_list ap;

    err->index = index;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
}

/* A key between single quotes in a message. */
static const char *quote_key(const char *k, size_t len, char *out)
{
    return sb__quote_bytes(k, len, QUOTE_MAX, '\'', out, QUOTE_BUF);
}

static bool string_is(const json_t *j, const char *lit)
{
    size_t n = strlen(lit);

    return json_string_length(j) == n &&
           memcmp(json_string_value(j), lit, n) == 0;
}

static int parse_value(const json_t *j, long index, double *out,
                       sb_parse_error *err)
{
    if (json_is_number(j)) {
        *out = json_number_value(j);
        return 0;
    }
    if (json_is_string(j)) {
        if (string_is(j, "NaN")) {
            *out = NAN;
            return 0;
        }
        if (string_is(j, "+Inf") || string_is(j, "Inf")) {
            *out = INFINITY;
            return 0;
        }
        if (string_is(j, "-Inf")) {
            *out = -INFINITY;
            return 0;
        }
    }
    set_error(err, index,
              "field 'value' must be a number or \"NaN\", \"+Inf\", \"-Inf\"");
    return SB_EINVAL;
}

/* An RFC 3339 string or non-negative Unix seconds; relative forms such as
 * "now-5m" are for query parameters, not for stored points. */
static int parse_time_field(const json_t *j, long index, int64_t *out,
                            sb_parse_error *err)
{
    int rc;

    if (json_is_string(j)) {
        rc =
            sb__parse_rfc3339(json_string_value(j), json_string_length(j), out);
        if (rc == SB_ERANGE)
            set_error(err, index, "time out of range");
        else if (rc != 0)
            set_error(err, index, "time: invalid RFC 3339 timestamp");
        return rc == 0 ? 0 : SB_EINVAL;
    }
    if (json_is_number(j)) {
        if (sb__unix_seconds_to_ns(json_number_value(j), out) != 0) {
            set_error(err, index, "time out of range");
            return SB_EINVAL;
        }
        return 0;
    }
    set_error(err, index,
              "field 'time' must be an RFC 3339 string or Unix seconds");
    return SB_EINVAL;
}

/* Checks a labels object: string values only, at most SB_LABELS_MAX. */
static int check_labels(json_t *j, long index, size_t *count,
                        sb_parse_error *err)
{
    char q[QUOTE_BUF];
    const char *key;
    size_t klen;
    json_t *v;

    if (!json_is_object(j)) {
        set_error(err, index, "field 'labels' must be an object");
        return SB_EINVAL;
    }
    if (json_object_size(j) > SB_LABELS_MAX) {
        set_error(err, index, "field 'labels' has more than %d labels",
                  SB_LABELS_MAX);
        return SB_EINVAL;
    }
    json_object_keylen_foreach(j, key, klen, v)
    {
        if (!json_is_string(v)) {
            set_error(err, index, "label '%s' must be a string",
                      quote_key(key, klen, q));
            return SB_EINVAL;
        }
    }
    *count = json_object_size(j);
    return 0;
}

/* The field of a point a key names, or -1 for an unknown key. */
enum { F_NAME, F_VALUE, F_TIME, F_LABELS };

static int field_of(const char *key, size_t klen)
{
    static const char *const names[] = {"name", "value", "time", "labels"};

    for (int i = 0; i < (int)(sizeof(names) / sizeof(names[0])); i++) {
        if (strlen(names[i]) == klen && memcmp(names[i], key, klen) == 0)
            return i;
    }
    return -1;
}

/*
 * Checks one point object and fills s with everything but its labels
 * pointer; s->nlabels is the label count for the second pass.
 */
static int parse_point(json_t *obj, long index, int64_t now_ns, sb_sample *s,
                       sb_parse_error *err)
{
    char q[QUOTE_BUF];
    json_t *f[4] = {NULL, NULL, NULL, NULL};
    const char *key;
    size_t klen;
    json_t *v;
    int which;

    if (!json_is_object(obj)) {
        set_error(err, index, "point must be a JSON object");
        return SB_EINVAL;
    }
    json_object_keylen_foreach(obj, key, klen, v)
    {
        which = field_of(key, klen);
        if (which < 0) {
            set_error(err, index, "unknown field '%s'",
                      quote_key(key, klen, q));
            return SB_EINVAL;
        }
        f[which] = v;
    }

    if (f[F_NAME] == NULL) {
        set_error(err, index, "missing field 'name'");
        return SB_EINVAL;
    }
    if (!json_is_string(f[F_NAME]) || json_string_length(f[F_NAME]) == 0) {
        set_error(err, index, "field 'name' must be a non-empty string");
        return SB_EINVAL;
    }
    s->name = json_string_value(f[F_NAME]);

    if (f[F_VALUE] == NULL) {
        set_error(err, index, "missing field 'value'");
        return SB_EINVAL;
    }
    if (parse_value(f[F_VALUE], index, &s->value, err) != 0)
        return SB_EINVAL;

    s->time_ns = now_ns;
    if (f[F_TIME] != NULL &&
        parse_time_field(f[F_TIME], index, &s->time_ns, err) != 0)
        return SB_EINVAL;

    s->nlabels = 0;
    if (f[F_LABELS] != NULL &&
        check_labels(f[F_LABELS], index, &s->nlabels, err) != 0)
        return SB_EINVAL;
    return 0;
}

/* The i-th point of the body: the root itself when it is an object. */
static json_t *point_at(json_t *root, size_t i)
{
    return json_is_array(root) ? json_array_get(root, i) : root;
}

/* Second pass: hands each sample its slice of the flat label array. */
static void fill_labels(json_t *root, sb_sample *samples, size_t n,
                        sb_label *labels)
{
    size_t next = 0;
    const char *key;
    json_t *v;
    json_t *lj;

    for (size_t i = 0; i < n; i++) {
        if (samples[i].nlabels == 0)
            continue;
        lj = json_object_get(point_at(root, i), "labels");
        samples[i].labels = labels + next;
        json_object_foreach(lj, key, v)
        {
            labels[next].key = key;
            labels[next].value = json_string_value(v);
            next++;
        }
    }
}

/* Loads the body and checks that it is an object or an array of at most
 * SB_MAX_BATCH elements; *n receives the number of points. */
static int load_body(const char *body, size_t len, json_t **root, size_t *n,
                     sb_parse_error *err)
{
    char text[sizeof(err->message)];
    json_error_t jerr;
    json_t *r;

    if (len == 0) {
        set_error(err, -1, "empty body");
        return SB_EINVAL;
    }
    /* JSON_DECODE_ANY lets a scalar body through to the clearer message
     * below; integers become doubles so no integer can overflow. */
    r = json_loadb(body, len,
                   JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL |
                       JSON_DECODE_ANY,
                   &jerr);
    if (r == NULL) {
        if (json_error_code(&jerr) == json_error_out_of_memory)
            return SB_ENOMEM;
        if (json_error_code(&jerr) == json_error_null_character)
            snprintf(jerr.text, sizeof jerr.text,
                     "\\u0000 is not allowed in strings");
        set_error(err, -1, "invalid JSON at line %d column %d: %s", jerr.line,
                  jerr.column,
                  sb__quote_bytes(jerr.text, strlen(jerr.text), sizeof(text), 0,
                                  text, sizeof(text)));
        return SB_EINVAL;
    }
    if (json_is_object(r)) {
        *n = 1;
    } else if (json_is_array(r)) {
        *n = json_array_size(r);
    } else {
        json_decref(r);
        set_error(err, -1, "body must be a JSON object or an array of objects");
        return SB_EINVAL;
    }
    if (*n > SB_MAX_BATCH) {
        json_decref(r);
        set_error(err, -1, "body has more than %d points", SB_MAX_BATCH);
        return SB_ETOOLARGE;
    }
    *root = r;
    return 0;
}

int sb__parse_points(const char *body, size_t len, int64_t now_ns,
                     sb_parsed_batch *out, sb_parse_error *err)
{
    json_t *root = NULL;
    sb_sample *samples = NULL;
    batch_priv *priv = NULL;
    size_t n = 0, total = 0;
    int rc;

    memset(out, 0, sizeof(*out));
    err->index = -1;
    err->message[0] = '\0';

    rc = load_body(body, len, &root, &n, err);
    if (rc != 0)
        return rc;

    rc = SB_ENOMEM;
    priv = calloc(1, sizeof(*priv));
    if (priv == NULL)
        goto out;
    if (n > 0 && (samples = calloc(n, sizeof(*samples))) == NULL)
        goto out;

    for (size_t i = 0; i < n; i++) {
        rc = parse_point(point_at(root, i), (long)i, now_ns, &samples[i], err);
        if (rc != 0)
            goto out;
        total += samples[i].nlabels;
    }

    rc = SB_ENOMEM;
    if (total > 0 && (priv->labels = calloc(total, sizeof(sb_label))) == NULL)
        goto out;
    fill_labels(root, samples, n, priv->labels);

    priv->root = root;
    out->samples = samples;
    out->n = n;
    out->priv = priv;
    return 0;

out:
    if (priv != NULL)
        free(priv->labels);
    free(priv);
    free(samples);
    json_decref(root);
    return rc;
}

void sb__parsed_batch_free(sb_parsed_batch *b)
{
    batch_priv *priv;

    if (b == NULL)
        return;
    priv = b->priv;
    if (priv != NULL) {
        json_decref(priv->root);
        free(priv->labels);
        free(priv);
    }
    free(b->samples);
    memset(b, 0, sizeof(*b));
}
