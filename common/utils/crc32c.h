/* pmemcut — CRC-32C (Castagnoli), the checksum of data-log frames. */
#ifndef PMEMCUT_CRC32C_H
#define PMEMCUT_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* pm_crc32c(0, p, n) for a whole buffer; pass the previous result to continue. */
uint32_t pm_crc32c(uint32_t crc, const void *p, size_t n);

/* The CRC-32C of the first `bytes` bytes of fd (from offset 0; what the
 * host and a restored guest compare of the device).  0, or -1 with errno
 * (0 when the file ended first) and *at where the read failed. */
int pm_crc32c_fd(int fd, uint64_t bytes, uint32_t *crc, uint64_t *at);

#endif
