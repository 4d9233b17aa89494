# guest/part.mk — filled in by the guest part.
