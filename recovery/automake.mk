# recovery/: the recovery store (one JSON file per device, atomic writes).
noinst_LTLIBRARIES += recovery/librecovery.la
recovery_librecovery_la_SOURCES = recovery/recovery.c recovery/recovery.h
recovery_librecovery_la_LIBADD = lib/libvirtnet.la
