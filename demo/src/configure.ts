// Persona Vault Admin, part 2: `rotor configure apply` with the shipped
// deploy/vault/config.yaml, adapted to this machine (kube-apiserver address and
// CA, PostgreSQL address, short TTLs so rotation is visible), then proof that
// rotate-root happened: vault_admin's password the DB Admin handed over is dead.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { parse, stringify } from 'yaml';
import type { VaultClient } from '@rotor/vault-client';
import { childEnv, rotor } from './commands.ts';
import { REPO_ROOT, type DemoContext } from './context.ts';
import { queryAs, VAULT_ADMIN, type Database } from './db-admin.ts';
import type { KubeAuth } from './kubernetes.ts';
import { seconds } from './narrator.ts';
import type { Vault } from './vault-admin.ts';

/** How the agent (and users-api in vault mode) logs in to Vault. */
export type AgentAuth =
  | { method: 'kubernetes'; role: string; tokenFile: string }
  | { method: 'approle'; roleIdFile: string; secretIdFile: string; roleId: string; secretId: string };

interface ConfigDoc {
  auth: { path: string; type: string; description?: string; config?: Record<string, unknown>; roles?: Record<string, unknown>[] }[];
  policies: { name: string; file?: string; rules?: string }[];
  secrets: {
    path: string;
    connections: Record<string, unknown>[];
    roles: ({ name: string } & Record<string, unknown>)[];
  }[];
}

/** deploy/vault/config.yaml, changed only where this machine differs from a cluster. */
export function demoConfig(db: Database, kube: KubeAuth | undefined, ttlSeconds: number): ConfigDoc {
  const deployDir = join(REPO_ROOT, 'deploy/vault');
  const doc = parse(readFileSync(join(deployDir, 'config.yaml'), 'utf8')) as ConfigDoc;
  for (const policy of doc.policies) if (policy.file !== undefined) policy.file = join(deployDir, policy.file);
  const k8s = doc.auth.find((a) => a.type === 'kubernetes');
  if (!k8s) throw new Error('deploy/vault/config.yaml declares no kubernetes auth method');
  if (kube) {
    // Vault runs outside a pod here: give it the API's address and CA and a reviewer token explicitly.
    k8s.config = {
      kubernetes_host: kube.kube.url,
      kubernetes_ca_cert: kube.kube.caCert,
      token_reviewer_jwt: { fromEnv: 'REVIEWER_JWT' },
      disable_local_ca_jwt: true,
    };
  } else {
    // No kube-apiserver: the same roles and policies behind approle instead.
    doc.auth = doc.auth.map((a) =>
      a.type !== 'kubernetes'
        ? a
        : {
            path: 'approle',
            type: 'approle',
            description: 'Fallback of the demo when the kube testbed is not built',
            roles: (a.roles ?? []).map((r) => ({ name: r.name, token_policies: r.token_policies, token_ttl: r.token_ttl })),
          },
    );
  }
  for (const engine of doc.secrets) {
    for (const connection of engine.connections) connection.connection_url = db.server.vaultConnectionUrl();
    const reader = engine.roles.find((r) => r.name === 'db-reader-role');
    if (reader) {
      reader.default_ttl = `${ttlSeconds}s`;
      reader.max_ttl = `${ttlSeconds}s`;
    }
  }
  return doc;
}

