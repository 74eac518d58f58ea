"""ERP / MES integration: connectors in (SAP IDoc and OData, Oracle CSV and REST, MES),
release gating, write-back and reconciliation reports out. See docs/erp.md."""
