"""Who is calling and what they may do.

SigV4, principals, the policy language, grants, authorization, and per-account quotas.
"""