export async function configureVault(ctx: DemoContext, db: Database, vault: Vault, kube: KubeAuth | undefined): Promise<AgentAuth> {
  const { narrator, dir, signal, options, secrets } = ctx;
  narrator.step(4, 'Vault Admin', 'Vault configuration as code: rotor configure apply');
  const configFile = join(dir, 'vault-config.yaml');
  const doc = demoConfig(db, kube, options.credentialTtlSeconds);
  writeFileSync(
    configFile,
    `# deploy/vault/config.yaml adapted by the demo: local addresses, db-reader-role TTL ${options.credentialTtlSeconds}s${kube ? '' : ', approle instead of kubernetes auth'}\n${stringify(doc)}`,
  );
  narrator.info(`config: deploy/vault/config.yaml with ${kube ? 'the kube-apiserver\'s address and CA' : 'approle auth (no kube testbed)'}, connection_url 127.0.0.1:${db.server.port}, db-reader-role TTL ${options.credentialTtlSeconds}s`);
  narrator.info(`$ PG_ROOT_PASSWORD=… rotor configure apply -c ${configFile} --address ${await vault.activeAddress()} --token-file …/root-token`);

  const env = childEnv({ PG_ROOT_PASSWORD: db.vaultAdminPassword, ...(kube ? { REVIEWER_JWT: kube.reviewerJwt } : {}) });
  const args = ['-c', configFile, '--address', await vault.activeAddress(), '--token-file', vault.rootTokenFile];
  const started = performance.now();
  const apply = await rotor(['configure', 'apply', ...args], env, signal);
  const output = apply.stdout + apply.stderr;
  ctx.narrator.quote(summarizeApply(output));
  captureForScan(ctx, output);
  if (!narrator.check(apply.code === 0, 'rotor configure apply succeeded', `(exit ${String(apply.code)}, ${seconds(performance.now() - started)})`)) {
    throw new Error('rotor configure apply failed; see its output above');
  }

  const again = await rotor(['configure', 'plan', ...args], env, signal);
  captureForScan(ctx, again.stdout + again.stderr);
  const verdict = again.stdout.split('\n').find((l) => l.startsWith('No changes') || l.startsWith('Plan:')) ?? again.stdout.trim();
  narrator.check(again.code === 0 && verdict.startsWith('No changes'), 'a second plan finds nothing to do:', verdict);

  // rotate-root: the password the DB Admin gave Vault no longer works.
  const code = await queryAs(db.server, VAULT_ADMIN, db.vaultAdminPassword, 'SELECT 1').then(
    () => 'connected',
    (err: unknown) => (err instanceof pg.DatabaseError ? (err.code ?? 'no code') : String((err as Error).message)),
  );
  narrator.check(code === '28P01', `rotate-root done: ${VAULT_ADMIN}'s first password now fails`, `(SQLSTATE ${code}: invalid_password)`);

  const admin = await vault.admin();
  if (kube) return { method: 'kubernetes', role: 'app-creds-reader-role', tokenFile: kube.appTokenFile };
  return appRoleLogin(ctx, admin, secrets);
}

/** The apply output folded to one line per resource plus the totals (fields and writes are printed by the command). */
function summarizeApply(output: string): string {
  const lines = output.trimEnd().split('\n');
  const writes = lines.filter((l) => l.trim().startsWith('done:')).length;
  const kept = lines.filter((l) => /^[+~↻-] /.test(l) || /^(Plan|Applied|No changes)/.test(l) || /error/i.test(l));
  return [...kept, `(${writes} write requests done; per-field lines folded)`].join('\n');
}

/** Keeps command output for the end-of-demo secret scan. */
function captureForScan(ctx: DemoContext, text: string): void {
  writeFileSync(join(ctx.dir, 'commands.log'), text, { flag: 'a' });
}

/** Fallback without Kubernetes: a role id and a secret id, as a deployment would mount them. */
async function appRoleLogin(ctx: DemoContext, admin: VaultClient, secrets: DemoContext['secrets']): Promise<AgentAuth> {
  const role = 'app-creds-reader-role';
  const roleId = (await admin.request<{ data: { role_id: string } }>('GET', `auth/approle/role/${role}/role-id`))?.data.role_id;
  const secretId = (await admin.request<{ data: { secret_id: string } }>('POST', `auth/approle/role/${role}/secret-id`, { body: {} }))?.data.secret_id;
  if (!roleId || !secretId) throw new Error(`approle ${role}: no role id or secret id returned`);
  secrets.add('approle secret id', secretId);
  const roleIdFile = join(ctx.dir, 'role-id');
  const secretIdFile = join(ctx.dir, 'secret-id');
  writeFileSync(roleIdFile, roleId, { mode: 0o600 });
  writeFileSync(secretIdFile, secretId, { mode: 0o600 });
  ctx.narrator.note(`approle role ${role}: role id and secret id written to 0600 files for the agent (kubernetes auth needs the kube testbed)`);
  return { method: 'approle', roleIdFile, secretIdFile, roleId, secretId };
}
