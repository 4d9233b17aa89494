/* pmemcut — CRC-32C (Castagnoli), the checksum of data-log frames. */
#ifndef PMEMCUT_CRC32C_H
#define PMEMCUT_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* pm_crc32c(0, p, n) for a whole buffer; pass the previous result to continue. */
uint32_t pm_crc32c(uint32_t crc, const void *p, size_t n);

#endif
