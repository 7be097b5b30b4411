# users-api (write side): may only issue read-write credentials.
path "database/creds/db-writer-role" {
  capabilities = ["read"]
}
