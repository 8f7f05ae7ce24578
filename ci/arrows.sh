#!/usr/bin/env bash
# arrows.sh [ROOT] — the harness's rooms keep their arrows (sim/README.md). Every quoted
# #include of sim/<room>/, net/, bench/ and fuzz/ is resolved the way the compiler does it
# (the including file's own directory first, then core/ and sim/ as -Icore -Isim) and must
# land in a room the including room may use:
#
#   proc, scenario          -> (core only)
#   judge                   -> scenario
#   world                   -> judge scenario proc
#   hosts                   -> scenario proc   (the relay draws the simulator's UDP faults: udp_fate.h)
#   real                    -> judge scenario world hosts proc   (compare runs the simulator)
#   swarm                   -> world judge scenario proc
#   cmd                     -> every room
#   net                     -> (core only: the real programs never link the harness)
#   bench                   -> proc
#   fuzz                    -> every room but cmd
#
# Also sim/lib.sources, the one source list of the simulator library: every .c of a room
# (cmd/ excepted) is listed, every listed file exists, and none defines main().
# Prints every offence with file:line; exit 1 if any, 2 on bad usage. ROOT defaults to the
# repository (tests/lint plants offences in a copy).
set -uo pipefail
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
[ -d "$root/sim" ] && [ -d "$root/core" ] || { echo "arrows: $root has no sim/ and core/" >&2; exit 2; }
root=$(cd "$root" && pwd)

declare -A allow=(
  [proc]="" [scenario]="" [judge]="scenario" [world]="judge scenario proc" [hosts]="scenario proc"
  [real]="judge scenario world hosts proc" [swarm]="world judge scenario proc"
  [cmd]="proc scenario judge world hosts real swarm"
  [net]="" [bench]="proc" [fuzz]="proc scenario judge world hosts real swarm"
)
rooms=" proc scenario judge world hosts real swarm cmd "

bad=0
offence() { echo "$1"; bad=1; }

# Every sim/<dir>/ must be a room we know: a new room needs its arrows written down here.
for d in "$root"/sim/*/; do
  r=$(basename "$d")
  [ "$r" = scenarios ] && continue
  case "$rooms" in *" $r "*) ;; *) offence "sim/$r/: a room without arrows (add it to ci/arrows.sh and sim/README.md)" ;; esac
done

# check_file FILE ROOM: each quoted include of FILE resolves inside ROOM's allowance.
check_file() {
  local f=$1 room=$2 rel=${1#"$root"/} dir line inc target q
  dir=$(dirname "$f")
  while IFS=$'\t' read -r line inc; do
    case "$inc" in
      *..*|/*) offence "$rel:$line: #include \"$inc\" climbs out of its room"; continue ;;
    esac
    if [ -f "$dir/$inc" ]; then continue; fi                  # the room's own header
    case "$inc" in
      */*)
        q=${inc%%/*}
        case "$rooms" in *" $q "*) ;; *) offence "$rel:$line: #include \"$inc\": $q is not a room of sim/"; continue ;; esac
        target=$root/sim/$inc
        if [ ! -f "$target" ]; then offence "$rel:$line: #include \"$inc\": no such header"; continue; fi
        case " ${allow[$room]} " in
          *" $q "*) ;;
          *) offence "$rel:$line: #include \"$inc\": $room may not include $q (arrows: $room -> ${allow[$room]:-core only})" ;;
        esac ;;
      *)
        [ -f "$root/core/$inc" ] || offence "$rel:$line: #include \"$inc\": not in $(basename "$dir")/ nor core/ (another room's header is \"room/$inc\")" ;;
    esac
  done < <(perl -0777 -pe 's{/\*.*?\*/}{my $c=$&; $c=~s/[^\n]//g; $c}gse; s{//[^\n]*}{}g' "$f" |
           perl -ne 'print "$.\t$1\n" if /^\s*#\s*include\s*"([^"]*)"/')
}

shopt -s nullglob
for r in $rooms; do
  for f in "$root"/sim/"$r"/*.[ch]; do check_file "$f" "$r"; done
done
for r in net bench fuzz; do
  for f in "$root"/"$r"/*.[ch]; do check_file "$f" "$r"; done
done

# ---- the one source list ----
list=$root/sim/lib.sources
if [ ! -f "$list" ]; then
  offence "sim/lib.sources is missing"
else
  listed=" $(sed -e 's/#.*//' "$list" | tr -s ' \t\n' ' ') "
  for p in $listed; do
    if [ ! -f "$root/$p" ]; then offence "sim/lib.sources: $p does not exist"; continue; fi
    case "$p" in sim/cmd/*) offence "sim/lib.sources: $p is a main of sim/cmd/, not library" ;; esac
    if perl -0777 -ne 'exit(/^\s*int\s+main\s*\(/m ? 0 : 1)' "$root/$p"; then
      offence "sim/lib.sources: $p defines main(): mains live in sim/cmd/"
    fi
  done
  for f in "$root"/sim/*/*.c; do
    p=${f#"$root"/}
    case "$p" in sim/cmd/*) continue ;; esac
    case "$listed" in *" $p "*) ;; *) offence "sim/lib.sources: $p is not listed (a library source nobody would build)" ;; esac
  done
fi

[ $bad -eq 0 ] || { echo "arrows: the rooms' arrows are broken (ci/arrows.sh)"; exit 1; }
echo "arrows: every include of sim/, net/, bench/, fuzz/ follows the rooms' arrows; sim/lib.sources lists the library"
