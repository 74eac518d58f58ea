"""Verification responder, requestor and query log (F9)."""
