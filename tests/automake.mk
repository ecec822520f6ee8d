# tests/: unit tests (cmocka) and functional tests (the real daemon, driven
# through `virtnet` and raw JSON-RPC).  `make check` runs both.
include tests/unit/automake.mk
include tests/providers/automake.mk
include tests/functional/automake.mk
include tests/fuzz/automake.mk
