#!/usr/bin/env bash
# lint.sh [DIR] — proves core/ (or DIR, a copy of it) is pure: no sockets, clocks,
# randomness, printing, exiting or process control, and no header from outside it.
# Three checks, each printing every offence with its file or object; exit 1 if any fired:
#  1. source greps (comments and string literals stripped, so a word in a message does not
#     count; a real call does): forbidden calls, standard streams, I/O/time/process headers;
#  2. includes: a quoted include must name a header of DIR itself (no directory, no ../),
#     an angle include must not climb out (no ../, no absolute path), and every header the
#     compiler actually read must be in DIR or in the compiler's system include directories;
#  3. symbols: every .c of DIR is compiled on its own with plain flags (-O0, so a call in
#     a static function nobody calls stays in the object; no coverage, sanitizer, fortify
#     or stack protector, so the object holds only the calls the source makes) into
#     build/lint/ (a temporary directory for another DIR), once as shipped and once with
#     -DALICHAIN_MUTANTS, and `nm -u` of each object must name only functions defined in
#     DIR or in the allow-list of pure libc functions below.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$root/core}
if [ ! -d "$dir" ]; then echo "lint: $dir is not a directory" >&2; exit 2; fi
dir=$(cd "$dir" && pwd)
case "$dir/" in "$root"/*) label=${dir#"$root"/} ;; *) label=$dir ;; esac
cc=${CC:-gcc}

shopt -s nullglob
sources=("$dir"/*.c)
files=("$dir"/*.c "$dir"/*.h)
if [ ${#sources[@]} -eq 0 ]; then echo "lint: no .c file in $label" >&2; exit 2; fi

# ---- 1. source greps --------------------------------------------------------------------
banned_calls='socket|bind|listen|accept|connect|send|sendto|sendmsg|recv|recvfrom|recvmsg|poll|select|epoll_[a-z_]+|read|write|open|close|fopen|fclose|fread|fwrite|fflush|fsync|fdatasync|time|clock_gettime|gettimeofday|clock|sleep|usleep|nanosleep|rand|srand|random|srandom|getrandom|arc4random|printf|fprintf|vprintf|vfprintf|dprintf|puts|fputs|putchar|fputc|perror|exit|_exit|_Exit|abort|getenv|setenv|signal|sigaction|kill|raise|fork|exec[lv]p?e?|system|getpid'
banned_words='stdin|stdout|stderr'
banned_headers='sys/socket|sys/time|sys/stat|sys/types|sys/wait|netinet/[a-z_]+|arpa/inet|poll|time|unistd|fcntl|signal|netdb|pthread|threads'

# strip_comments FILE: FILE without /* */ (newlines kept, so line numbers hold) and // comments.
strip_comments() {
  perl -0777 -pe 's{/\*.*?\*/}{my $c=$&; $c=~s/[^\n]//g; $c}gse; s{//[^\n]*}{}g' "$1"
}

bad=0
for f in "${files[@]}"; do
  name="$label/${f##*/}"
  stripped=$(strip_comments "$f" | perl -pe 's{"(?:\\.|[^"\\\n])*"}{""}g; s{'"'"'(?:\\.|[^'"'"'\\\n])'"'"'}{0}g')
  hits=$(printf '%s\n' "$stripped" | grep -nE "(^|[^A-Za-z0-9_.>])($banned_calls)[[:space:]]*\(" || true)
  if [ -n "$hits" ]; then echo "$hits" | sed "s|^|$name:|"; echo "lint: $name calls a forbidden function"; bad=1; fi
  hits=$(printf '%s\n' "$stripped" | grep -nE "(^|[^A-Za-z0-9_])($banned_words)([^A-Za-z0-9_]|$)" || true)
  if [ -n "$hits" ]; then echo "$hits" | sed "s|^|$name:|"; echo "lint: $name touches a standard stream"; bad=1; fi
  hits=$(grep -nE "#[[:space:]]*include[[:space:]]*<($banned_headers)\.h>" "$f" || true)
  if [ -n "$hits" ]; then echo "$hits" | sed "s|^|$name:|"; echo "lint: $name includes an I/O, time or process header"; bad=1; fi
done

