# tools/audit.mk — pmemcut-audit and pmemcut-replay (audit tools).
