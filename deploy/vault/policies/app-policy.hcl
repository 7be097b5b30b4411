# users-api (read side): may only issue SELECT-only credentials.
path "database/creds/db-reader-role" {
  capabilities = ["read"]
}
