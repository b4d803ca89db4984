/*
 * quote.h - client bytes made safe to show inside an error message.
 */
#ifndef SB_COMMON_QUOTE_H
#define SB_COMMON_QUOTE_H

#include <stddef.h>

/* The output size that always holds max quoted input bytes and "...". */
#define SB_QUOTE_BUF(max) ((max)*4 + 8 + 1)

/*
 * Copies at most max bytes of s[0..len) into out (size outsz): printable
 * ASCII as is, every other byte as \xHH; with a quote character q (0 for
 * none), q and backslash are escaped too, so the text can stand between
 * quotes unambiguously. A cut is marked with "...". Returns out.
 */
const char *sb__quote_bytes(const char *s, size_t len, size_t max, char q,
                            char *out, size_t outsz);

#endif
