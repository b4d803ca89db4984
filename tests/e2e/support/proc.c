/*
 * proc.c - child processes with captured output (see proc.h).
 *
 * Each e2e_proc owns: the child's pid (reaped at most once; `reaped`
 * records it), the read ends of its stdout and stderr pipes (opened with
 * O_CLOEXEC so no other child inherits them and delays their EOF), and a
 * reader thread that appends to the two capture buffers under `mu` and
 * broadcasts `cond` on every append and at EOF. The buffers are capped at
 * CAPTURE_MAX bytes; beyond that the reader keeps draining and discards.
 *
 * Invariant: a live e2e_proc is on the registry list; e2e_proc_free()
 * takes it off. The reader thread ends once both pipes reach EOF, which
 * happens when the child (and nothing else) has exited, so it is joined
 * only after the child has been killed or reaped.
 */
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define CAPTURE_MAX (8u << 20)
#define MAX_ARGS    64
#define MAX_ENV     4096

typedef struct capture {
    char *data;
    size_t len;
    size_t cap;
} capture;

struct e2e_proc {
    pid_t pid;
    bool reaped;
    int status;
    int out_fd;
    int err_fd;
    pthread_t reader;
    bool reader_started;
    pthread_mutex_t mu;
    pthread_cond_t cond; /* on CLOCK_MONOTONIC */
    capture out;
    capture err;
    bool eof; /* both pipes closed */
    int64_t signal_ms;
    uint16_t port;
    e2e_proc *next;
};

static pthread_mutex_t registry_mu = PTHREAD_MUTEX_INITIALIZER;
static e2e_proc *registry;
static pthread_once_t atexit_once = PTHREAD_ONCE_INIT;

int64_t e2e_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void e2e_sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000,
                          .tv_nsec = (long)(ms % 1000) * 1000000};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define E2E_TSAN 1
#endif
#if __has_feature(address_sanitizer)
#define E2E_ASAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define E2E_TSAN 1
#endif
#if defined(__SANITIZE_ADDRESS__)
#define E2E_ASAN 1
#endif

int e2e_slowdown(void)
{
    const char *env = getenv("E2E_SLOWDOWN");
    char *end;
    long v;

    if (env != NULL) {
        v = strtol(env, &end, 10);
        if (end != env && *end == '\0' && v >= 1 && v <= 100)
            return (int)v;
    }
#if defined(E2E_TSAN)
    return 4;
#elif defined(E2E_ASAN)
    return 2;
#else
    return 1;
#endif
}

const char *e2e_env_path(const char *var)
{
    const char *v = getenv(var);

    return v != NULL && v[0] != '\0' ? v : NULL;
}

static void capture_append(capture *c, const char *data, size_t n)
{
    size_t want;
    char *p;

    if (c->len + n > CAPTURE_MAX)
        n = CAPTURE_MAX - c->len;
    if (n == 0)
        return;
    if (c->len + n + 1 > c->cap) {
        want = c->cap ? c->cap : 4096;
        while (want < c->len + n + 1)
            want *= 2;
        p = realloc(c->data, want);
        if (p == NULL)
            return;
        c->data = p;
        c->cap = want;
    }
    memcpy(c->data + c->len, data, n);
    c->len += n;
    c->data[c->len] = '\0';
}

/* Drains one readable pipe. Returns false at EOF or on an error. */
static bool drain_fd(e2e_proc *p, int fd, capture *c)
{
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof(buf));

    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return true;
    if (n <= 0)
        return false;
    pthread_mutex_lock(&p->mu);
    capture_append(c, buf, (size_t)n);
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->mu);
    return true;
}

static void *reader_main(void *arg)
{
    e2e_proc *p = arg;
    struct pollfd fds[2] = {{.fd = p->out_fd, .events = POLLIN},
                            {.fd = p->err_fd, .events = POLLIN}};
    capture *caps[2] = {&p->out, &p->err};
    int open_fds = 2;

    while (open_fds > 0) {
        if (poll(fds, 2, 200) < 0 && errno != EINTR)
            break;
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd < 0 || fds[i].revents == 0)
                continue;
            if (!drain_fd(p, fds[i].fd, caps[i])) {
                fds[i].fd = -1; /* poll ignores negative fds */
                open_fds--;
            }
        }
    }
    pthread_mutex_lock(&p->mu);
    p->eof = true;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static void free_strv(char **v)
{
    if (v == NULL)
        return;
    for (size_t i = 0; v[i] != NULL; i++)
        free(v[i]);
    free(v);
}

