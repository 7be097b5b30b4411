// Pure: everything a new service needs to get its own database credentials,
// following users-api's shipped manifests (deploy/users-api) and Vault
// configuration (deploy/vault). docs/adding-a-service.md walks through it.
import { readFileSync } from 'node:fs';

export type DeliveryMode = 'init-container' | 'sidecar' | 'direct';
export type Access = 'read' | 'write';

export interface ScaffoldInput {
  /** DNS label: the Deployment, ServiceAccount and prefix of every Vault name. */
  name: string;
  namespace: string;
  access: Access;
  /** Tables to grant; empty means every table in schema public (as the seed's reader). */
  tables: string[];
  mode: DeliveryMode;
  /** Vault duration, e.g. 1h. */
  ttl: string;
  maxTtl?: string;
  connection: string;
  mount: string;
  authMount: string;
  image: string;
  replicas: number;
  port: number;
}

export interface ScaffoldNames {
  serviceAccount: string;
  policy: string;
  authRole: string;
  databaseRole: string;
  policyFile: string;
}

export interface Scaffold {
  input: ScaffoldInput;
  names: ScaffoldNames;
  vault: {
    policyHcl: string;
    /** Entries for deploy/vault/config.yaml, in its own format (docs/configure.md). */
    policyEntry: { name: string; file: string };
    authRole: Record<string, unknown>;
    databaseRole: Record<string, unknown>;
    /** The role to add to the connection's allowed_roles. */
    allowedRole: { connection: string; role: string };
  };
  /** Kubernetes objects, in apply order. */
  kubernetes: Array<Record<string, unknown>>;
  /** Shipped files that need a line added by hand (kustomize lists, selectors). */
  edits: Array<{ file: string; change: string }>;
}

const DNS_LABEL = /^[a-z]([a-z0-9-]{0,38}[a-z0-9])?$/;
const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

export function validateInput(input: ScaffoldInput): string[] {
  const problems: string[] = [];
  if (!DNS_LABEL.test(input.name)) problems.push(`service name must be a DNS label of at most 40 characters (a-z, 0-9, -), got ${JSON.stringify(input.name)}`);
  if (!DNS_LABEL.test(input.namespace)) problems.push(`--namespace must be a DNS label, got ${JSON.stringify(input.namespace)}`);
  for (const t of input.tables) if (!IDENTIFIER.test(t)) problems.push(`--tables: ${JSON.stringify(t)} is not a plain lower-case table name`);
  if (!/^\d+[smhd]$/.test(input.ttl)) problems.push(`--ttl must look like 30m or 1h, got ${JSON.stringify(input.ttl)}`);
  if (input.maxTtl !== undefined && !/^\d+[smhd]$/.test(input.maxTtl)) problems.push(`--max-ttl must look like 30m or 24h, got ${JSON.stringify(input.maxTtl)}`);
  if (!Number.isInteger(input.replicas) || input.replicas < 1) problems.push('--replicas must be at least 1');
  return problems;
}

export function namesOf(name: string): ScaffoldNames {
  return { serviceAccount: name, policy: `${name}-policy`, authRole: `${name}-creds-role`, databaseRole: `${name}-db-role`, policyFile: `policies/${name}-policy.hcl` };
}

function grants(input: ScaffoldInput): string[] {
  const quoted = `"{{name}}"`;
  const on = input.tables.length === 0 ? 'ALL TABLES IN SCHEMA public' : input.tables.join(', ');
  const privileges = input.access === 'read' ? 'SELECT' : 'SELECT, INSERT, UPDATE, DELETE';
  const statements = [`CREATE ROLE ${quoted} WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`, `GRANT ${privileges} ON ${on} TO ${quoted};`];
  if (input.access === 'write') statements.push(`GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO ${quoted};`);
  return statements;
}

/** The shipped agent template (packages/db-credentials/templates/db-creds.json.ctmpl) for another role path. */
export function agentTemplate(shippedTemplate: string, credsPath: string): string {
  const body = shippedTemplate.replace(/^\{\{-\s*\/\*[\s\S]*?\*\/\s*-\}\}\n/, '');
  return body.replace('secret "database/creds/db-reader-role"', `secret "${credsPath}"`);
}

export function readShippedTemplate(): string {
  return readFileSync(new URL('../../../db-credentials/templates/db-creds.json.ctmpl', import.meta.url), 'utf8');
}

function policyHcl(input: ScaffoldInput, names: ScaffoldNames): string {
  const lines = [
    `# ${input.name}: may only issue its own database credentials (${input.access === 'read' ? 'SELECT only' : 'read-write'}).`,
    `path "${input.mount}/creds/${names.databaseRole}" {`,
    '  capabilities = ["read"]',
    '}',
  ];
  if (input.mode === 'direct') {
    lines.push(
      '',
      '# Direct mode revokes a lease as soon as the pool that used it has drained (see app-policy.hcl).',
      'path "sys/leases/revoke" {',
      '  capabilities = ["update"]',
      '}',
    );
  }
  return `${lines.join('\n')}\n`;
}

