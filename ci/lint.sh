#!/usr/bin/env bash
# lint.sh — proves core/ is pure: no sockets, clocks, randomness, printing, exiting or
# process control. Comments and string literals are stripped before matching, so a word in
# a message does not count; a real call does. Exit 1 with the offending lines.
set -uo pipefail
cd "$(dirname "$0")/.."

banned_calls='socket|bind|listen|accept|connect|send|sendto|sendmsg|recv|recvfrom|recvmsg|poll|select|epoll_[a-z_]+|read|write|open|close|fopen|fclose|fread|fwrite|fflush|fsync|fdatasync|time|clock_gettime|gettimeofday|clock|sleep|usleep|nanosleep|rand|srand|random|srandom|getrandom|arc4random|printf|fprintf|vprintf|vfprintf|dprintf|puts|fputs|putchar|fputc|perror|exit|_exit|_Exit|abort|getenv|setenv|signal|sigaction|kill|raise|fork|exec[lv]p?e?|system|getpid'
banned_words='stdin|stdout|stderr'
banned_headers='sys/socket|sys/time|sys/stat|sys/types|sys/wait|netinet/[a-z_]+|arpa/inet|poll|time|unistd|fcntl|signal|netdb|pthread|threads'

bad=0
for f in core/*.c core/*.h; do
  # strip /* */ comments (also multi-line), // comments, "strings" and 'c' literals
  stripped=$(perl -0777 -pe 's{/\*.*?\*/}{my $c=$&; $c=~s/[^\n]//g; $c}gse; s{//[^\n]*}{}g; s{"(?:\\.|[^"\\\n])*"}{""}g; s{'"'"'(?:\\.|[^'"'"'\\\n])'"'"'}{0}g' "$f")
  hits=$(printf '%s\n' "$stripped" | grep -nE "(^|[^A-Za-z0-9_.>])($banned_calls)[[:space:]]*\(" || true)
  if [ -n "$hits" ]; then echo "$hits" | sed "s|^|$f:|"; echo "lint: $f calls a forbidden function"; bad=1; fi
  hits=$(printf '%s\n' "$stripped" | grep -nE "(^|[^A-Za-z0-9_])($banned_words)([^A-Za-z0-9_]|$)" || true)
  if [ -n "$hits" ]; then echo "$hits" | sed "s|^|$f:|"; echo "lint: $f touches a standard stream"; bad=1; fi
  hits=$(grep -nE "#[[:space:]]*include[[:space:]]*<($banned_headers)\.h>" "$f" || true)
  if [ -n "$hits" ]; then echo "$hits" | sed "s|^|$f:|"; echo "lint: $f includes an I/O, time or process header"; bad=1; fi
done
[ $bad -eq 0 ] || exit 1
echo "lint: core/ is pure ($(ls core/*.c core/*.h | wc -l) files checked)"
