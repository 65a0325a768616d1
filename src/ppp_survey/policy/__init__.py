"""Layer 5 — the policy matrix of 2-(8) judged on the survey: evidence per 現状, the reverse view
(findings → matrix) and KPIs. Computation only; layouts are in :mod:`ppp_survey.outputs`."""
