"""Master key providers: ``base`` (the interfaces), ``raw`` (local keys), ``kms`` (AWS KMS)."""
