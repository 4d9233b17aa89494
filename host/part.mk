# host/part.mk — filled in by the host part.
