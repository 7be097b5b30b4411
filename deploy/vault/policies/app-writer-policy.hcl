# users-api (write side): may only issue read-write credentials.
path "database/creds/db-writer-role" {
  capabilities = ["read"]
}

# Direct mode (CREDENTIALS_MODE=vault) revokes a lease as soon as the pool that used it has
# drained, instead of leaving the database user alive until its TTL. (Renewal needs no rule:
# Vault's default policy allows sys/leases/renew.) The lease id travels in the body (the URL
# form would put it into audit paths), so the path cannot be narrowed by role; a lease id is
# unguessable and only the token that read the credentials learns it.
path "sys/leases/revoke" {
  capabilities = ["update"]
}
