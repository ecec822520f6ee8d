# conf/: sample configuration, provider files, systemd unit, bash completion.
EXTRA_DIST += conf/virtnet.conf conf/virtio-net-controller.service.in \
	conf/providers/sw.provider conf/providers/ace.provider conf/providers/dpa.provider

bashcompletiondir = $(datadir)/bash-completion/completions
dist_bashcompletion_DATA = conf/completion/virtnet

systemdunit_DATA = conf/virtio-net-controller.service
CLEANFILES += conf/virtio-net-controller.service
conf/virtio-net-controller.service: conf/virtio-net-controller.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) conf && sed -e 's|@sbindir[@]|$(sbindir)|g' $< >$@

# The sample is installed as an example: `make install` never overwrites an
# operator's virtnet.conf.
virtnetexampledir = $(docdir)/examples
virtnetexample_DATA = conf/virtnet.conf
