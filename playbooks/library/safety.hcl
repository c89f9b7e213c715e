# Northwind Energy safety policy (set by the OT cyber safety committee).
#
# Nothing that isolates a zone or cuts a conduit runs without one process-safety
# engineer AND one OT operations engineer signing off, neither of them the
# person who opened the incident. A sign-off is good for 15 minutes.

safety {
  # Reconnecting a zone is as safety-critical as cutting it: every restore
  # needs a sign-off that names it (for = [step.NAME]); the isolation's
  # sign-off does not carry over.
  restore_needs_own_signoff = true

  signoff {
    rosters           = [roster.process_safety, roster.ot_operations] # one distinct person from each
    exclude_initiator = true
    valid_for         = "15m"
  }

  # A shift supervisor may force an emergency action with a typed reason; it is
  # flagged for post-incident review.
  break_glass {
    rosters        = [roster.shift_supervisor]
    require_reason = true
  }
}
