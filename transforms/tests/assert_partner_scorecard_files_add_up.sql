-- Every outbound file of a partner is in exactly one of the scorecard's status columns.
select *
from {{ ref('partner_scorecard') }}
where files_acknowledged + files_rejected + files_failed + files_pending != files_sent
