/* text.c — text_escape (text.h): control characters of a line written as \xHH; and
 * text_vformat, vsnprintf for the conversions the core's lines use. */
#include "text.h"

#include <stdio.h> /* vsnprintf only, for the conversions text_vformat leaves to it */
#include <string.h>

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

/* The output so far: bytes past cap - 1 are counted as vsnprintf would, not written. */
typedef struct {
    char *buf;
    size_t cap, len;
} tf_out_t;

static void tf_put(tf_out_t *o, const char *s, size_t n) {
    size_t room = o->len < o->cap - 1 ? o->cap - 1 - o->len : 0;
    memcpy(o->buf + o->len, s, n < room ? n : room);
    o->len += n < room ? n : room;
}

static void tf_pad(tf_out_t *o, size_t n) {
    static const char spaces[] = "                                ";
    while (n > 0) {
        size_t k = n < sizeof(spaces) - 1 ? n : sizeof(spaces) - 1;
        tf_put(o, spaces, k);
        n -= k;
    }
}

/* s[0..n) in a field of width (left: padded on the right). */
static void tf_field(tf_out_t *o, const char *s, size_t n, size_t width, int left) {
    if (!left && width > n) tf_pad(o, width - n);
    tf_put(o, s, n);
    if (left && width > n) tf_pad(o, width - n);
}

/* v's digits (and a '-' when neg) at the end of d[24]; returns where they start. */
static char *tf_digits(char *end, unsigned long long v, int neg) {
    char *p = end;
    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    if (neg) *--p = '-';
    return p;
}

size_t text_vformat(char *buf, size_t cap, const char *fmt, va_list ap) {
    AC_ASSERT(buf != NULL && cap >= 1);
    va_list start;
    va_copy(start, ap);
    tf_out_t o = {buf, cap, 0};
    const char *f = fmt;
    while (*f != '\0') {
        const char *pct = strchr(f, '%');
        size_t lit = pct != NULL ? (size_t)(pct - f) : strlen(f);
        tf_put(&o, f, lit);
        if (pct == NULL) break;
        f = pct + 1;
        int left = 0, have_prec = 0, lng = 0;
        size_t width = 0, prec = 0;
        if (*f == '-') {
            left = 1;
            f++;
        }
        if (*f == '0' || *f == '+' || *f == ' ' || *f == '#' || *f == '-') goto fallback; /* flags */
        if (*f == '*') {
            int w = va_arg(ap, int);
            if (w < 0) left = 1;
            width = w < 0 ? (size_t)-(long long)w : (size_t)w;
            f++;
        } else {
            while (*f >= '0' && *f <= '9' && width < 100000) width = width * 10 + (size_t)(*f++ - '0');
            if (*f >= '0' && *f <= '9') goto fallback; /* a width past reason: vsnprintf's */
        }
        if (*f == '.') {
            f++;
            have_prec = 1;
            if (*f == '*') {
                int p = va_arg(ap, int);
                have_prec = p >= 0; /* a negative precision is none */
                prec = p >= 0 ? (size_t)p : 0;
                f++;
            } else {
                while (*f >= '0' && *f <= '9' && prec < 100000) prec = prec * 10 + (size_t)(*f++ - '0');
                if (*f >= '0' && *f <= '9') goto fallback;
            }
        }
        if (*f == 'l') {
            lng = 1;
            f++;
            if (*f == 'l') {
                lng = 2;
                f++;
            }
        } else if (*f == 'z') {
            lng = 3;
            f++;
        }
        char d[24];
        char *end = d + sizeof(d);
        switch (*f) {
        case 's': {
            if (lng != 0) goto fallback;
            const char *s = va_arg(ap, const char *);
            if (s == NULL) goto fallback; /* "(null)": vsnprintf's to say */
            size_t n = 0;
            if (have_prec)
                while (n < prec && s[n] != '\0') n++;
            else
                n = strlen(s);
            tf_field(&o, s, n, width, left);
            break;
        }
        case 'c': {
            if (lng != 0 || have_prec) goto fallback;
            char ch = (char)va_arg(ap, int);
            tf_field(&o, &ch, 1, width, left);
            break;
        }
        case 'd':
        case 'i': {
            if (have_prec || lng == 3) goto fallback;
            long long v = lng == 2 ? va_arg(ap, long long) : lng == 1 ? va_arg(ap, long) : va_arg(ap, int);
            unsigned long long mag = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
            char *p = tf_digits(end, mag, v < 0);
            tf_field(&o, p, (size_t)(end - p), width, left);
            break;
        }
        case 'u': {
            if (have_prec) goto fallback;
            unsigned long long v = lng == 2   ? va_arg(ap, unsigned long long)
                                   : lng == 1 ? va_arg(ap, unsigned long)
                                   : lng == 3 ? va_arg(ap, size_t)
                                              : va_arg(ap, unsigned int);
            char *p = tf_digits(end, v, 0);
            tf_field(&o, p, (size_t)(end - p), width, left);
            break;
        }
        case '%':
            if (left || width != 0 || have_prec || lng != 0) goto fallback;
            tf_put(&o, "%", 1);
            break;
        default:
            goto fallback;
        }
        f++;
    }
    buf[o.len] = '\0';
    va_end(start);
    return o.len;
fallback: {
    int n = vsnprintf(buf, cap, fmt, start);
    va_end(start);
    if (n < 0) {
        buf[0] = '\0';
        return 0;
    }
    return (size_t)n < cap ? (size_t)n : cap - 1;
}
}
