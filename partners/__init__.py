"""Trading-partner connectivity: partners, transports (SFTP, AS2, HTTP), delivery ledger.

Features F7 (partner exchange) and F8 (FMD hub upload); see docs/partners.md.
"""
