// The testbed's real kube-apiserver on a real etcd: namespaces and service
// accounts through the API, TokenRequest, TokenReview, and a clean stop().
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname } from 'node:path';
import { kubeOk, kubeRequest, serviceAccountToken, startKubeApiserver, type KubeApiserver } from '../src/index.ts';

interface TokenReview {
  status: { authenticated?: boolean; user?: { username?: string }; audiences?: string[]; error?: string };
}

function review(kube: KubeApiserver, token: string, audiences?: string[]): Promise<TokenReview> {
  return kubeOk<TokenReview>(kube, 'POST', '/apis/authentication.k8s.io/v1/tokenreviews', {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenReview',
    spec: { token, audiences },
  });
}

interface Kubeconfig {
  clusters: { cluster: { server: string; 'certificate-authority-data': string } }[];
  users: { user: { token: string } }[];
}

/** Processes whose command line mentions `text` (the run's temp dir is in every flag). */
function processesMentioning(text: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(text);
      } catch {
        return false; // exited while we looked
      }
    })
    .map(Number);
}

function portOpen(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('kube-apiserver testbed', { timeout: 180_000 }, () => {
  let kube: KubeApiserver;

  before(async () => {
    kube = await startKubeApiserver();
  });
  after(async () => {
    await kube?.stop();
  });

  it('serves the API over TLS signed by the run CA to the admin, and refuses unknown tokens', async () => {
    const version = await kubeOk<{ major: string; gitVersion: string }>(kube, 'GET', '/version');
    assert.equal(version.major, '1');
    assert.match(version.gitVersion, /^v1\.(3[4-9]|[4-9]\d)\./);
    const denied = await kubeRequest(kube, 'GET', '/api/v1/namespaces', undefined, { token: 'not-a-token' });
    assert.equal(denied.status, 401);
    // The kubeconfig alone is enough to reach the API as the admin.
    const config = JSON.parse(readFileSync(kube.kubeconfigPath, 'utf8')) as Kubeconfig;
    const cluster = config.clusters[0]?.cluster;
    const user = config.users[0]?.user;
    assert.ok(cluster && user);
    const caCert = Buffer.from(cluster['certificate-authority-data'], 'base64').toString('utf8');
    const fromFile = { url: cluster.server, caCert, adminToken: user.token };
    assert.equal((await kubeRequest(fromFile, 'GET', '/api/v1/namespaces')).status, 200);
  });

  it('issues a service-account token through TokenRequest and validates it with TokenReview', async () => {
    await kubeOk(kube, 'POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'probe-ns' } });
    await kubeOk(kube, 'POST', '/api/v1/namespaces/probe-ns/serviceaccounts', {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'probe' },
    });
    const token = await serviceAccountToken(kube, 'probe-ns', 'probe', { audiences: ['rotor-test'], expirationSeconds: 600 });

    const ok = await review(kube, token, ['rotor-test']);
    assert.equal(ok.status.authenticated, true, ok.status.error);
    assert.equal(ok.status.user?.username, 'system:serviceaccount:probe-ns:probe');
    assert.deepEqual(ok.status.audiences, ['rotor-test']);

    // The same token is not valid for an audience it was not issued for, nor once tampered with.
    const wrongAudience = await review(kube, token, ['someone-else']);
    assert.notEqual(wrongAudience.status.authenticated, true);
    const [header, payload] = token.split('.');
    const tampered = await review(kube, `${header}.${payload}.${Buffer.from('forged').toString('base64url')}`, ['rotor-test']);
    assert.notEqual(tampered.status.authenticated, true);
  });

  it('stop() leaves no process, port or temp dir', async () => {
    const dir = dirname(kube.kubeconfigPath);
    assert.ok(processesMentioning(dir).length >= 2, 'etcd and kube-apiserver should be running');
    await kube.stop();
    assert.deepEqual(processesMentioning(dir), []);
    assert.equal(await portOpen(kube.url), false);
    assert.equal(existsSync(dir), false);
  });
});
