"""Between the legacy API and Sealbox's pipeline: master key providers as keyrings, legacy
materials managers as Sealbox's, materials and keys converted, errors translated."""