# ---- 2. includes, as written ------------------------------------------------------------
for f in "${files[@]}"; do
  name="$label/${f##*/}"
  while IFS=$'\t' read -r line kind header; do
    if [ "$kind" = '"' ]; then
      case "$header" in
        */*|*\\*) echo "$name:$line: lint: #include \"$header\" names a path; core includes only its own headers"; bad=1 ;;
        *) if [ ! -f "$dir/$header" ]; then
             echo "$name:$line: lint: #include \"$header\": $header is not a header of $label"; bad=1
           fi ;;
      esac
    else
      case "$header" in
        /*|*..*) echo "$name:$line: lint: #include <$header> reaches outside $label and the system headers"; bad=1 ;;
      esac
    fi
  done < <(strip_comments "$f" | perl -ne 'print "$.\t$1\t$2\n" if /^\s*#\s*include\s*(["<])([^">]*)[">]/')
done

# ---- 3. symbols of objects compiled on their own ----------------------------------------
# The pure libc functions core may call: the ones core/ calls today, read from its objects,
# and their obvious siblings. Any other name is refused until it is added here with its
# reason, and nothing that touches files, streams, time, randomness, processes, the
# environment or exit can have one.
#   memory bytes, caller-owned:   memcpy memmove memset memcmp memchr (also what the
#                                 compiler emits for struct copies and zeroing)
#   read-only string scans:       strlen strcmp strchr
#   formatting into a caller's buffer (never a stream): snprintf vsnprintf
#   heap, for core's objects and growing tables (no I/O; failure is a return value):
#                                 malloc calloc realloc free
#   sorting and searching caller arrays with a caller comparator: qsort bsearch
#   __assert_fail: the failure path of AC_ASSERT/ALWAYS/NEVER, our own bugs only; it is
#                  the one way core may stop the process, and must stay (assertions live).
allowed='memcpy memmove memset memcmp memchr strlen strcmp strchr snprintf vsnprintf malloc calloc realloc free qsort bsearch __assert_fail'

if [ "$dir" = "$root/core" ]; then
  objdir=$root/build/lint
else
  objdir=$(mktemp -d "${TMPDIR:-/tmp}/alichain-lint.XXXXXX") || exit 2
  trap 'rm -rf "$objdir"' EXIT
fi
# Headers the compiler finds without any -I: the only ones outside DIR core may read.
sysdirs=$("$cc" -xc -E -v /dev/null 2>&1 >/dev/null |
          sed -n '/^#include <...> search starts here:/,/^End of search list/p' |
          sed -n 's/^ \(\/.*\)$/\1/p' | while read -r d; do realpath -m "$d"; done)
if [ -z "$sysdirs" ]; then echo "lint: cannot ask $cc for its system include directories" >&2; exit 2; fi
flags=(-std=c11 -O0 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -U_FORTIFY_SOURCE
       -fno-stack-protector -fno-sanitize=all -I"$dir")

reported=' '
for variant in plain mutants; do
  out=$objdir/$variant
  mkdir -p "$out"
  rm -f "$out"/*.o "$out"/*.d
  extra=()
  [ "$variant" = mutants ] && extra=(-DALICHAIN_MUTANTS)
  objs=()
  compiled=1
  for f in "${sources[@]}"; do
    base=${f##*/}
    o=$out/${base%.c}.o
    if ! msg=$("$cc" "${flags[@]}" "${extra[@]}" -MD -MF "$out/${base%.c}.d" -c "$f" -o "$o" 2>&1); then
      printf '%s\n' "$msg"
      echo "lint: $label/$base does not compile on its own ($variant)"; bad=1; compiled=0
      continue
    fi
    objs+=("$o")
    # every header the compiler read: in DIR, or a system header
    for dep in $(sed -e 's/\\$//' -e '1s/^[^:]*://' "$out/${base%.c}.d" | xargs realpath -m --); do
      case "$dep" in "$dir"/*) continue ;; esac
      ok=0
      for s in $sysdirs; do case "$dep" in "$s"/*) ok=1; break ;; esac; done
      [ $ok -eq 1 ] && continue
      echo "lint: $label/$base reads $dep, outside $label and the system headers ($variant)"; bad=1
    done
  done
  # a missing object would make its functions look foreign in every other object
  if [ $compiled -eq 0 ]; then echo "lint: symbols of $label not checked ($variant): fix the build first"; continue; fi
  defined=" $(nm --defined-only -g "${objs[@]}" | awk 'NF == 3 { print $3 }' | sort -u | tr '\n' ' ') "
  for o in "${objs[@]}"; do
    base=${o##*/}
    for sym in $(nm -u "$o" | awk '{ print $NF }'); do
      case "$defined" in *" $sym "*) continue ;; esac
      case " $allowed " in *" $sym "*) continue ;; esac
      case "$reported" in *" $base:$sym "*) continue ;; esac  # once, not per variant
      reported+="$base:$sym "
      echo "lint: $label/${base%.o}.c calls $sym (nm -u ${o#"$root"/}): not a pure libc function"
      bad=1
    done
  done
done

[ $bad -eq 0 ] || exit 1
echo "lint: $label is pure (${#files[@]} files checked; symbols of ${#sources[@]} objects against ${allowed// /,})"