/**
 * The Secret with the deployment's CA in the service's namespace, and where the service mounts it:
 * the CA signs PostgreSQL's certificate (every mode verifies it) as well as Vault's (direct mode).
 */
const VAULT_CA_SECRET = 'vault-ca';
const VAULT_CA_MOUNT = '/etc/rotor/vault-ca';

export function scaffoldService(input: ScaffoldInput, shippedTemplate: string): Scaffold {
  const names = namesOf(input.name);
  const credsPath = `${input.mount}/creds/${names.databaseRole}`;
  const labels = { 'app.kubernetes.io/name': input.name };
  const meta = (name: string) => ({ name, namespace: input.namespace, labels });

  const agentAnnotations: Record<string, string> =
    input.mode === 'direct'
      ? {}
      : {
          'vault.hashicorp.com/agent-inject': 'true',
          ...(input.mode === 'init-container' ? { 'vault.hashicorp.com/agent-pre-populate-only': 'true' } : {}),
          'vault.hashicorp.com/role': names.authRole,
          'vault.hashicorp.com/agent-inject-secret-db-creds.json': credsPath,
          'vault.hashicorp.com/agent-inject-template-db-creds.json': agentTemplate(shippedTemplate, credsPath),
          'vault.hashicorp.com/agent-run-as-user': '10001',
          'vault.hashicorp.com/agent-run-as-group': '10001',
          // Vault serves TLS: the agent trusts the CA of the namespace's vault-ca Secret (docs/operations.md, step "tls").
          'vault.hashicorp.com/tls-secret': VAULT_CA_SECRET,
          'vault.hashicorp.com/ca-cert': '/vault/tls/ca.crt',
        };

  const credentialsEnv =
    input.mode === 'direct'
      ? [
          { name: 'CREDENTIALS_MODE', value: 'vault' },
          { name: 'VAULT_ADDR', value: 'https://vault-active.vault.svc:8200' },
          { name: 'VAULT_CACERT', value: `${VAULT_CA_MOUNT}/ca.crt` },
          { name: 'VAULT_AUTH_METHOD', value: 'kubernetes' },
          { name: 'VAULT_AUTH_MOUNT', value: input.authMount },
          { name: 'VAULT_AUTH_ROLE', value: names.authRole },
          { name: 'VAULT_DB_MOUNT', value: input.mount },
          { name: 'VAULT_DB_ROLE', value: names.databaseRole },
        ]
      : [
          { name: 'CREDENTIALS_MODE', value: 'file' },
          { name: 'CREDENTIALS_FILE', value: '/vault/secrets/db-creds.json' },
          { name: 'CREDENTIALS_REFRESH', value: input.mode === 'sidecar' ? 'agent' : 'none' },
        ];
  // Init-container pods leave before their credentials expire by evicting themselves (docs/users-api.md).
  const evictionEnv =
    input.mode === 'init-container'
      ? [
          { name: 'EXPIRY_EXIT_LEAD_MS', value: '300000' },
          { name: 'EXPIRY_EXIT_JITTER_MS', value: '300000' },
          { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
          { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
        ]
      : [];

  const kubernetes: Array<Record<string, unknown>> = [{ apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(names.serviceAccount) }];
  if (input.mode === 'init-container') {
    const roleName = `${input.name}-self-eviction`;
    kubernetes.push(
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: meta(roleName), rules: [{ apiGroups: [''], resources: ['pods/eviction'], verbs: ['create'] }] },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: meta(roleName),
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: roleName },
        subjects: [{ kind: 'ServiceAccount', name: names.serviceAccount, namespace: input.namespace }],
      },
    );
  }
  kubernetes.push(
    { apiVersion: 'v1', kind: 'Service', metadata: meta(input.name), spec: { selector: labels, ports: [{ name: 'http', port: input.port, targetPort: input.port }] } },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: meta(input.name),
      spec: {
        replicas: input.replicas,
        strategy: { rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
        selector: { matchLabels: labels },
        template: {
          metadata: {
            labels,
            annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(input.port), 'prometheus.io/path': '/metrics', ...agentAnnotations },
          },
          spec: {
            serviceAccountName: names.serviceAccount,
            terminationGracePeriodSeconds: 40,
            securityContext: { runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, seccompProfile: { type: 'RuntimeDefault' } },
            volumes: [{ name: VAULT_CA_SECRET, secret: { secretName: VAULT_CA_SECRET, items: [{ key: 'ca.crt', path: 'ca.crt' }] } }],
            containers: [
              {
                name: input.name,
                image: input.image,
                env: [
                  { name: 'PORT', value: String(input.port) },
                  { name: 'DB_HOST', value: 'postgres.db.svc' },
                  { name: 'DB_PORT', value: '5432' },
                  { name: 'DB_NAME', value: 'postgres' },
                  // PostgreSQL serves TLS only: verified against the deployment's CA and DB_HOST (verify-full).
                  { name: 'DB_SSLROOTCERT', value: `${VAULT_CA_MOUNT}/ca.crt` },
                  ...credentialsEnv,
                  ...evictionEnv,
                ],
                volumeMounts: [{ name: VAULT_CA_SECRET, mountPath: VAULT_CA_MOUNT, readOnly: true }],
                ports: [{ name: 'http', containerPort: input.port }],
                readinessProbe: { httpGet: { path: '/readyz', port: input.port }, periodSeconds: 2, failureThreshold: 1 },
                livenessProbe: { httpGet: { path: '/healthz', port: input.port }, periodSeconds: 10 },
                securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
                resources: { requests: { cpu: '100m', memory: '96Mi' }, limits: { memory: '256Mi' } },
              },
            ],
          },
        },
      },
    },
    { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: meta(input.name), spec: { maxUnavailable: 1, selector: { matchLabels: labels } } },
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: meta(input.name),
      spec: {
        podSelector: { matchLabels: labels },
        policyTypes: ['Ingress', 'Egress'],
        ingress: [{ ports: [{ port: input.port, protocol: 'TCP' }] }],
        egress: [
          { to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'vault' } }, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'vault' } } }], ports: [{ port: 8200, protocol: 'TCP' }] },
          { to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'db' } }, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'postgres' } } }], ports: [{ port: 5432, protocol: 'TCP' }] },
          ...(input.mode === 'init-container' ? [{ ports: [{ port: 443, protocol: 'TCP' }, { port: 6443, protocol: 'TCP' }] }] : []),
        ],
      },
    },
  );

  const edits: Scaffold['edits'] = [
    { file: 'deploy/vault/config.yaml', change: `add the auth role, the policy and the database role below; add ${names.databaseRole} to allowed_roles of connection ${input.connection}` },
    { file: `deploy/vault/${names.policyFile}`, change: 'new file: the policy below' },
    { file: 'deploy/vault/kustomization.yaml', change: `configMapGenerator vault-configuration: add ${names.policy}.hcl=${names.policyFile}` },
    { file: 'deploy/configure/job.yaml', change: `volume config, items: add { key: ${names.policy}.hcl, path: ${names.policyFile} }` },
    { file: `deploy/${input.name}/${input.name}.yaml`, change: 'new file: the Kubernetes objects below' },
    { file: `deploy/${input.name}/kustomization.yaml`, change: `new file: resources: [${input.name}.yaml]` },
    { file: 'deploy/base/kustomization.yaml', change: `resources: add ../${input.name}` },
  ];
  if (input.namespace === 'app') {
    edits.push({ file: 'deploy/network-policies/policies.yaml', change: `NetworkPolicy db/postgres, ingress from namespace app: add ${input.name} to the app.kubernetes.io/name values` });
  } else {
    edits.push(
      { file: 'deploy/base/namespaces.yaml', change: `add Namespace ${input.namespace} (with the Pod Security labels of app)` },
      { file: 'deploy/vault/injector.yaml', change: `MutatingWebhookConfiguration namespaceSelector: add ${input.namespace} to the values` },
      { file: 'deploy/monitoring/prometheus.yaml', change: `scrape config rotor-pods: add ${input.namespace} to kubernetes_sd_configs namespaces` },
      { file: 'deploy/network-policies/policies.yaml', change: `NetworkPolicy db/postgres: allow ${input.name} pods of namespace ${input.namespace}; vault-server: allow namespace ${input.namespace}; default-deny and allow-dns for it` },
      { file: 'docs/operations.md', change: `install step "tls": add ${input.namespace} to the namespaces that get the vault-ca Secret (the CA Vault's certificate must chain to)` },
    );
  }

  return {
    input,
    names,
    vault: {
      policyHcl: policyHcl(input, names),
      policyEntry: { name: names.policy, file: names.policyFile },
      authRole: {
        name: names.authRole,
        bound_service_account_names: [names.serviceAccount],
        bound_service_account_namespaces: [input.namespace],
        token_policies: [names.policy],
        token_ttl: input.ttl,
      },
      databaseRole: {
        name: names.databaseRole,
        db_name: input.connection,
        creation_statements: grants(input),
        default_ttl: input.ttl,
        ...(input.maxTtl !== undefined ? { max_ttl: input.maxTtl } : {}),
      },
      allowedRole: { connection: input.connection, role: names.databaseRole },
    },
    kubernetes,
    edits,
  };
}
