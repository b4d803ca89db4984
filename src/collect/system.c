/*
 * system.c - the system collector: CPU use, memory and load of the
 * machine, read from /proc/stat, /proc/meminfo and /proc/loadavg.
 *
 * CPU use is a rate, so it needs two readings of the aggregate "cpu" line
 * of /proc/stat: the state keeps the previous reading and each tick
 * writes 100 * (1 - idle delta / total delta), where idle is idle +
 * iowait and total is user + nice + system + idle + iowait + irq +
 * softirq + steal (guest time is already counted in user and nice, so it
 * is left out). No value is written on the first tick, when the counters
 * did not advance, or when one went backwards (iowait may on some
 * kernels); the reading is kept as the next baseline in every case.
 *
 * Each tick writes whatever it could read in one batch and returns the
 * first error, so one malformed file does not hide the other series.
 */
#include "collect/collector.h"
#include "collect/procfs.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define CPU_FIELDS 8 /* user nice system idle iowait irq softirq steal */

typedef struct sys_state {
    char root[SB_PROC_PATH_MAX];
    bool have_prev;
    uint64_t prev_idle;
    uint64_t prev_total;
} sys_state;

static int proc_file(const sys_state *st, const char *name, char *path,
                     size_t n)
{
    return sb__proc_path(path, n, st->root, name);
}

/*
 * Parses "cpu  user nice system idle [iowait [irq [softirq [steal ...]]]]"
 * into idle (idle + iowait) and total. At least the first four fields
 * must be present; later ones are optional, as on old kernels.
 */
static int parse_cpu_line(const char *line, uint64_t *idle, uint64_t *total)
{
    const char *p = line + 3;
    uint64_t v[CPU_FIELDS] = {0};
    uint64_t sum = 0;
    int i;

    for (i = 0; i < CPU_FIELDS; i++) {
        while (*p == ' ')
            p++;
        if (*p == '\0')
            break;
        if (sb__proc_u64(&p, &v[i]) < 0)
            return SB_EINVAL;
    }
    if (i < 4)
        return SB_EINVAL;
    for (i = 0; i < CPU_FIELDS; i++) {
        if (sum > UINT64_MAX - v[i])
            return SB_ERANGE;
        sum += v[i];
    }
    *idle = v[3] + v[4];
    *total = sum;
    return 0;
}

static void gather_cpu(sys_state *st, sb_tick_points *pl, int64_t now)
{
    char path[SB_PROC_PATH_MAX + 16];
    char line[512];
    uint64_t idle = 0, total = 0, d_idle, d_total;
    bool usable;
    int rc;

    rc = proc_file(st, "stat", path, sizeof path);
    if (rc == 0)
        rc = sb__proc_find_line(path, "cpu ", line, sizeof line);
    if (rc == 0)
        rc = parse_cpu_line(line, &idle, &total);
    sb__tick_note(pl, rc);
    if (rc < 0)
        return;

    usable = st->have_prev && total > st->prev_total && idle >= st->prev_idle;
    if (usable) {
        d_total = total - st->prev_total;
        d_idle = idle - st->prev_idle;
        if (d_idle > d_total)
            d_idle = d_total;
        sb__tick_add(pl, "system_cpu_usage_percent",
                     100.0 * (1.0 - (double)d_idle / (double)d_total), now);
    }
    st->have_prev = true;
    st->prev_idle = idle;
    st->prev_total = total;
}

static void gather_memory(sys_state *st, sb_tick_points *pl, int64_t now)
{
    char path[SB_PROC_PATH_MAX + 16];
    char buf[8192];
    uint64_t mem_total, mem_avail;
    size_t len;
    int rc;

    rc = proc_file(st, "meminfo", path, sizeof path);
    if (rc == 0)
        rc = sb__proc_read(path, buf, sizeof buf, &len);
    if (rc == 0)
        rc = sb__proc_field(buf, "MemTotal", &mem_total);
    if (rc == 0)
        rc = sb__proc_field(buf, "MemAvailable", &mem_avail);
    sb__tick_note(pl, rc);
    if (rc < 0)
        return;
    sb__tick_add(pl, "system_memory_total_bytes", (double)mem_total, now);
    sb__tick_add(pl, "system_memory_available_bytes", (double)mem_avail, now);
}

/* /proc/loadavg: "0.52 0.58 0.59 1/467 12345". */
static void gather_load(sys_state *st, sb_tick_points *pl, int64_t now)
{
    char path[SB_PROC_PATH_MAX + 16];
    char buf[256];
    const char *p = buf;
    double load[3];
    size_t len;
    int rc;

    rc = proc_file(st, "loadavg", path, sizeof path);
    if (rc == 0)
        rc = sb__proc_read(path, buf, sizeof buf, &len);
    for (int i = 0; i < 3 && rc == 0; i++)
        rc = sb__proc_double(&p, &load[i]);
    sb__tick_note(pl, rc);
    if (rc < 0)
        return;
    sb__tick_add(pl, "system_load1", load[0], now);
    sb__tick_add(pl, "system_load5", load[1], now);
    sb__tick_add(pl, "system_load15", load[2], now);
}

static int sys_collect(void *state, sb_store *store, int64_t now_ns)
{
    sb_tick_points pl = {.n = 0, .err = 0};

    gather_cpu(state, &pl, now_ns);
    gather_memory(state, &pl, now_ns);
    gather_load(state, &pl, now_ns);
    return sb__tick_write(&pl, store);
}

static void sys_destroy(void *state)
{
    free(state);
}

int sb__collector_system_at(const char *proc_root, sb_collector *out)
{
    sys_state *st;
    size_t len;

    if (proc_root == NULL || out == NULL)
        return SB_EINVAL;
    len = strlen(proc_root);
    if (len >= SB_PROC_PATH_MAX)
        return SB_ETOOLARGE;
    st = calloc(1, sizeof *st);
    if (st == NULL)
        return SB_ENOMEM;
    memcpy(st->root, proc_root, len + 1);

    *out = (sb_collector){.name = "system",
                          .state = st,
                          .collect = sys_collect,
                          .destroy = sys_destroy};
    return 0;
}

int sb__collector_system(sb_collector *out)
{
    return sb__collector_system_at("/proc", out);
}
