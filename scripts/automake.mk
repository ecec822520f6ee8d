# scripts/: packaging, guest image builder, demo.
EXTRA_DIST += scripts/build-deb.sh
