import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { renderPart, renderScaffold } from '../src/scaffold/render.ts';
import { agentTemplate, readShippedTemplate, scaffoldService, validateInput, type ScaffoldInput } from '../src/scaffold/service.ts';

const input = (over: Partial<ScaffoldInput> = {}): ScaffoldInput => ({
  name: 'orders-api',
  namespace: 'app',
  access: 'read',
  tables: [],
  mode: 'init-container',
  ttl: '1h',
  connection: 'postgres',
  mount: 'database',
  authMount: 'kubernetes',
  image: 'registry.example/orders-api:0.1.0',
  replicas: 2,
  port: 8080,
  ...over,
});

describe('scaffoldService', () => {
  const template = readShippedTemplate();

  it('names every Vault object after the service, and chains them', () => {
    const s = scaffoldService(input(), template);
    assert.deepEqual(s.names, { serviceAccount: 'orders-api', policy: 'orders-api-policy', authRole: 'orders-api-creds-role', databaseRole: 'orders-api-db-role', policyFile: 'policies/orders-api-policy.hcl' });
    assert.deepEqual(s.vault.authRole, { name: 'orders-api-creds-role', bound_service_account_names: ['orders-api'], bound_service_account_namespaces: ['app'], token_policies: ['orders-api-policy'], token_ttl: '1h' });
    assert.match(s.vault.policyHcl, /path "database\/creds\/orders-api-db-role" \{\n {2}capabilities = \["read"\]\n\}/);
    assert.doesNotMatch(s.vault.policyHcl, /sys\/leases\/revoke/, 'only direct mode revokes its own leases');
    assert.deepEqual(s.vault.allowedRole, { connection: 'postgres', role: 'orders-api-db-role' });
  });

  it('grants SELECT, or read-write with sequences, on all tables or the ones named', () => {
    assert.deepEqual(scaffoldService(input(), template).vault.databaseRole.creation_statements, [
      `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`,
      'GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{{name}}";',
    ]);
    const write = scaffoldService(input({ access: 'write', tables: ['orders', 'items'], maxTtl: '24h' }), template).vault.databaseRole;
    assert.deepEqual((write.creation_statements as string[]).slice(1), ['GRANT SELECT, INSERT, UPDATE, DELETE ON orders, items TO "{{name}}";', 'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "{{name}}";']);
    assert.equal(write.max_ttl, '24h');
  });

  it('the agent template is the shipped one for the new role path', () => {
    const rendered = agentTemplate(template, 'database/creds/orders-api-db-role');
    assert.match(rendered, /^\{\{- with secret "database\/creds\/orders-api-db-role" -\}\}/);
    assert.equal(rendered.replace('orders-api-db-role', 'db-reader-role'), template.slice(template.indexOf('{{- with')));
  });

  it('per mode: annotations, credential env, self-eviction RBAC', () => {
    const annotations = (mode: ScaffoldInput['mode']) => {
      const d = scaffoldService(input({ mode }), template).kubernetes.find((o) => o.kind === 'Deployment') as { spec: { template: { metadata: { annotations: Record<string, string> }; spec: { containers: Array<{ env: Array<{ name: string; value?: string }> }> } } } };
      const env = Object.fromEntries(d.spec.template.spec.containers[0]?.env.map((e) => [e.name, e.value ?? '(from field)']) ?? []);
      return { a: d.spec.template.metadata.annotations, env };
    };
    const init = annotations('init-container');
    assert.equal(init.a['vault.hashicorp.com/agent-pre-populate-only'], 'true');
    assert.equal(init.env.CREDENTIALS_REFRESH, 'none');
    assert.equal(init.env.POD_NAME, '(from field)');
    const sidecar = annotations('sidecar');
    assert.equal(sidecar.a['vault.hashicorp.com/agent-pre-populate-only'], undefined);
    assert.equal(sidecar.env.CREDENTIALS_REFRESH, 'agent');
    const direct = annotations('direct');
    assert.equal(direct.a['vault.hashicorp.com/agent-inject'], undefined);
    assert.deepEqual([direct.env.CREDENTIALS_MODE, direct.env.VAULT_AUTH_ROLE, direct.env.VAULT_DB_ROLE], ['vault', 'orders-api-creds-role', 'orders-api-db-role']);
    // Over TLS, trusting the CA of the namespace's vault-ca Secret: the agent by annotation, direct mode by VAULT_CACERT.
    assert.deepEqual([direct.env.VAULT_ADDR, direct.env.VAULT_CACERT], ['https://vault-active.vault.svc:8200', '/etc/rotor/vault-ca/ca.crt']);
    for (const agent of [init, sidecar]) assert.deepEqual([agent.a['vault.hashicorp.com/tls-secret'], agent.a['vault.hashicorp.com/ca-cert']], ['vault-ca', '/vault/tls/ca.crt']);
    // PostgreSQL serves TLS only: every mode verifies it with the same CA, mounted from vault-ca.
    for (const mode of [init, sidecar, direct]) assert.equal(mode.env.DB_SSLROOTCERT, '/etc/rotor/vault-ca/ca.crt');
    assert.match(scaffoldService(input({ mode: 'direct' }), template).vault.policyHcl, /sys\/leases\/revoke/);
    const kinds = (mode: ScaffoldInput['mode']) => scaffoldService(input({ mode }), template).kubernetes.map((o) => o.kind);
    assert.deepEqual(kinds('init-container'), ['ServiceAccount', 'Role', 'RoleBinding', 'Service', 'Deployment', 'PodDisruptionBudget', 'NetworkPolicy']);
    assert.deepEqual(kinds('sidecar'), ['ServiceAccount', 'Service', 'Deployment', 'PodDisruptionBudget', 'NetworkPolicy']);
  });

  it('another namespace lists the shared files to edit', () => {
    const edits = scaffoldService(input({ namespace: 'shop' }), template).edits.map((e) => e.file);
    for (const f of ['deploy/vault/injector.yaml', 'deploy/monitoring/prometheus.yaml', 'deploy/network-policies/policies.yaml', 'deploy/base/namespaces.yaml']) assert.ok(edits.includes(f), f);
    assert.ok(!scaffoldService(input(), template).edits.some((e) => e.file === 'deploy/vault/injector.yaml'));
  });

  it('renders YAML without anchors, one part alone or all with headers', () => {
    const s = scaffoldService(input(), template);
    assert.doesNotMatch(renderPart(s, 'kubernetes'), /[&*]a\d/);
    assert.match(renderScaffold(s), /# ==== deploy\/vault\/policies\/orders-api-policy.hcl ====/);
    assert.match(renderPart(s, 'config'), /# secrets\[path=database\]\.connections\[name=postgres\]\.allowed_roles: add\n- orders-api-db-role\n/);
  });

  it('refuses names and values that would not survive Kubernetes, SQL or Vault', () => {
    assert.deepEqual(validateInput(input()), []);
    assert.equal(validateInput(input({ name: 'Orders_API' })).length, 1);
    assert.equal(validateInput(input({ tables: ['orders; DROP TABLE users'] })).length, 1);
    assert.equal(validateInput(input({ ttl: 'forever' })).length, 1);
  });
});
