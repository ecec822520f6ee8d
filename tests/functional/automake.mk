# tests/functional/: shell tests that start the real daemon in a temp dir.