/* A malloc'd, NULL-terminated copy of argv. */
static char **copy_argv(const char *const *argv)
{
    char **v = calloc(MAX_ARGS + 1, sizeof(*v));
    size_t i;

    if (v == NULL)
        return NULL;
    for (i = 0; argv[i] != NULL && i < MAX_ARGS; i++) {
        v[i] = strdup(argv[i]);
        if (v[i] == NULL) {
            free_strv(v);
            return NULL;
        }
    }
    return v;
}

/* environ minus SCOREBOARD_*, plus extra. */
static char **build_env(const char *const *extra)
{
    char **v = calloc(MAX_ENV + 1, sizeof(*v));
    size_t n = 0;

    if (v == NULL)
        return NULL;
    for (size_t i = 0; environ[i] != NULL && n < MAX_ENV / 2; i++) {
        if (strncmp(environ[i], "SCOREBOARD_", 11) == 0)
            continue;
        v[n] = strdup(environ[i]);
        if (v[n++] == NULL)
            goto fail;
    }
    for (size_t i = 0; extra != NULL && extra[i] != NULL && n < MAX_ENV; i++) {
        v[n] = strdup(extra[i]);
        if (v[n++] == NULL)
            goto fail;
    }
    return v;

fail:
    free_strv(v);
    return NULL;
}

/* In the child after fork(): async-signal-safe calls only. */
static void exec_child(const char *path, char **argv, char **envp, pid_t parent,
                       int null_fd, int out_w, int err_w)
{
    struct sigaction dfl;
    sigset_t none;

    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(127);
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    sigaction(SIGINT, &dfl, NULL);
    sigaction(SIGTERM, &dfl, NULL);
    sigaction(SIGPIPE, &dfl, NULL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (dup2(null_fd, 0) < 0 || dup2(out_w, 1) < 0 || dup2(err_w, 2) < 0)
        _exit(127);
    execve(path, argv, envp);
    _exit(127);
}

static void registry_add(e2e_proc *p)
{
    pthread_mutex_lock(&registry_mu);
    p->next = registry;
    registry = p;
    pthread_mutex_unlock(&registry_mu);
}

static void registry_remove(e2e_proc *p)
{
    pthread_mutex_lock(&registry_mu);
    for (e2e_proc **pp = &registry; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    }
    pthread_mutex_unlock(&registry_mu);
}

static void free_all_at_exit(void)
{
    (void)e2e_proc_free_all(NULL);
}

static void register_atexit(void)
{
    atexit(free_all_at_exit);
}

static e2e_proc *proc_alloc(void)
{
    e2e_proc *p = calloc(1, sizeof(*p));
    pthread_condattr_t ca;

    if (p == NULL)
        return NULL;
    p->pid = -1;
    p->out_fd = -1;
    p->err_fd = -1;
    pthread_mutex_init(&p->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->cond, &ca);
    pthread_condattr_destroy(&ca);
    return p;
}

e2e_proc *e2e_proc_start(const char *path, const char *const *argv,
                         const char *const *env_extra)
{
    int out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1}, null_fd = -1;
    char **args = copy_argv(argv), **envp = build_env(env_extra);
    e2e_proc *p = proc_alloc();
    pid_t parent = getpid();

    pthread_once(&atexit_once, register_atexit);
    if (p == NULL || args == NULL || envp == NULL)
        goto fail;
    null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null_fd < 0 || pipe2(out_pipe, O_CLOEXEC) != 0 ||
        pipe2(err_pipe, O_CLOEXEC) != 0)
        goto fail;

    p->pid = fork();
    if (p->pid == 0)
        exec_child(path, args, envp, parent, null_fd, out_pipe[1], err_pipe[1]);
    if (p->pid < 0)
        goto fail;
    registry_add(p);
    close(out_pipe[1]);
    close(err_pipe[1]);
    close(null_fd);
    p->out_fd = out_pipe[0];
    p->err_fd = err_pipe[0];
    free_strv(args);
    free_strv(envp);
    if (pthread_create(&p->reader, NULL, reader_main, p) == 0)
        p->reader_started = true;
    else
        p->eof = true; /* nothing will capture; waits end at once */
    return p;

