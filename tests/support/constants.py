"""Fixed test credentials. Canary values are long and unique so log and database canaries can find them."""

SIGNING_SECRET = "canary-signing-secret-7f3a9c1e5b"
CLIENT_ID = "111.222"
CLIENT_SECRET = "canary-client-secret-4d8e2a6f0c"
# A throwaway Fernet key for tests only.
ENCRYPTION_KEY = "lhc1k4bgzwtdRZmslFAaVP-qtFEEo3fBQzFWvg7-wsQ="

# WhatConverts credentials the fake accepts; the secrets are canaries too.
PROFILE_TOKEN = "wc-profile-token-1"
PROFILE_SECRET = "canary-wc-profile-secret-93b1d7"
MASTER_TOKEN = "wc-master-token-1"
MASTER_SECRET = "canary-wc-master-secret-5e2c88"
WC_OAUTH_CLIENT_ID = "wc-oauth-client"
WC_OAUTH_CLIENT_SECRET = "canary-wc-oauth-client-secret-71f0"
