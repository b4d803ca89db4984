/*
 * test_buf.c - the growable byte buffer and the array growth helper of
 * src/common/buf.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/buf.h"
#include "scoreboard.h"

#include <stdlib.h>
#include <string.h>

static void test_array_grow_doubles_and_keeps_contents(void **state)
{
    int *a = NULL;
    size_t cap = 0;

    (void)state;
    assert_int_equal(sb__array_grow((void **)&a, &cap, 1, sizeof *a, 4), 0);
    assert_int_equal(cap, 4);
    for (int i = 0; i < 4; i++)
        a[i] = i;
    assert_int_equal(sb__array_grow((void **)&a, &cap, 4, sizeof *a, 4), 0);
    assert_int_equal(cap, 4); /* enough already: unchanged */
    assert_int_equal(sb__array_grow((void **)&a, &cap, 9, sizeof *a, 4), 0);
    assert_int_equal(cap, 16);
    for (int i = 0; i < 4; i++)
        assert_int_equal(a[i], i);
    free(a);
}

/* Sizes whose byte count does not fit a size_t are refused, and the array
 * is left as it was. */
static void test_array_grow_refuses_overflow(void **state)
{
    double *a = NULL;
    size_t cap = 0;

    (void)state;
    assert_int_equal(sb__array_grow((void **)&a, &cap, 8, sizeof *a, 8), 0);
    a[7] = 7.5;
    assert_int_equal(
        sb__array_grow((void **)&a, &cap, SIZE_MAX / 2 + 2, sizeof *a, 8),
        SB_ENOMEM);
    assert_int_equal(sb__array_grow((void **)&a, &cap, SIZE_MAX / sizeof *a + 1,
                                    sizeof *a, 8),
                     SB_ENOMEM);
    assert_int_equal(cap, 8);
    assert_true(a[7] == 7.5);
    free(a);
}

static void test_buf_cap_refuses_and_keeps_contents(void **state)
{
    sb_buf b;

    (void)state;
    sb__buf_init(&b, 5);
    assert_int_equal(sb__buf_append_str(&b, "abc"), 0);
    assert_int_equal(sb__buf_append_str(&b, "def"), SB_ETOOLARGE);
    assert_string_equal(b.data, "abc");
    assert_int_equal(sb__buf_append_str(&b, "de"), 0);
    assert_string_equal(b.data, "abcde");
    sb__buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_array_grow_doubles_and_keeps_contents),
        cmocka_unit_test(test_array_grow_refuses_overflow),
        cmocka_unit_test(test_buf_cap_refuses_and_keeps_contents),
    };

    return cmocka_run_group_tests_name("buf", tests, NULL, NULL);
}
