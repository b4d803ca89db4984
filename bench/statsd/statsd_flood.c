/*
 * statsd_flood.c - a StatsD UDP load generator for bench/statsd/run.sh.
 *
 *   statsd_flood PORT SECONDS LINES_PER_PACKET
 *
 * Sends datagrams of LINES_PER_PACKET newline-separated lines to
 * 127.0.0.1:PORT as fast as sendmmsg() allows for SECONDS, then prints
 * one line: "sent_packets=N sent_lines=M seconds=S". The lines mix the
 * metric types over about 120 keys (100 counters with a tag, 10 timers,
 * a gauge, a set), cycling through 64 prepared datagrams so that timer
 * values and set members vary. A datagram the local kernel refuses
 * (ENOBUFS, EAGAIN) is not counted as sent.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define NPACKETS 64
#define PKT_MAX  8192

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Line k of packet p. */
static int put_line(char *out, size_t n, unsigned p, unsigned k)
{
    unsigned x = p * 131u + k * 7u;

    switch (k % 4) {
    case 0:
    case 1:
        return snprintf(out, n, "bench.c%u:1|c|#shard:s%u\n", x % 100, x % 4);
    case 2:
        return snprintf(out, n, "bench.t%u:%u|ms\n", x % 10, x % 500);
    default:
        return (x & 1) ? snprintf(out, n, "bench.g:%u|g\n", x % 1000)
                       : snprintf(out, n, "bench.s:user%u|s\n", x % 5000);
    }
}

int main(int argc, char **argv)
{
    static char pkts[NPACKETS][PKT_MAX];
    struct mmsghdr msgs[NPACKETS];
    struct iovec iov[NPACKETS];
    struct sockaddr_in sa = {.sin_family = AF_INET};
    unsigned long long sent = 0;
    unsigned lines;
    double seconds, start, end;
    int fd;

    if (argc != 4 || atoi(argv[1]) <= 0 || atof(argv[2]) <= 0 ||
        atoi(argv[3]) <= 0 || atoi(argv[3]) > 200) {
        fprintf(stderr, "usage: statsd_flood PORT SECONDS LINES(1-200)\n");
        return 2;
    }
    sa.sin_port = htons((unsigned short)atoi(argv[1]));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    seconds = atof(argv[2]);
    lines = (unsigned)atoi(argv[3]);
    fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        perror("statsd_flood: socket");
        return 1;
    }
    memset(msgs, 0, sizeof msgs);
    for (unsigned p = 0; p < NPACKETS; p++) {
        size_t len = 0;

        for (unsigned k = 0; k < lines; k++)
            len += (size_t)put_line(pkts[p] + len, PKT_MAX - len, p, k);
        pkts[p][--len] = '\0'; /* no trailing newline */
        iov[p] = (struct iovec){pkts[p], len};
        msgs[p].msg_hdr.msg_iov = &iov[p];
        msgs[p].msg_hdr.msg_iovlen = 1;
    }

    start = now_s();
    end = start + seconds;
    while (now_s() < end) {
        int n = sendmmsg(fd, msgs, NPACKETS, 0);

        if (n > 0)
            sent += (unsigned long long)n;
        else if (n < 0 && errno != ENOBUFS && errno != EAGAIN &&
                 errno != EINTR && errno != ECONNREFUSED) {
            perror("statsd_flood: sendmmsg");
            return 1;
        }
    }
    printf("sent_packets=%llu sent_lines=%llu seconds=%.3f\n", sent,
           sent * lines, now_s() - start);
    close(fd);
    return 0;
}
