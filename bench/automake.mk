# bench/: benchmarks (run by hand; figures in docs/).
noinst_PROGRAMS += bench/tap_floor
bench_tap_floor_SOURCES = bench/tap_floor.c
EXTRA_DIST += bench/control_plane.sh
noinst_PROGRAMS += bench/dp_floor
bench_dp_floor_SOURCES = bench/dp_floor.c
bench_dp_floor_LDADD = $(URING_LIBS)
bench_dp_floor_CFLAGS = $(AM_CFLAGS) $(URING_CFLAGS)
EXTRA_DIST += bench/dp_bench.sh bench/update_bench.sh bench/crash_bench.sh bench/soak.sh bench/soak.py bench/rx_bench.sh bench/bench_lib.sh \
	bench/migrate_bench.sh
noinst_PROGRAMS += bench/log_bench
bench_log_bench_SOURCES = bench/log_bench.c
bench_log_bench_LDADD = lib/libvirtnet.la
