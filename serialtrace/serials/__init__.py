"""Serial number pools and the durable issued-serial ledger."""
