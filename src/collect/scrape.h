/*
 * scrape.h - pulling Prometheus targets into the store (--scrape).
 *
 * One thread per target: scrape, store, sleep until the next interval
 * (or until stopped: sb__scraper_stop() wakes every thread at once;
 * a transfer in flight sees the stop flag within 50 ms, as it runs on a
 * libcurl multi handle polled in short steps, and is aborted; then the
 * threads are joined). A scrape is one HTTP GET with a connect timeout,
 * a total timeout (the interval, at most 10 s) and a cap on the
 * decompressed body (SB_SCRAPE_BODY_MAX); its samples are written as one
 * atomic batch with the self series, or, when anything fails, only
 * `up 0` is written and the reason logged (at most once a minute per
 * target, plus changes of state, at most 10 a minute).
 */
#ifndef SB_COLLECT_SCRAPE_H
#define SB_COLLECT_SCRAPE_H

#include "common/log.h"
#include "scoreboard.h"

#include <stddef.h>
#include <stdint.h>

#define SB_SCRAPE_BODY_MAX     (10u * 1024 * 1024) /* decompressed bytes */
#define SB_SCRAPE_SAMPLES_MAX  50000
#define SB_SCRAPE_TIMEOUT_MAX  (10 * 1000000000LL)
#define SB_SCRAPE_INTERVAL_MIN (100 * 1000000LL)
#define SB_SCRAPE_INTERVAL_DEF (10 * 1000000000LL)
#define SB_SCRAPE_INSTANCE_MAX 300

/*
 * Checks a target URL: http:// or https:// (case-insensitive), a host,
 * no user info. On success instance (size n) receives "host:port" (the
 * scheme's default port when none is given). SB_EINVAL with *reason set
 * otherwise.
 */
int sb__scrape_url_check(const char *url, char *instance, size_t n,
                         const char **reason);

/*
 * Parses a scraped body and writes its samples, labelled job and
 * instance (a sample's own job/instance labels become exported_job /
 * exported_instance), plus up 1, scrape_duration_seconds (duration_s)
 * scrape_samples_scraped and scrape_samples_skipped, all as one batch
 * stamped now_ns (a sample's own timestamp wins). A sample the store
 * refuses for its time (older than the retention or the series'
 * out-of-order window, too far ahead) is skipped and counted, up to 64
 * per scrape; on any other failure nothing is written and err (size
 * errn) says why. *nsamples receives the target's sample
 * count. 0, SB_EINVAL, SB_ETOOLARGE, SB_ENOMEM or the store's error.
 */
int sb__scrape_ingest(sb_store *store, const char *body, size_t len,
                      const char *job, const char *instance, int64_t now_ns,
                      double duration_s, size_t *nsamples, char *err,
                      size_t errn);

typedef struct sb_scraper sb_scraper;

/* Validates every target and starts one thread each. SB_EINVAL (logged)
 * for a bad target, SB_ENOMEM, SB_ESYS. */
int sb__scraper_start(sb_store *store, const sb_scrape_target *targets,
                      size_t n, const sb_logger *log, sb_scraper **out);
/* Wakes, aborts, joins and frees. Accepts NULL. */
void sb__scraper_stop(sb_scraper *s);

#endif
