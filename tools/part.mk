# tools/part.mk
