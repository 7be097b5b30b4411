// Audit on, as deploy/ declares it: the audit stanza of deploy/vault/server.yaml's server.hcl,
// taken verbatim into a real OpenBao's configuration. A database creds request then leaves its
// audit lines on the server's stdout with every secret value HMACed: the issued password appears
// only as hmac-sha256, and the answer's HMAC is the one OpenBao computes for that password.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { startOpenBaoCluster, startPostgres, waitFor, type OpenBaoCluster, type PostgresServer } from '@rotor/testbed';
import { VaultClient } from '@rotor/vault-client';

const SERVER_YAML = fileURLToPath(new URL('../../../deploy/vault/server.yaml', import.meta.url));

/** The `audit` blocks of the shipped server.hcl, as written there. */
function shippedAuditStanza(): string {
  for (const doc of parseAllDocuments(readFileSync(SERVER_YAML, 'utf8'))) {
    const hcl = (doc.toJS() as { kind?: string; data?: Record<string, string> } | null)?.data?.['server.hcl'];
    if (hcl === undefined) continue;
    const blocks = hcl.match(/^audit "[^"]+" "[^"]+" \{[\s\S]*?^\}$/gm) ?? [];
    assert.ok(blocks.length > 0, 'server.hcl declares an audit device');
    return blocks.join('\n');
  }
  return assert.fail('no server.hcl in deploy/vault/server.yaml');
}

interface AuditLine {
  type: 'request' | 'response';
  request?: { path?: string };
  response?: { data?: Record<string, unknown> };
}

describe('audit device of deploy/vault/server.yaml', { timeout: 180_000 }, () => {
  let db: PostgresServer;
  let bao: OpenBaoCluster;
  let root: VaultClient;

  before(async () => {
    [db, bao] = await Promise.all([startPostgres(), startOpenBaoCluster({ nodes: 1, extraConfig: shippedAuditStanza() })]);
    const address = bao.nodes[0]?.address ?? assert.fail('one node');
    const init = await new VaultClient({ address }).sys.init({ secretShares: 1, secretThreshold: 1 });
    await new VaultClient({ address }).sys.unseal(init.keysBase64[0] ?? '');
    root = new VaultClient({ address, token: init.rootToken });
    await waitFor('the node to be active', async () => ((await root.sys.health()).status === 200 ? true : undefined), { timeoutMs: 60_000 });
    await root.request('POST', 'sys/mounts/database', { body: { type: 'database' } });
    await root.request('POST', 'database/config/postgres', {
      body: { plugin_name: 'postgresql-database-plugin', connection_url: db.vaultConnectionUrl(), username: db.superuser, password: db.superuserPassword, allowed_roles: ['reader'] },
    });
    await root.request('POST', 'database/roles/reader', { body: { db_name: 'postgres', creation_statements: [`CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`] } });
  });

  after(async () => {
    await Promise.all([db?.stop(), bao?.stop()]);
  });

  it('is enabled from the server config (not the API), and a creds request is audited with its password HMACed', async () => {
    const devices = (await root.request('GET', 'sys/audit')) as { data: Record<string, { type: string; options: Record<string, string> }> };
    assert.deepEqual(Object.keys(devices.data), ['stdout/']);
    assert.equal(devices.data['stdout/']?.options.file_path, 'stdout');
    const { data } = await root.database.creds('reader');
    const node = bao.nodes[0] ?? assert.fail('one node');
    const response = await waitFor(
      'the audit line of the creds response in the server\'s stdout',
      () => {
        const lines = readFileSync(node.logFile, 'utf8').split('\n').filter((l) => l.startsWith('{"'));
        const audited = lines.map((l) => JSON.parse(l) as AuditLine).filter((a) => a.request?.path === 'database/creds/reader');
        const found = audited.find((a) => a.type === 'response');
        return Promise.resolve(found && audited.some((a) => a.type === 'request') ? found : undefined);
      },
      { timeoutMs: 30_000 },
    );
    const logged = response.response?.data ?? {};
    assert.match(String(logged.password), /^hmac-sha256:[0-9a-f]{64}$/);
    assert.match(String(logged.username), /^hmac-sha256:[0-9a-f]{64}$/);
    const log = readFileSync(node.logFile, 'utf8');
    assert.equal(log.includes(data.password), false, 'the issued password is never in the audit log');
    // The HMAC is OpenBao's own of that password (sys/audit-hash with the device's salt).
    const hashed = (await root.request('PUT', 'sys/audit-hash/stdout', { body: { input: data.password } })) as { data: { hash: string } };
    assert.equal(logged.password, hashed.data.hash);
    console.log(`# audit line of the creds response: password ${String(logged.password).slice(0, 24)}…, username ${String(logged.username).slice(0, 24)}…`);
  });
});
