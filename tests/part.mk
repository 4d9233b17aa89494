# tests/part.mk — unit tests (CUnit, sanitizer build) and integration tests
# of the device.  Other parts add their own runners in their fragments.

$(SAN)/tests/test-model: tests/unit/test-model.c $(CORE_SRC) plugin/model.h plugin/pool.h
	@mkdir -p $(@D)
	$(CC) -std=gnu11 $(WARN) $(SANFLAGS) -D_GNU_SOURCE -pthread -Iplugin -o $@ tests/unit/test-model.c $(CORE_SRC) -lcunit -lm

$(SAN)/tests/test-pool: tests/unit/test-pool.c plugin/pool.c plugin/pool.h
	@mkdir -p $(@D)
	$(CC) -std=gnu11 $(WARN) $(SANFLAGS) -D_GNU_SOURCE -pthread -Iplugin -o $@ tests/unit/test-pool.c plugin/pool.c -lcunit

$(SAN)/tests/nbd-client: tests/nbd-client.c
	@mkdir -p $(@D)
	$(CC) -std=gnu11 $(WARN) $(SANFLAGS) -D_GNU_SOURCE -o $@ $< -lnbd

SAN_PROGRAMS += $(SAN)/tests/test-model $(SAN)/tests/test-pool $(SAN)/tests/nbd-client
CHECKS += $(SAN)/tests/test-model $(SAN)/tests/test-pool tests/device.sh tests/device-parallel.sh
BENCHES += tests/bench-device.sh
