# plot.gp — draws docs/benchmarks.svg from the .dat files bench/report.py wrote into
# `data` (gnuplot -e "data='build/bench'" bench/plot.gp > docs/benchmarks.svg): throughput
# and p99 against connections and against ledger size, one-shot and persistent (p-), each
# with its floor.
if (!exists("data")) data = "build/bench"
load data."/sizes.gp"
pbase = 4 + 2*nsizes        # conns.dat: the persistent floor's rate column
set terminal svg size 1100,850 dynamic font "sans,11" background "white"
set multiplot layout 2,2 title "alichain-bench: one-shot and persistent (p-) TCP, every answer verified (dashed: floors of this machine)"
set grid
set key top left font ",8"
set logscale x 2
set xtics (1, 8, 64)
set xrange [0.8:80]
set xlabel "connections"

set title "balance throughput vs connections"
set ylabel "ops/s"
set logscale y
plot data."/conns.dat" using 1:2 with linespoints dt 2 lw 2 lc "black" title "minimal one-shot server", \
     data."/conns.dat" using 1:(column(pbase)) with linespoints dt 2 lw 2 lc "gray" title "minimal persistent server", \
     for [i=0:nsizes-1] data."/conns.dat" using 1:(column(4+2*i)) with linespoints lw 2 title "balance, ".word(sizelabels, i+1)." txs", \
     for [i=0:nsizes-1] data."/conns.dat" using 1:(column(pbase+2+2*i)) with linespoints lw 2 pt 7 title "p-balance, ".word(sizelabels, i+1)." txs"

set title "balance p99 vs connections"
set ylabel "p99 (ms)"
set yrange [*:*]
plot data."/conns.dat" using 1:3 with linespoints dt 2 lw 2 lc "black" title "minimal one-shot server", \
     data."/conns.dat" using 1:(column(pbase+1)) with linespoints dt 2 lw 2 lc "gray" title "minimal persistent server", \
     for [i=0:nsizes-1] data."/conns.dat" using 1:(column(5+2*i)) with linespoints lw 2 title "balance, ".word(sizelabels, i+1)." txs", \
     for [i=0:nsizes-1] data."/conns.dat" using 1:(column(pbase+3+2*i)) with linespoints lw 2 pt 7 title "p-balance, ".word(sizelabels, i+1)." txs"

set logscale x 10
set xtics auto
set xrange [*:*]
set format x "10^{%T}"
set xlabel "transactions in the ledger"

set title "throughput at 64 connections vs ledger size"
set ylabel "ops/s"
plot data."/sizes.dat" using 1:6 with lines dt 2 lw 2 lc "black" title "minimal one-shot server", \
     data."/sizes.dat" using 1:15 with lines dt 2 lw 2 lc "gray" title "minimal persistent server", \
     data."/sizes.dat" using 1:7 with lines dt 3 lw 2 lc "red" title "append+fdatasync, one at a time", \
     data."/sizes.dat" using 1:2 with linespoints lw 2 title "balance", \
     data."/sizes.dat" using 1:3 with linespoints lw 2 title "transfer (durable)", \
     data."/sizes.dat" using 1:4 with linespoints lw 2 title "mix 90/10", \
     data."/sizes.dat" using 1:5 with linespoints lw 2 title "hot sender (8 senders)", \
     data."/sizes.dat" using 1:13 with linespoints lw 2 pt 7 title "p-balance", \
     data."/sizes.dat" using 1:14 with linespoints lw 2 pt 7 title "p-transfer (durable)", \
     data."/sizes.dat" using 1:18 with linespoints lw 2 pt 7 title "p-hot"

set title "latency vs ledger size"
set ylabel "ms"
plot data."/sizes.dat" using 1:11 with lines dt 2 lw 2 lc "black" title "minimal server p99, 64 conns", \
     data."/sizes.dat" using 1:8 with linespoints lw 2 title "balance p99, 1 conn", \
     data."/sizes.dat" using 1:9 with linespoints lw 2 title "balance p99, 64 conns", \
     data."/sizes.dat" using 1:10 with linespoints lw 2 title "balance p99 while TXLISTs run", \
     data."/sizes.dat" using 1:12 with linespoints lw 2 title "TXLIST p50, 1 conn", \
     data."/sizes.dat" using 1:17 with linespoints lw 2 pt 7 title "p-balance p99, 64 conns", \
     data."/sizes.dat" using 1:16 with linespoints lw 2 pt 7 title "p-balance p99 while TXLISTs run"
unset multiplot
