/*
 * test_dashboard.c - the dashboard's routing and its embedded asset
 * table: which raw paths name which asset (exact bytes, no decoding),
 * that every path under /assets/ shares one route, and that the table
 * generated at build time is well formed (sizes, types, quoted unique
 * ETags, the files the page refers to).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "http/dashboard.h"
#include "http/internal.h"

#include <string.h>

static const sb_asset *lookup(const char *path)
{
    return sb__asset_lookup(path, strlen(path));
}

static void test_paths_name_assets_exactly(void **state)
{
    (void)state;
    assert_non_null(lookup("/"));
    assert_string_equal(lookup("/")->name, "");
    assert_string_equal(lookup("/assets/app.js")->name, "app.js");
    assert_string_equal(lookup("/assets/uPlot.min.js")->name, "uPlot.min.js");

    assert_null(lookup(""));
    assert_null(lookup("//"));
    assert_null(lookup("/assets/"));
    assert_null(lookup("/assets"));
    assert_null(lookup("/index.html"));
    assert_null(lookup("/assets/app.js/"));
    assert_null(lookup("/assets/APP.JS"));
    assert_null(lookup("/assets/app.j"));
    assert_null(lookup("/assets/app.jsx"));
    assert_null(lookup("/assets/%61pp.js"));
    assert_null(lookup("/assets/../assets/app.js"));
    assert_null(lookup("/assets//app.js"));
    assert_null(lookup("/app.js"));
    /* The length decides, not a NUL byte inside it. */
    assert_null(sb__asset_lookup("/assets/app.js\0x", 16));
    assert_non_null(sb__asset_lookup("/assets/app.jsXX", 14));
}

static void test_routes_of_dashboard_paths(void **state)
{
    (void)state;
    assert_int_equal(sb__route_lookup("/", 1), SB_ROUTE_UI);
    assert_int_equal(sb__route_lookup("/assets/app.js", 14), SB_ROUTE_ASSETS);
    assert_int_equal(sb__route_lookup("/assets/anything/at/all", 23),
                     SB_ROUTE_ASSETS);
    assert_int_equal(sb__route_lookup("/assets/", 8), SB_ROUTE_ASSETS);
    assert_int_equal(sb__route_lookup("/assets", 7), SB_ROUTE_UNMATCHED);
    assert_int_equal(sb__route_lookup("/api/v1/status", 14), SB_ROUTE_STATUS);
    assert_int_equal(sb__route_lookup("/api/v1/status/", 15),
                     SB_ROUTE_UNMATCHED);
    assert_int_equal(sb__route_lookup("//", 2), SB_ROUTE_UNMATCHED);
    assert_string_equal(sb__route_names[SB_ROUTE_ASSETS], "/assets/");
}

static void test_asset_table_is_well_formed(void **state)
{
    (void)state;
    assert_true(sb__nassets >= 5);
    for (size_t i = 0; i < sb__nassets; i++) {
        const sb_asset *a = &sb__assets[i];
        size_t n = strlen(a->etag);

        assert_true(a->size > 0);
        assert_non_null(strstr(a->content_type, "charset=utf-8"));
        assert_true(n == 18 && a->etag[0] == '"' && a->etag[n - 1] == '"');
        for (size_t j = 0; j < i; j++) {
            assert_string_not_equal(sb__assets[j].name, a->name);
            assert_string_not_equal(sb__assets[j].etag, a->etag);
        }
    }
}

/* Every /assets/ file the page links is in the table. */
static void test_page_links_resolve(void **state)
{
    const sb_asset *page = lookup("/");
    const char *p, *end;
    char html[65536];
    int links = 0;

    (void)state;
    assert_true(page->size < sizeof html);
    memcpy(html, page->data, page->size);
    html[page->size] = '\0';
    for (p = strstr(html, "\"/assets/"); p != NULL;
         p = strstr(end, "\"/assets/")) {
        p++;
        end = strchr(p, '"');
        assert_non_null(end);
        if (sb__asset_lookup(p, (size_t)(end - p)) == NULL)
            fail_msg("the page links %.*s, which is not embedded",
                     (int)(end - p), p);
        links++;
    }
    assert_true(links >= 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paths_name_assets_exactly),
        cmocka_unit_test(test_routes_of_dashboard_paths),
        cmocka_unit_test(test_asset_table_is_well_formed),
        cmocka_unit_test(test_page_links_resolve),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
