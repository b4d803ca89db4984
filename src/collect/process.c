/*
 * process.c - the process collector: memory, CPU time, descriptors and
 * threads of this process, read from /proc/self.
 *
 * /proc/self/stat is "pid (comm) state f4 f5 ...". comm is the program
 * name as the program set it and may hold spaces and ')' itself, so the
 * fields after it are found from the LAST ')' in the line, never by
 * splitting the whole line on spaces. Fields used (1-based, as in
 * proc(5)): 14 utime, 15 stime (clock ticks), 20 num_threads,
 * 22 starttime (clock ticks after boot, turned into Unix time with the
 * "btime" line of /proc/stat once and then cached).
 *
 * Each tick writes whatever it could read in one batch and returns the
 * first error, so one unreadable file does not hide the other series.
 */
#include "collect/collector.h"
#include "collect/procfs.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

typedef struct proc_state {
    char root[SB_PROC_PATH_MAX];
    double page_size;
    double clk_tck;
    bool have_start;
    double start_time; /* Unix seconds, once have_start */
} proc_state;

typedef struct proc_stat {
    uint64_t utime, stime, threads, starttime;
} proc_stat;

/* Skips one space-separated field; SB_EINVAL when the line ends. */
static int skip_field(const char **p)
{
    const char *s = *p;

    while (*s == ' ')
        s++;
    if (*s == '\0' || *s == '\n')
        return SB_EINVAL;
    while (*s != ' ' && *s != '\0' && *s != '\n')
        s++;
    *p = s;
    return 0;
}

/*
 * Parses the text of /proc/PID/stat. Returns SB_EINVAL when the line has
 * no ')' or too few fields or a used field is not a number.
 */
static int parse_stat(const char *text, proc_stat *out)
{
    const char *p = strrchr(text, ')');
    int rc = 0;

    if (p == NULL)
        return SB_EINVAL;
    p++;
    /* p is just before field 3. */
    for (int field = 3; field <= 22 && rc == 0; field++) {
        switch (field) {
        case 14:
            rc = sb__proc_u64(&p, &out->utime);
            break;
        case 15:
            rc = sb__proc_u64(&p, &out->stime);
            break;
        case 20:
            rc = sb__proc_u64(&p, &out->threads);
            break;
        case 22:
            rc = sb__proc_u64(&p, &out->starttime);
            break;
        default:
            rc = skip_field(&p);
        }
    }
    return rc < 0 ? SB_EINVAL : 0;
}

static int read_stat(proc_state *st, proc_stat *out)
{
    char path[SB_PROC_PATH_MAX + 16];
    char buf[4096];
    size_t len;
    int rc;

    rc = sb__proc_path(path, sizeof path, st->root, "self/stat");
    if (rc == 0)
        rc = sb__proc_read(path, buf, sizeof buf, &len);
    if (rc == 0)
        rc = parse_stat(buf, out);
    return rc;
}

/* /proc/self/statm: "size resident shared ..." in pages. */
static int read_statm(proc_state *st, uint64_t *size, uint64_t *resident)
{
    char path[SB_PROC_PATH_MAX + 16];
    char buf[512];
    const char *p = buf;
    size_t len;
    int rc;

    rc = sb__proc_path(path, sizeof path, st->root, "self/statm");
    if (rc == 0)
        rc = sb__proc_read(path, buf, sizeof buf, &len);
    if (rc == 0)
        rc = sb__proc_u64(&p, size);
    if (rc == 0)
        rc = sb__proc_u64(&p, resident);
    return rc < 0 ? (rc == SB_ESYS ? rc : SB_EINVAL) : 0;
}

/* Counts the entries of /proc/self/fd. The count includes the descriptor
 * used to list the directory, as other exporters' figures do. */
