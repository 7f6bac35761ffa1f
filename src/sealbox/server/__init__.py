"""The Sealbox KMS service: the AWS KMS JSON 1.1 API over a store of wrapped keys.

Install with ``pip install 'sealbox[server]'``; run with ``sealbox serve``.
"""
