"""The hooks other apps use to follow the counts, so petitions never imports them.

Each signal is sent with `Signal.send` (not `send_robust`) inside the counter pass's
transaction and under its advisory lock: a receiver's writes commit or roll back with the
pass, and a receiver's exception aborts the pass, as a direct call would.
"""

from django.dispatch import Signal

# After a counter pass has flipped `counted` and updated the petition counts.
# Arguments: changes (list[petitions.counting.SignatureCountChange]; may be empty).
signature_counts_changed = Signal()

# Once per milestone, when a counter pass records that it has been reached.
# Arguments: milestone (petitions.models.Milestone).
milestone_reached = Signal()

# After the nightly recount has corrected the petition counts.
# Arguments: petition_ids (list[int], or None for every petition).
signature_counts_recounted = Signal()
