"""Trading-partner connectivity: partners, transports (SFTP, AS2, HTTP), delivery ledger (F7, F8)."""