fail:
    for (int i = 0; i < 2; i++) {
        if (out_pipe[i] >= 0)
            close(out_pipe[i]);
        if (err_pipe[i] >= 0)
            close(err_pipe[i]);
    }
    if (null_fd >= 0)
        close(null_fd);
    free_strv(args);
    free_strv(envp);
    if (p != NULL) {
        pthread_cond_destroy(&p->cond);
        pthread_mutex_destroy(&p->mu);
        free(p);
    }
    return NULL;
}

pid_t e2e_proc_pid(const e2e_proc *p)
{
    return p->pid;
}

uint16_t e2e_proc_port(const e2e_proc *p)
{
    return p->port;
}

/* Waits on p->cond (p->mu held) until deadline_ms. False at the deadline.
 */
static bool wait_until(e2e_proc *p, int64_t deadline_ms)
{
    struct timespec ts;
    int64_t now = e2e_now_ms();

    if (now >= deadline_ms)
        return false;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += (deadline_ms - now) / 1000;
    ts.tv_nsec += (long)((deadline_ms - now) % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    pthread_cond_timedwait(&p->cond, &p->mu, &ts);
    return true;
}

/* Parses the port out of "...listening address=HOST:PORT<space|\n>".
 * at points just past "address=". Returns 0 when the line is incomplete
 * or malformed. */
static uint16_t parse_port(const char *at)
{
    const char *end = at + strcspn(at, " \t\r\n");
    const char *colon = NULL;
    long v = 0;

    if (*end == '\0')
        return 0; /* the rest of the line has not arrived yet */
    for (const char *s = at; s < end; s++) {
        if (*s == ':')
            colon = s;
    }
    if (colon == NULL || colon + 1 == end || end - colon > 6)
        return 0;
    for (const char *s = colon + 1; s < end; s++) {
        if (*s < '0' || *s > '9')
            return 0;
        v = v * 10 + (*s - '0');
    }
    return v > 0 && v <= 65535 ? (uint16_t)v : 0;
}

uint16_t e2e_proc_wait_port(e2e_proc *p, int timeout_ms)
{
    static const char key[] = "listening address=";
    int64_t deadline = e2e_now_ms() + timeout_ms;
    const char *at;
    uint16_t port = 0;

    pthread_mutex_lock(&p->mu);
    for (;;) {
        at = p->err.data ? strstr(p->err.data, key) : NULL;
        if (at != NULL)
            port = parse_port(at + sizeof(key) - 1);
        if (port != 0 || p->eof || !wait_until(p, deadline))
            break;
    }
    pthread_mutex_unlock(&p->mu);
    p->port = port;
    return port;
}

static bool wait_text(e2e_proc *p, capture *c, const char *needle,
                      int timeout_ms)
{
    int64_t deadline = e2e_now_ms() + timeout_ms;
    bool found = false;

    pthread_mutex_lock(&p->mu);
    for (;;) {
        found = c->data != NULL && strstr(c->data, needle) != NULL;
        if (found || p->eof || !wait_until(p, deadline))
            break;
    }
    pthread_mutex_unlock(&p->mu);
    return found;
}

bool e2e_proc_wait_stderr(e2e_proc *p, const char *needle, int timeout_ms)
{
    return wait_text(p, &p->err, needle, timeout_ms);
}

bool e2e_proc_wait_stdout(e2e_proc *p, const char *needle, int timeout_ms)
{
    return wait_text(p, &p->out, needle, timeout_ms);
}

static char *copy_capture(e2e_proc *p, const capture *c)
{
    char *s;

    pthread_mutex_lock(&p->mu);
    s = strndup(c->data ? c->data : "", c->len);
    pthread_mutex_unlock(&p->mu);
    return s;
}

char *e2e_proc_stderr(e2e_proc *p)
{
    return copy_capture(p, &p->err);
}

char *e2e_proc_stdout(e2e_proc *p)
{
    return copy_capture(p, &p->out);
}

int e2e_proc_signal(e2e_proc *p, int sig)
{
    if (p->reaped)
        return -1;
    p->signal_ms = e2e_now_ms();
    return kill(p->pid, sig);
}

int e2e_proc_wait_exit(e2e_proc *p, int timeout_ms, int *status,
                       long *elapsed_ms)
{
    int64_t start = e2e_now_ms(), deadline = start + timeout_ms;
    pid_t r;

    while (!p->reaped) {
        r = waitpid(p->pid, &p->status, WNOHANG);
        if (r == p->pid) {
            p->reaped = true;
            break;
        }
        if ((r < 0 && errno != EINTR) || e2e_now_ms() >= deadline)
            return -1;
        e2e_sleep_ms(1);
    }
    if (status != NULL)
        *status = p->status;
    if (elapsed_ms != NULL)
        *elapsed_ms =
            (long)(e2e_now_ms() - (p->signal_ms ? p->signal_ms : start));
    return 0;
}

int e2e_proc_stop(e2e_proc *p, int sig, int timeout_ms, int *status,
                  long *elapsed_ms)
{
    if (e2e_proc_signal(p, sig) != 0)
        return -1;
    return e2e_proc_wait_exit(p, timeout_ms, status, elapsed_ms);
}

void e2e_proc_free(e2e_proc *p)
{
    if (p == NULL)
        return;
    registry_remove(p);
    if (!p->reaped && p->pid > 0) {
        kill(p->pid, SIGKILL);
        while (waitpid(p->pid, &p->status, 0) < 0 && errno == EINTR)
            ;
        p->reaped = true;
    }
    if (p->reader_started)
        pthread_join(p->reader, NULL);
    if (p->out_fd >= 0)
        close(p->out_fd);
    if (p->err_fd >= 0)
        close(p->err_fd);
    free(p->out.data);
    free(p->err.data);
    pthread_cond_destroy(&p->cond);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

int e2e_proc_free_all(void **state)
{
    e2e_proc *p;

    (void)state;
    for (;;) {
        pthread_mutex_lock(&registry_mu);
        p = registry;
        pthread_mutex_unlock(&registry_mu);
        if (p == NULL)
            return 0;
        e2e_proc_free(p); /* removes p from the list */
    }
}

/* Waits (bounded) until the reader has seen EOF on both pipes. */
static void wait_eof(e2e_proc *p, int timeout_ms)
{
    int64_t deadline = e2e_now_ms() + timeout_ms;

    pthread_mutex_lock(&p->mu);
    while (!p->eof && wait_until(p, deadline))
        ;
    pthread_mutex_unlock(&p->mu);
}

int e2e_run(const char *path, const char *const *argv, int timeout_ms,
            int *status, char **out, char **err)
{
    e2e_proc *p = e2e_proc_start(path, argv, NULL);
    int rc = -1;

    *out = NULL;
    *err = NULL;
    if (p == NULL)
        return -1;
    if (e2e_proc_wait_exit(p, timeout_ms, status, NULL) == 0) {
        wait_eof(p, 2000);
        rc = 0;
    }
    *out = e2e_proc_stdout(p);
    *err = e2e_proc_stderr(p);
    e2e_proc_free(p);
    return rc;
}

e2e_proc *e2e_server_start(const char *const *extra)
{
    const char *bin = e2e_env_path("SB_BINARY");
    const char *argv[MAX_ARGS + 1] = {bin, "serve", "--listen", "127.0.0.1:0"};
    size_t n = 4;
    e2e_proc *p;
    char *log;

    if (bin == NULL) {
        fprintf(stderr, "e2e: SB_BINARY is not set\n");
        return NULL;
    }
    for (size_t i = 0; extra != NULL && extra[i] != NULL && n < MAX_ARGS; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    p = e2e_proc_start(bin, argv, NULL);
    if (p == NULL)
        return NULL;
    if (e2e_proc_wait_port(p, 10000 * e2e_slowdown()) != 0)
        return p;
    log = e2e_proc_stderr(p);
    fprintf(stderr, "e2e: server did not report its port; stderr:\n%s\n",
            log ? log : "");
    free(log);
    e2e_proc_free(p);
    return NULL;
}

bool e2e_proc_stop_clean(e2e_proc **p)
{
    int status = 0, rc = -1;

    if (*p == NULL) {
        e2e_proc_free_all(NULL);
        return true;
    }
    rc = e2e_proc_stop(*p, SIGTERM, 5000 * e2e_slowdown(), &status, NULL);
    e2e_proc_free_all(NULL);
    *p = NULL;
    if (rc != 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "server did not exit 0 on SIGTERM (status %d)\n",
                status);
        return false;
    }
    return true;
}
