-- The fingerprint of every work order as of the last successful build: built last (it
-- depends on every batch-incremental model, so a failed model or test skips it and the
-- next build picks the same work orders up again). int_batch_fingerprints compares
-- against it.
-- depends_on: {{ ref('serial_lifecycle') }}
-- depends_on: {{ ref('serial_status_history') }}
-- depends_on: {{ ref('batch_quality') }}
-- depends_on: {{ ref('containers') }}
-- depends_on: {{ ref('aggregation_hierarchy') }}
select
    work_order_id,
    fingerprint,
    current_timestamp as built_at

from {{ ref('int_batch_fingerprints') }}
where fingerprint is not null
