"""Who is calling and what they may do.

SigV4, principals, the policy language (documents in ``policy_language``, condition operators
in ``conditions``, wildcards and the work budget in ``wildcards``), grants, authorization, and
per-account quotas.
"""
