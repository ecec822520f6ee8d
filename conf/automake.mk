# conf/: sample configuration, provider files, systemd unit, bash completion.
EXTRA_DIST += conf/virtnet.conf
