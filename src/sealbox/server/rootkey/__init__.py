"""The root of trust: every key's material and every secret is stored wrapped under a root key.

One module per kind of root key (a key file, a passphrase, a PKCS#11 token), plus root-key rotation."""
