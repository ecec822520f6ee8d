# tests/unit/: cmocka unit tests of lib/ and controller internals.
