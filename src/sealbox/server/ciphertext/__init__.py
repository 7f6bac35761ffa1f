"""KMS ciphertext blobs: their byte layout and their sealing under a key's material."""
