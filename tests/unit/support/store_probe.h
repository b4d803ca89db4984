/*
 * store_probe.h - reading single values back out of a store, for unit
 * tests that check what a collector or the request statistics wrote.
 *
 * Label sets are given as kv, an array of 2 * nkv strings alternating
 * keys and values, in any order. The functions fail the running cmocka
 * test when the store refuses the query.
 */
#ifndef SB_TESTS_UNIT_SUPPORT_STORE_PROBE_H
#define SB_TESTS_UNIT_SUPPORT_STORE_PROBE_H

#include "scoreboard.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Whether sample s carries exactly the nkv labels of kv. */
bool sb_test_labels_equal(const sb_sample *s, const char *const *kv,
                          size_t nkv);

/* How many points series name{kv} has at time t (0 or 1 in a correct
 * store); *v receives the value of the last one found. */
size_t sb_test_value_at(sb_store *st, const char *name, const char *const *kv,
                        size_t nkv, int64_t t, double *v);

#endif
