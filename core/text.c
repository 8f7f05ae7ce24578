/* text.c — text_escape (text.h): control characters of a line written as \xHH. */
#include "text.h"

#include "common.h"

size_t text_escape(const char *in, char *out, size_t cap) {
    static const char hex[] = "0123456789abcdef";
    AC_ASSERT(in != NULL);
    AC_ASSERT(out != NULL && cap >= 1);
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)in; *p != '\0'; p++) {
        int ctl = *p < 0x20 || *p == 0x7f;
        size_t need = ctl ? 4u : 1u;
        if (n + need >= cap) break; /* cut at a whole character */
        if (ctl) {
            out[n++] = '\\';
            out[n++] = 'x';
            out[n++] = hex[*p >> 4];
            out[n++] = hex[*p & 15];
        } else {
            out[n++] = (char)*p;
        }
    }
    out[n] = '\0';
    return n;
}
