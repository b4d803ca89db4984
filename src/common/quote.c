/*
 * quote.c - client bytes made safe to show inside an error message.
 */
#include "common/quote.h"

#include <string.h>

/*
 * Copies client-supplied bytes into out (size outsz) for an error
 * message: printable ASCII as is, every other byte as \xHH; with a quote
 * character q (0 for none), also q and backslash, so the text can be put
 * between quotes unambiguously. At most max input bytes are copied;
 * "..." marks a cut.
 */
const char *sb__quote_bytes(const char *s, size_t len, size_t max, char q,
                            char *out, size_t outsz)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0, i;

    for (i = 0; i < len && i < max && o + 8 < outsz; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c >= 0x20 && c < 0x7f && (q == 0 || (c != '\\' && c != q))) {
            out[o++] = (char)c;
            continue;
        }
        out[o++] = '\\';
        out[o++] = 'x';
        out[o++] = hex[c >> 4];
        out[o++] = hex[c & 0xf];
    }
    if (i < len) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
    return out;
}
