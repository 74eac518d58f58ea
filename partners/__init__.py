"""Trading-partner connectivity: partners, transports (SFTP, AS2, HTTP), delivery ledger.

Capabilities F7 and F8 (upload)."""
