# The raft snapshot CronJob (deploy/vault/snapshot.yaml): it takes snapshots and nothing else.
# Restoring one needs an operator's token (docs/operations.md, "Backups"), never this policy.
path "sys/storage/raft/snapshot" {
  capabilities = ["read"]
}
