# install.mk — `make install` and `make uninstall` (tools/install.sh does
# the work and keeps the list of what it installed).
#
#   PREFIX            default /usr/local: programs in PREFIX/bin, man pages
#                     in PREFIX/share/man/man1, and in PREFIX/lib/pmemcut
#                     the agent, the guest image and the kernel it boots
#                     (pmemcut-host looks there, next to its own bin/)
#   NBDKIT_PLUGINDIR  default nbdkit's own (pkg-config), where
#                     `nbdkit pmemcut ...` finds the plugin; outside PREFIX
#   DESTDIR           prepended to every path, for staging or packaging
#
# install builds what is missing first, the guest image included.

PREFIX           ?= /usr/local
NBDKIT_PLUGINDIR ?= $(shell pkg-config --variable=plugindir nbdkit 2>/dev/null)
INSTALL_ENV = PREFIX='$(PREFIX)' DESTDIR='$(DESTDIR)' NBDKIT_PLUGINDIR='$(NBDKIT_PLUGINDIR)' \
              BUILD='$(BUILD)'

.PHONY: install uninstall
install: all $(GUEST_IMAGE)
	@$(INSTALL_ENV) tools/install.sh install

uninstall:
	@$(INSTALL_ENV) tools/install.sh uninstall
