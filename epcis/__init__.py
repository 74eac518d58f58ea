"""EPCIS output for Serialtrace: the event model, the EPCIS 1.2 XML writer (GS1 US DSCSA
profile) and validation against the official GS1 XSDs. See ``docs/epcis.md``.

Modules: :mod:`epcis.model`, :mod:`epcis.neutral`, :mod:`epcis.writers`, :mod:`epcis.validate`.
"""
