# tests/guest.mk — tests of the guest agent and image (included by guest/part.mk).

GUEST_UNIT_SRCS := guest/acks.c guest/json.c guest/judge.c guest/record.c guest/verdict.c \
                   guest/verifyset.c

SAN_PROGRAMS += $(SAN)/guest/test-record

$(SAN)/guest/test-record: tests/guest-unit.c $(GUEST_UNIT_SRCS) $(GUEST_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) $(SANFLAGS) -Iguest -o $@ tests/guest-unit.c $(GUEST_UNIT_SRCS) -lcunit

CHECKS += $(SAN)/guest/test-record tests/guest-host.sh tests/guest-vm.sh
