/* text.h — one line of text made safe for a terminal: every error line that echoes what a
 * user typed (an argument, an environment value, a scenario line, a file name) goes through
 * text_escape before it is printed, so a control character in it shows as \xHH instead of
 * moving the cursor, changing colours or starting a second line. */
#ifndef ALICHAIN_TEXT_H
#define ALICHAIN_TEXT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* Copies in to out[cap] (cap >= 1; always NUL-terminated, cut at cap) with each byte below
 * 0x20 and 0x7F written as \xHH; other bytes (UTF-8 included) as they are. Returns the
 * length written. */
size_t text_escape(const char *in, char *out, size_t cap);

/* v in decimal at buf (room for SERIAL_DIGITS_MAX = 20 digits, no NUL written); returns the
 * digits written. Two digits a division, 32-bit divisions below 2^32: a TXLIST formats two
 * numbers a line, millions of lines (tx_format), and every screen line its numbers. */
size_t text_u64(uint64_t v, char *buf);

/* vsnprintf(buf, cap, fmt, ap) (cap >= 1), returning the length written (at most cap - 1),
 * not the length wanted. The conversions the core's lines use are done here, without
 * stdio's machinery (formatting serverM's screen lines was 13 % of the simulator's
 * instructions): %s %c %d %i %u with the lengths l, ll, z, the flag '-', a width and a
 * precision for %s, given as digits or '*', and %%. Any other conversion or flag hands the
 * whole line to vsnprintf, so the output is vsnprintf's in every case (test_text.c compares
 * the two). */
size_t text_vformat(char *buf, size_t cap, const char *fmt, va_list ap);

#endif
