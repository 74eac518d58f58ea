"""Device adapters: one small interface per device kind, one file per vendor dialect."""