static int count_fds(proc_state *st, uint64_t *out)
{
    char path[SB_PROC_PATH_MAX + 16];
    struct dirent *de;
    uint64_t n = 0;
    DIR *d;
    int rc;

    rc = sb__proc_path(path, sizeof path, st->root, "self/fd");
    if (rc < 0)
        return rc;
    d = opendir(path);
    if (d == NULL)
        return SB_ESYS;
    while ((de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            n++;
    closedir(d);
    *out = n;
    return 0;
}

/* Boot time from the "btime" line of /proc/stat, Unix seconds. */
static int read_btime(proc_state *st, uint64_t *out)
{
    char path[SB_PROC_PATH_MAX + 16];
    char line[128];
    const char *p = line + 5;
    int rc;

    rc = sb__proc_path(path, sizeof path, st->root, "stat");
    if (rc == 0)
        rc = sb__proc_find_line(path, "btime ", line, sizeof line);
    if (rc == 0)
        rc = sb__proc_u64(&p, out);
    return rc < 0 ? (rc == SB_ESYS ? rc : SB_EINVAL) : 0;
}

static void gather_stat(proc_state *st, sb_tick_points *pl, int64_t now)
{
    proc_stat ps;
    uint64_t btime;
    int rc;

    rc = read_stat(st, &ps);
    sb__tick_note(pl, rc);
    if (rc < 0)
        return;
    sb__tick_add(pl, "process_cpu_seconds_total",
                 (double)(ps.utime + ps.stime) / st->clk_tck, now);
    sb__tick_add(pl, "process_threads", (double)ps.threads, now);

    if (!st->have_start) {
        rc = read_btime(st, &btime);
        sb__tick_note(pl, rc);
        if (rc < 0)
            return;
        st->start_time = (double)btime + (double)ps.starttime / st->clk_tck;
        st->have_start = true;
    }
    sb__tick_add(pl, "process_start_time_seconds", st->start_time, now);
}

static void gather_other(proc_state *st, sb_tick_points *pl, int64_t now)
{
    uint64_t size, resident, fds;
    struct rlimit rl;
    int rc;

    rc = read_statm(st, &size, &resident);
    sb__tick_note(pl, rc);
    if (rc == 0) {
        sb__tick_add(pl, "process_resident_memory_bytes",
                     (double)resident * st->page_size, now);
        sb__tick_add(pl, "process_virtual_memory_bytes",
                     (double)size * st->page_size, now);
    }

    rc = count_fds(st, &fds);
    sb__tick_note(pl, rc);
    if (rc == 0)
        sb__tick_add(pl, "process_open_fds", (double)fds, now);

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        sb__tick_note(pl, SB_ESYS);
    } else {
        sb__tick_add(pl, "process_max_fds",
                     rl.rlim_cur == RLIM_INFINITY ? (double)INT64_MAX
                                                  : (double)rl.rlim_cur,
                     now);
    }
}

static int proc_collect(void *state, sb_store *store, int64_t now_ns)
{
    sb_tick_points pl = {.n = 0, .err = 0};

    gather_stat(state, &pl, now_ns);
    gather_other(state, &pl, now_ns);
    return sb__tick_write(&pl, store);
}

static void proc_destroy(void *state)
{
    free(state);
}

int sb__collector_process_at(const char *proc_root, sb_collector *out)
{
    long page = sysconf(_SC_PAGESIZE);
    long tck = sysconf(_SC_CLK_TCK);
    proc_state *st;
    size_t len;

    if (proc_root == NULL || out == NULL)
        return SB_EINVAL;
    len = strlen(proc_root);
    if (len >= SB_PROC_PATH_MAX)
        return SB_ETOOLARGE;
    if (page <= 0 || tck <= 0)
        return SB_ESYS;
    st = calloc(1, sizeof *st);
    if (st == NULL)
        return SB_ENOMEM;
    memcpy(st->root, proc_root, len + 1);
    st->page_size = (double)page;
    st->clk_tck = (double)tck;

    *out = (sb_collector){.name = "process",
                          .state = st,
                          .collect = proc_collect,
                          .destroy = proc_destroy};
    return 0;
}

int sb__collector_process(sb_collector *out)
{
    return sb__collector_process_at("/proc", out);
}
