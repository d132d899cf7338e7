"""Fixed test credentials. Canary values are long and unique so log and database canaries can find them."""

SIGNING_SECRET = "canary-signing-secret-7f3a9c1e5b"
CLIENT_ID = "111.222"
CLIENT_SECRET = "canary-client-secret-4d8e2a6f0c"
# A throwaway Fernet key for tests only.
ENCRYPTION_KEY = "lhc1k4bgzwtdRZmslFAaVP-qtFEEo3fBQzFWvg7-wsQ="
