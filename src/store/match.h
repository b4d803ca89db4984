/*
 * match.h - label matchers, parsed from text and compiled once per query.
 *
 * A matcher set is compiled once per query (regular expressions included)
 * and then tested against the canonical key of every candidate series
 * ("name\0k1\0v1\0...", see series.h) without allocating: each label
 * value already ends in a NUL byte inside the key, so regexec() reads it
 * in place.
 *
 * Regular expressions are POSIX extended (regcomp with REG_EXTENDED |
 * REG_NOSUB) and must match the whole value: the pattern R is compiled as
 * ^(R)$. R is first lexed, which
 *   - escapes every ')' that closes no group of R: glibc reads such a ')'
 *     as a literal, and left bare it would close the wrapping group early
 *     ("a)|(b)" would otherwise become "^(a)|(b))$", unanchored);
 *   - refuses back-references (\1 ... \9): the wrapping renumbers groups,
 *     and back-references make matching exponential;
 *   - refuses patterns whose counted repetitions ({m,n}) would expand to
 *     more than SB_MATCH_EXPANSION_MAX atoms (regcomp copies the repeated
 *     part for every count, so "((a{255}){255}){255}" would take
 *     gigabytes) or use a count above 255;
 *   - refuses repetitions nested more than SB_MATCH_NEST_MAX deep,
 *     directly ("x????") or through groups ("((x?)?)*?"): regcomp's
 *     closure computation grows steeply with the nesting once the nested
 *     part is also copied ("x" with fifty '?' and "+++" takes seconds).
 * Only then is R compiled on its own (so a syntax error message speaks
 * of the pattern the client sent) and, wrapped, for use.
 */
#ifndef SB_STORE_MATCH_H
#define SB_STORE_MATCH_H

#include "scoreboard.h"

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>

/* regexec's time grows steeply with the expansion and runs under a shard
 * lock: 4096 atoms ("(.{0,255}){16}b") took 12 s on one 1 KiB value,
 * 512 takes about 0.06 s. */
#define SB_MATCH_EXPANSION_MAX 512
#define SB_MATCH_REPEAT_MAX    255
#define SB_MATCH_NEST_MAX      3

typedef struct sb_cmatcher {
    const char *key; /* borrowed from the sb_matcher */
    const char *value;
    int op;
    bool is_name; /* key is "__name__" */
    bool compiled;
    regex_t re;
} sb_cmatcher;

/* A compiled set; n == 0 matches every series. */
typedef struct sb_matchset {
    size_t n;
    sb_cmatcher m[SB_MATCHERS_MAX];
} sb_matchset;

/*
 * Parses "KEY=VALUE", "KEY!=VALUE", "KEY=~REGEX" or "KEY!~REGEX" in place:
 * text is cut after KEY, and out's key and value point into it. KEY is
 * "__name__" or a label key ([A-Za-z_][A-Za-z0-9_]*, at most
 * SB_LABEL_KEY_MAX bytes); the value is any text up to
 * SB_MATCH_VALUE_MAX bytes ("k=~v" is a regex, never "k" = "~v").
 * SB_EINVAL with a message in err on failure.
 */
int sb__matcher_parse(char *text, sb_matcher *out, char *err, size_t errlen);

/*
 * Compiles n matchers (n <= SB_MATCHERS_MAX) into ms, which borrows their
 * key and value strings. SB_EINVAL (a message naming the matcher in err,
 * which may be NULL), SB_ETOOLARGE for too many matchers or SB_ENOMEM.
 * On failure ms holds nothing to free; on success free it with
 * sb__matchset_free().
 */
int sb__matchset_compile(sb_matchset *ms, const sb_matcher *m, size_t n,
                         char *err, size_t errlen);
void sb__matchset_free(sb_matchset *ms);

/* True when the series with canonical key key (key_len bytes, nlabels
 * labels) satisfies every matcher. Safe from several threads at once. */
bool sb__matchset_test(const sb_matchset *ms, const char *key, size_t key_len,
                       size_t nlabels);

/* sb_store_query() with the matchers already compiled into ms (the
 * query's own matchers fields are ignored). */
int sb__store_query_matched(sb_store *st, const sb_query *q,
                            const sb_matchset *ms, sb_result **out);

#endif
