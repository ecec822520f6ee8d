# cli/: the `virtnet` command-line client.
bin_PROGRAMS += cli/virtnet
cli_virtnet_SOURCES = cli/virtnet.c
cli_virtnet_LDADD = lib/libvirtnet.la $(CJSON_LIBS)
