# plugin/part.mk
