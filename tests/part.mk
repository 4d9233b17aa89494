# tests/part.mk
