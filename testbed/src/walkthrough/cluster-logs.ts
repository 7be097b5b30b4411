// The secret scan of a cluster run: the secrets an operator created or the unsealer made, and
// every log the cluster produced (each pod's containers, each node component). Shared by the
// cluster walkthrough test and `npm run demo -- --cluster`.
import { createDecipheriv } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeNode } from '../node/index.ts';
import { SecretSet, type LogText } from '../secret-scan.ts';

async function secretValue(node: KubeNode, namespace: string, name: string, key: string): Promise<string> {
  const base64 = (await node.kubectl(['-n', namespace, 'get', 'secret', name, '-o', `jsonpath={.data.${key}}`])).trim();
  return Buffer.from(base64, 'base64').toString('utf8');
}

/**
 * What the unsealer stored in vault/vault-unseal-keys, opened with the envelope key as the
 * unsealer does (AES-256-GCM envelope, docs/unsealer.md): the key shares, and a root token only
 * if one was kept (the shipped unsealer keeps none).
 */
export async function storedUnsealKeys(node: KubeNode): Promise<{ keys: string[]; rootToken?: string }> {
  const key = Buffer.from((await secretValue(node, 'vault', 'vault-unseal-envelope-key', 'key')).trim(), 'base64');
  const envelope = JSON.parse(await secretValue(node, 'vault', 'vault-unseal-keys', 'unseal-keys\\.json')) as { iv: string; tag: string; data: string };
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(envelope.iv, 'base64'));
  decipher.setAuthTag(Buffer.from(envelope.tag, 'base64'));
  const plain = Buffer.concat([decipher.update(Buffer.from(envelope.data, 'base64')), decipher.final()]);
  return JSON.parse(plain.toString('utf8')) as { keys: string[]; rootToken?: string };
}

/**
 * What no log may show: PostgreSQL's superuser password, the first password of vault_admin (the
 * postgres-bootstrap Secret; Vault's rotated one never leaves Vault), the envelope key and the
 * unseal key shares it protects. (No root token exists to look for: the unsealer revokes the
 * initial one right after its bootstrap and never stores it.)
 */
export async function clusterSecrets(node: KubeNode, secrets = new SecretSet()): Promise<SecretSet> {
  secrets.add('PostgreSQL superuser password', await secretValue(node, 'db', 'postgres-superuser', 'password'));
  secrets.add('PostgreSQL bootstrap password', await secretValue(node, 'db', 'postgres-bootstrap', 'password'));
  secrets.addKey('unsealer envelope key', await secretValue(node, 'vault', 'vault-unseal-envelope-key', 'key'));
  for (const share of (await storedUnsealKeys(node)).keys) secrets.addKey('unseal key', share);
  return secrets;
}

/** Every running pod's log (all containers, one text, each line prefixed with its pod) and every node component's log. */
export async function clusterLogs(node: KubeNode): Promise<LogText[]> {
  const all = JSON.parse(await node.kubectl(['get', 'pods', '-A', '-o', 'json'])) as { items: { metadata: { name: string; namespace: string } }[] };
  let pods = '';
  for (const pod of all.items) {
    pods += await node.kubectl(['-n', pod.metadata.namespace, 'logs', pod.metadata.name, '--all-containers', '--prefix']).catch(() => '');
  }
  const components = readdirSync(node.logDir)
    .filter((f) => f.endsWith('.log'))
    .map((f) => ({ name: `node ${f}`, text: readFileSync(join(node.logDir, f), 'utf8') }));
  return [{ name: `the logs of ${all.items.length} pods`, text: pods }, ...components];
}
