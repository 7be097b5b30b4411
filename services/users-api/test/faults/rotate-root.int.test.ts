// Fault matrix (issue 13), scenario 9: rotate-root (as deploy/vault/config.yaml
// ships it), then a restart of the whole raft cluster (not dev mode: the
// rotated password lives only in raft storage). Vault still connects and
// issues credentials, users-api keeps serving, and the rotated password —
// read off the wire between Vault and PostgreSQL, since nothing else shows
// it — appears in no log.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { waitFor } from '@rotor/testbed';
import { HttpLoad } from './load.ts';
import { PasswordSniffer } from './password-sniffer.ts';
import { FaultStack } from './stack.ts';

async function sqlstate(url: string): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code;
  } finally {
    await client.end().catch(() => undefined);
  }
}

describe('fault matrix: rotate-root, then the raft cluster restarted (scenario 9)', { timeout: 300_000 }, () => {
  let stack: FaultStack;
  let sniffer: PasswordSniffer | undefined;

  before(async () => {
    stack = await FaultStack.start({
      rotateRoot: true,
      vaultDbAddress: async (db) => {
        sniffer = new PasswordSniffer({ host: db.host, port: db.port });
        return sniffer.start();
      },
    });
  });
  after(async () => {
    await stack?.stop();
    await sniffer?.stop();
  });

  it('9: after rotate-root and a restart of all nodes Vault still connects, and the rotated password is in no log', async () => {
    assert.ok(sniffer);
    const rotated = sniffer.altered.get(stack.db.superuser);
    assert.ok(rotated, 'rotate-root sent a new superuser password (seen on the wire)');
    stack.secrets.add('rotated root password', rotated);
    for (const password of sniffer.created) stack.secrets.add('db password', password);
    assert.equal(await sqlstate(stack.db.url()), '28P01', 'the bootstrap password no longer logs in');
    assert.equal(await sqlstate(stack.db.url(stack.db.superuser, rotated)), undefined, 'only Vault knows the password now');

    const api = await stack.startUsersApi('users-api');
    const load = new HttpLoad(api.url);
    const timing = { restartMs: 0 };
    try {
      await waitFor('load running', () => Promise.resolve(load.ok > 50 ? true : undefined), { timeoutMs: 30_000 });
      const stoppedAt = performance.now();
      // A restart of the whole cluster (e.g. a node pool upgrade): graceful stops, then starts.
      await Promise.all(stack.cluster.nodes.map((n) => n.stop()));
      await Promise.all(stack.cluster.nodes.map((n) => n.start()));
      assert.equal(await stack.healthy(), stack.clusterId, 'the same cluster');
      timing.restartMs = performance.now() - stoppedAt;
      const okBack = load.ok;
      await waitFor('requests after the restart', () => Promise.resolve(load.ok > okBack + 50 ? true : undefined), { timeoutMs: 30_000 });
    } finally {
      await load.stop();
    }
    // Vault connects to PostgreSQL with the rotated password it keeps in raft.
    const root = await stack.root();
    const lease = await root.database.creds('db-reader-role');
    stack.secrets.add('db password', lease.data.password);
    assert.equal(await sqlstate(stack.db.url(lease.data.username, lease.data.password)), undefined, 'credentials issued after the restart log in');
    await root.sys.revokeLease(lease.leaseId);
    console.log(`scenario 9: ${load.records.length} requests, ${load.failures().length} failed; cluster stopped and unsealed again in ${Math.round(timing.restartMs)} ms; Vault issued working credentials with the rotated root password`);
    assert.equal(load.failures().length, 0, `failed requests: ${load.describeFailures()}`);
    await api.stop();
    for (const password of sniffer.created) stack.secrets.add('db password', password);
    await stack.assertSameCluster();
    stack.assertNoSecretsInAnyLog();
  });
});
