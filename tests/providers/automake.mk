# tests/providers/: providers that exist only for tests of provider selection
# (tests/functional/providers.sh).  Built by `make check`, never installed;
# -rpath makes libtool build a shared module that is not installed.
check_LTLIBRARIES += tests/providers/testa.la tests/providers/testb.la
TEST_PROVIDER_LDFLAGS = -module -avoid-version -shared -rpath /nowhere \
	-export-symbols-regex '^vn_provider_entry$$'

tests_providers_testa_la_SOURCES = tests/providers/test_provider.c
tests_providers_testa_la_CPPFLAGS = $(AM_CPPFLAGS) -DTEST_PROVIDER_NAME='"testa"'
tests_providers_testa_la_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden
tests_providers_testa_la_LDFLAGS = $(TEST_PROVIDER_LDFLAGS)

tests_providers_testb_la_SOURCES = tests/providers/test_provider.c
tests_providers_testb_la_CPPFLAGS = $(AM_CPPFLAGS) -DTEST_PROVIDER_NAME='"testb"'
tests_providers_testb_la_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden
tests_providers_testb_la_LDFLAGS = $(TEST_PROVIDER_LDFLAGS)
