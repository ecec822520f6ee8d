# tests/compat/: the vendor's documented examples (config files, provider
# files, recovery records, every CLI example of its README) fed verbatim to
# the real controller, and its documented outputs checked (docs/compat.md).
COMPAT_TESTS = \
	tests/compat/stats.sh \
	tests/compat/cli_readme.sh \
	tests/compat/config.sh \
	tests/compat/mac.sh \
	tests/compat/recovery.sh \
	tests/compat/reload.sh \
	tests/compat/unplug.sh
TESTS += $(COMPAT_TESTS)
EXTRA_DIST += $(COMPAT_TESTS) tests/compat/lib.sh
