# bench/: benchmarks (run by hand; figures in docs/).
noinst_PROGRAMS += bench/tap_floor
bench_tap_floor_SOURCES = bench/tap_floor.c
EXTRA_DIST += bench/control_plane.sh
