/*
 * procfs.h - small readers and number parsers for /proc files.
 *
 * The collectors read kernel text files whose format is fixed but whose
 * content is still checked: every number is parsed with an end check and
 * an overflow check, and a file that does not look as expected is an
 * SB_EINVAL error, never a crash or a silently wrong value.
 */
#ifndef SB_COLLECT_PROCFS_H
#define SB_COLLECT_PROCFS_H

#include <stddef.h>
#include <stdint.h>

/* Longest path built from a proc root and a file name. */
#define SB_PROC_PATH_MAX 512

/*
 * Reads the whole file at path into buf (size n) and NUL-terminates it;
 * *len receives the length. SB_ESYS when the file cannot be opened or
 * read, SB_ETOOLARGE when it does not fit in n - 1 bytes.
 */
int sb__proc_read(const char *path, char *buf, size_t n, size_t *len);

/*
 * Streams the file at path and copies the first line that starts with
 * prefix (without its newline) into line (size n). Lines longer than the
 * internal chunk are skipped, so huge lines elsewhere in the file (the
 * "intr" line of /proc/stat) cost nothing. SB_EINVAL when no line
 * matches, SB_ETOOLARGE when the matching line does not fit, SB_ESYS on a
 * read error.
 */
int sb__proc_find_line(const char *path, const char *prefix, char *line,
                       size_t n);

/*
 * Parses an unsigned decimal at *p after skipping spaces and tabs; *p
 * advances past it. The number must end at a space, tab, newline or the
 * end of the text. Signs are refused (strtoull would wrap "-1").
 * SB_EINVAL when malformed, SB_ERANGE on overflow.
 */
int sb__proc_u64(const char **p, uint64_t *out);

/* The same for a non-negative decimal fraction such as "0.52". */
int sb__proc_double(const char **p, double *out);

/*
 * Finds "key:" at the start of a line of text (as in /proc/meminfo),
 * parses the number after it and, when the line ends in " kB", scales it
 * by 1024. SB_EINVAL when missing or malformed, SB_ERANGE on overflow.
 */
int sb__proc_field(const char *text, const char *key, uint64_t *out);

/* snprintf(out, n, "%s/%s", root, name); SB_ETOOLARGE when cut. */
int sb__proc_path(char *out, size_t n, const char *root, const char *name);

#endif
