# tests/: unit tests (cmocka) and functional tests (the real daemon, driven
# through `virtnet` and raw JSON-RPC).  `make check` runs both.
include tests/unit/automake.mk
include tests/providers/automake.mk
include tests/functional/automake.mk
include tests/fuzz/automake.mk

# The package test: build.sh check runs it once, outside make check (it
# builds the Debian packages and installs them in a debootstrapped root).
EXTRA_DIST += tests/package/deb.sh
