#!/usr/bin/env bash
# Draws publish-to-delivery latency (p50, p99) against the arrival rate from
# RESULTS_DIR/paced.dat (written by report.js) as an SVG, with gnuplot.
#   bench/plot.sh RESULTS_DIR OUTPUT.svg
set -euo pipefail
data=$1/paced.dat
[[ -s "$data" ]] || { echo "plot.sh: $data is empty, no paced rows to plot" >&2; exit 0; }
gnuplot <<GP
set terminal svg size 640,400 dynamic font "sans,12" background "white"
set output "$2"
set title "hookgate publish-to-delivery latency (measured at the sink)"
set xlabel "arrival rate (events/s, open model)"
set ylabel "latency (ms, log scale)"
set logscale y
set key top left
set grid
set xrange [0:*]
plot "$data" using 1:2 with linespoints lw 2 pt 7 title "p50", \
     "$data" using 1:3 with linespoints lw 2 pt 5 title "p99"
GP
