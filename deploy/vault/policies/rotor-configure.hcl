# rotor configure (the vault-configure Job): exactly what `rotor configure apply --prune` of
# deploy/vault/config.yaml reads and writes, on the mounts that file declares (kubernetes,
# database). Logged in through the auth role rotor-configure, which --prune never deletes,
# nor this policy. Whoever may write policies can grant themselves more: keep this role bound
# to the one service account only the configure Job runs as. Declaring another mount in
# config.yaml means adding its paths here.

# Reads of the mount tables (listing auth methods needs sudo), and enable/tune/disable of
# the declared mounts.
path "sys/auth" {
  capabilities = ["read", "sudo"]
}
path "sys/auth/kubernetes" {
  capabilities = ["create", "update", "delete", "sudo"]
}
path "sys/auth/kubernetes/tune" {
  capabilities = ["read", "update"]
}
path "sys/mounts" {
  capabilities = ["read"]
}
path "sys/mounts/database" {
  capabilities = ["create", "update", "delete"]
}
path "sys/mounts/database/tune" {
  capabilities = ["read", "update"]
}

# Audit devices are declared in the server's config (OpenBao refuses API-enabled ones):
# configure only reads the table. (HashiCorp Vault reads none from its config: its variant,
# deploy/components/hashicorp-vault/rotor-configure.hcl, adds the declared device's path.)
path "sys/audit" {
  capabilities = ["read", "sudo"]
}

# ACL policies, this one included (its text is in config.yaml).
path "sys/policies/acl" {
  capabilities = ["list"]
}
path "sys/policies/acl/*" {
  capabilities = ["create", "read", "update", "delete"]
}

# Kubernetes auth: its config and roles.
path "auth/kubernetes/config" {
  capabilities = ["create", "read", "update"]
}
path "auth/kubernetes/role" {
  capabilities = ["list"]
}
path "auth/kubernetes/role/*" {
  capabilities = ["create", "read", "update", "delete"]
}

# The database engine: connections, roles, and rotate-root. Not database/creds: configure
# never needs a database credential.
path "database/config" {
  capabilities = ["list"]
}
path "database/config/*" {
  capabilities = ["create", "read", "update", "delete"]
}
path "database/roles" {
  capabilities = ["list"]
}
path "database/roles/*" {
  capabilities = ["create", "read", "update", "delete"]
}
path "database/static-roles" {
  capabilities = ["list"]
}
path "database/static-roles/*" {
  capabilities = ["create", "read", "update", "delete"]
}
path "database/rotate-root/*" {
  capabilities = ["update"]
}
