"""Thin, typed wrappers over pyca/cryptography. No primitive is implemented here."""
