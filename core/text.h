/* text.h — one line of text made safe for a terminal: every error line that echoes what a
 * user typed (an argument, an environment value, a scenario line, a file name) goes through
 * text_escape before it is printed, so a control character in it shows as \xHH instead of
 * moving the cursor, changing colours or starting a second line. */
#ifndef ALICHAIN_TEXT_H
#define ALICHAIN_TEXT_H

#include <stddef.h>

/* Copies in to out[cap] (cap >= 1; always NUL-terminated, cut at cap) with each byte below
 * 0x20 and 0x7F written as \xHH; other bytes (UTF-8 included) as they are. Returns the
 * length written. */
size_t text_escape(const char *in, char *out, size_t cap);

#endif
