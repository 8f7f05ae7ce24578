/* text.c — text_escape (text.h): control characters of a line written as \xHH; text_u64,
 * decimal digits; and text_vformat, vsnprintf for the conversions the core's lines use. */
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

/* text.h; moved here from tx.c so that tx_format and text_vformat share it. */
size_t text_u64(uint64_t v, char *buf) {
    static const char pairs[] = "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
                                "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
                                "8081828384858687888990919293949596979899";
    char tmp[SERIAL_DIGITS_MAX];
    size_t n = sizeof tmp; /* filled from the end */
    while (v > UINT32_MAX) { /* 64-bit divisions only for the digits above 32 bits */
        size_t k = (size_t)(v % 100) * 2;
        v /= 100;
        AC_ASSERT(n >= 2);
        tmp[--n] = pairs[k + 1];
        tmp[--n] = pairs[k];
    }
    uint32_t w = (uint32_t)v;
    while (w >= 100) {
        uint32_t k = (w % 100) * 2;
        w /= 100;
        AC_ASSERT(n >= 2);
        tmp[--n] = pairs[k + 1];
        tmp[--n] = pairs[k];
    }
    AC_ASSERT(n >= 2);
    if (w >= 10) {
        tmp[--n] = pairs[w * 2 + 1];
        tmp[--n] = pairs[w * 2];
    } else {
        tmp[--n] = (char)('0' + w);
    }
    memcpy(buf, tmp + n, sizeof tmp - n);
    return sizeof tmp - n;
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
        char d[SERIAL_DIGITS_MAX + 1]; /* a u64's digits, or '-' and an i64's */
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
            uint64_t mag = v < 0 ? 0u - (uint64_t)v : (uint64_t)v;
            d[0] = '-';
            size_t n = (v < 0) + text_u64(mag, d + (v < 0));
            tf_field(&o, d, n, width, left);
            break;
        }
        case 'u': {
            if (have_prec) goto fallback;
            unsigned long long v = lng == 2   ? va_arg(ap, unsigned long long)
                                   : lng == 1 ? va_arg(ap, unsigned long)
                                   : lng == 3 ? va_arg(ap, size_t)
                                              : va_arg(ap, unsigned int);
            tf_field(&o, d, text_u64(v, d), width, left);
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
