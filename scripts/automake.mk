# scripts/: packaging, guest image builder, demo.
EXTRA_DIST += scripts/build-deb.sh scripts/build-guest.sh scripts/run-guest.sh scripts/demo-guest.sh
