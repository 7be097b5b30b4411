// A real Prometheus (the testbed's build) scrapes the real processes whose metrics
// deploy/monitoring reads, with the shipped scrape job and relabelling (kubernetes_sd_configs
// swapped for static targets that carry the labels pod discovery would give each pod) and the
// shipped rules; a real Alertmanager with the shipped routing sends to the shipped receiver.
// Asserted:
// - every metric each alert rule and each dashboard query reads exists, with every label the
//   expression matches, groups, joins or templates on (a renamed metric or label fails here);
// - every dashboard query returns data, with the labels its legend shows;
// - a sealed pod (one the unsealer is not given) is told from Vault's own telemetry, which a
//   scrape token could not do;
// - every rule evaluates without error, and exactly the alerts this stack provokes fire: a halted
//   unsealer (UnsealerHalted, from a process that stays up), a failed rotation, the sealed pod;
// - UnsealerHalted travels Prometheus -> Alertmanager -> alert-receiver;
// - with the unsealers gone, UnsealerAbsent's and UnsealerNoLeader's expressions hold, and the
//   halted unsealer exits 4 on SIGTERM.
import { strict as assert } from 'node:assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse, stringify } from 'yaml';
import {
  ServerProcess,
  alertmanagerBinary,
  createTestCa,
  exactSelector,
  freePort,
  promqlRefs,
  runTool,
  startPrometheus,
  templateLabels,
  waitFor,
  type PrometheusSample,
  type PrometheusServer,
} from '@rotor/testbed';
import { MONITORING, REPO, RULES_FILE, alertRules, dashboardQueries, prometheusConfig } from './monitoring.ts';
import { MonitoringStack, discoveredLabels, type AgentFile, type Process } from './monitoring-stack.ts';

const READER = { file: 'users-api/users-api.yaml', name: 'users-api' };
const WRITER = { file: 'users-api/writer.yaml', name: 'users-admin-api' };

describe('monitoring against a real Prometheus', { timeout: 600_000 }, () => {
  const stack = new MonitoringStack();
  let prometheus: PrometheusServer | undefined;
  let alertmanager: ServerProcess | undefined;
  let halted: Process | undefined;
  let reader: Process | undefined;
  let writer: Process | undefined;
  const writerFile = join(stack.dir, 'writer-db-creds.json');
  const writeCreds = (path: string, creds: AgentFile | string): void => writeFileSync(path, typeof creds === 'string' ? creds : JSON.stringify(creds), { mode: 0o600 });

  let tokenOnlyNode = '';

  before(async () => {
    await Promise.all([stack.startDatabase(), stack.startVault()]);
    // A fourth pod the unsealer is not told about: it stays sealed. And, as a probe only, a node
    // whose metrics need a token (the shipped listener without unauthenticated_metrics_access).
    await stack.startVaultNode('vault-3', '127.0.0.5');
    tokenOnlyNode = await stack.startVaultNode('token-only', '127.0.0.6', (hcl) => {
      const edited = hcl.replace(/\n\s*telemetry \{\n\s*unauthenticated_metrics_access = true\n\s*\}/, '');
      assert.notEqual(edited, hcl, 'the listener allows unauthenticated metrics');
      return edited;
    });
    const leader = await stack.startUnsealer('vault-unsealer-7d4b9c-a', 'unseal-keys.json', [`--lock-file=${join(stack.dir, 'unsealer.lock')}`]);
    await stack.waitUnsealed();
    const token = await runTool(process.execPath, [join(REPO, 'packages/cli/bin/rotor.js'), 'unseal', 'root-token', `--key-store=file:${join(stack.dir, 'unseal-keys.json')}`]);
    assert.equal(token.code, 0, token.stderr);
    stack.rootToken = token.stdout.trim();
    assert.ok(leader.server.running);
    // Another cluster's unsealer, as it were: its key store is empty, the cluster initialized.
    halted = await stack.startUnsealer('vault-unsealer-7d4b9c-b', 'other-keys.json');
    await waitFor('the second unsealer to halt', async () => ((await fetch(`${halted?.url}/healthz`)).status === 503 ? true : undefined), { timeoutMs: 60_000 });

    await stack.configureDatabase();
    const readerFile = join(stack.dir, 'reader-db-creds.json');
    writeCreds(readerFile, await stack.issue('db-reader-role'));
    writeCreds(writerFile, await stack.issue('db-writer-role'));
    // The env the manifests give each container (file mode; refresh none = init container, agent = sidecar).
    [reader, writer] = await Promise.all([
      stack.startUsersApi(READER, 'users-api-5f7c8d-x2k4q', { CREDENTIALS_MODE: 'file', CREDENTIALS_FILE: readerFile, CREDENTIALS_REFRESH: 'none', EXPIRY_EXIT_LEAD_MS: '300000', EXPIRY_EXIT_JITTER_MS: '300000' }),
      stack.startUsersApi(WRITER, 'users-admin-api-6b9d7f-p8m2z', { CREDENTIALS_MODE: 'file', CREDENTIALS_FILE: writerFile, CREDENTIALS_REFRESH: 'agent' }),
    ]);
    const receiver = await stack.startReceiver();

    // Alertmanager with the shipped routing; only the receiver's address and the waits differ.
    const amPort = await freePort('127.0.0.1');
    const amConfig = parse(readFileSync(join(MONITORING, 'alertmanager.yml'), 'utf8')) as {
      route: Record<string, unknown>;
      receivers: { name: string; webhook_configs?: { url: string }[] }[];
    };
    const webhook = amConfig.receivers.find((r) => r.name === amConfig.route.receiver)?.webhook_configs?.[0];
    assert.equal(webhook?.url, 'http://alert-receiver.monitoring.svc:8080/alerts');
    webhook.url = `${receiver.url}/alerts`;
    Object.assign(amConfig.route, { group_wait: '1s', group_interval: '1s' });
    writeFileSync(join(stack.dir, 'alertmanager.yml'), stringify(amConfig));
    alertmanager = new ServerProcess({
      name: 'alertmanager',
      command: alertmanagerBinary(),
      args: [`--config.file=${join(stack.dir, 'alertmanager.yml')}`, `--storage.path=${join(stack.dir, 'alertmanager')}`, `--web.listen-address=127.0.0.1:${amPort}`, '--cluster.listen-address='],
      logFile: join(stack.dir, 'alertmanager.log'),
    });
    const am = alertmanager;
    await waitFor('alertmanager to be ready', async () => ((await fetch(`http://127.0.0.1:${amPort}/-/ready`)).ok ? true : undefined), { timeoutMs: 30_000, signal: am.exitSignal }).catch((err: unknown) => {
      throw am.failure('did not become ready (does alertmanager.yml load?)', err);
    });

    // The shipped prometheus.yml: targets from pod discovery become static targets with the same
    // __meta labels; scrape and evaluation every second; the rules and Alertmanager local.
    const config = prometheusConfig();
    const job = config.scrape_configs[0] as { kubernetes_sd_configs?: { namespaces?: { names: string[] } }[]; static_configs?: unknown[]; tls_config?: { ca_file?: string } };
    // The job's CA file (the vault-ca Secret in the cluster): one of this run's, beside the config.
    const tls = job.tls_config;
    assert.ok(tls?.ca_file === '/etc/vault-ca/ca.crt', `the scrape job trusts the vault-ca mount: ${JSON.stringify(tls)}`);
    tls.ca_file = 'vault-ca.crt';
    const namespaces = job.kubernetes_sd_configs?.[0]?.namespaces?.names ?? [];
    for (const t of stack.targets) assert.ok(namespaces.includes(t.namespace), `the job discovers pods of ${t.namespace}`);
    delete job.kubernetes_sd_configs;
    job.static_configs = stack.targets.map((t) => ({ targets: [t.address], labels: discoveredLabels(t) }));
    config.global = { ...(config.global as object), scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' };
    config.rule_files = ['rules.yaml'];
    config.alerting = { alertmanagers: [{ static_configs: [{ targets: [`127.0.0.1:${amPort}`] }] }] };
    const vaultCa = await createTestCa(stack.dir, 'vault');
    prometheus = await startPrometheus({ config, files: { 'rules.yaml': readFileSync(RULES_FILE, 'utf8'), 'vault-ca.crt': vaultCa.certPem } });
  });

  after(async () => {
    await prometheus?.stop();
    await alertmanager?.stop();
    await stack.stop();
  });

  it('scrapes every target up, each labelled as its pod', async () => {
    const p = prometheus as PrometheusServer;
    const up = await waitFor(
      `all ${stack.targets.length} targets up`,
      async () => {
        const series = await p.query('up');
        return series.length === stack.targets.length && series.every((s) => s.value[1] === '1') ? series : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${p.logTail()}`);
    });
    const pods = up.map((s) => `${s.metric.namespace}/${s.metric.pod} ${s.metric.app}`).sort();
    assert.deepEqual(pods, [
      'app/users-admin-api-6b9d7f-p8m2z users-admin-api',
      'app/users-api-5f7c8d-x2k4q users-api',
      'vault/vault-0 vault',
      'vault/vault-1 vault',
      'vault/vault-2 vault',
      'vault/vault-3 vault',
      'vault/vault-unsealer-7d4b9c-a vault-unsealer',
      'vault/vault-unsealer-7d4b9c-b vault-unsealer',
    ]);
  });

  it('sees the traffic and the credential events the rules and the dashboard read', async () => {
    for (const api of [reader, writer]) assert.equal((await fetch(`${api?.url}/users`)).status, 200);
    assert.equal((await post(`${reader?.url}/users`)).status, 403, 'the SELECT-only reader refuses to write');
    assert.equal((await post(`${writer?.url}/users`)).status, 201);
    // The sidecar's agent renders a broken file, then credentials that do not log in, then good ones.
    const metrics = async (): Promise<string> => (await fetch(`${writer?.url}/metrics`)).text();
    writeCreds(writerFile, '{"username": ');
    await waitFor('a source error', async () => (/rotor_db_credentials_source_errors_total\{[^}]*reason="invalid-json"[^}]*\} 1/.test(await metrics()) ? true : undefined), { timeoutMs: 30_000 });
    writeCreds(writerFile, { ...(await stack.issue('db-writer-role')), password: 'not-the-password' });
    await waitFor('a failed rotation', async () => (/rotor_db_credentials_rotation_failures_total\{[^}]*stage="verify"[^}]*\} 1/.test(await metrics()) ? true : undefined), { timeoutMs: 30_000 });
    writeCreds(writerFile, await stack.issue('db-writer-role'));
    await waitFor('a rotation', async () => (/rotor_db_credentials_rotations_total\{[^}]*reason="file-changed"[^}]*\} 1/.test(await metrics()) ? true : undefined), { timeoutMs: 30_000 });
    assert.equal((await fetch(`${writer?.url}/users`)).status, 200, 'the writer serves on its new credentials');
    // Prometheus has scraped it all.
    const p = prometheus as PrometheusServer;
    await waitFor('the events scraped', async () => ((await p.query('rotor_db_credentials_rotations_total{reason="file-changed"} > 0')).length > 0 ? true : undefined), { timeoutMs: 30_000 });
    // A rate needs two samples of a counter that moved: a request more per poll until it shows.
    await waitFor(
      'a 403 rate over two scrapes',
      async () => {
        assert.equal((await post(`${reader?.url}/users`)).status, 403);
        return (await p.query('rate(http_requests_total{status_code="403"}[5m]) > 0')).length > 0 ? true : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );
  });

  it("tells a sealed node from Vault's own telemetry, which a scrape token could not", async () => {
    const p = prometheus as PrometheusServer;
    const sealed = alertRules().find((r) => r.alert === 'VaultNodeSealed')?.expr ?? '';
    const result = await p.query(sealed);
    assert.deepEqual(
      result.map((s) => s.metric.pod),
      ['vault-3'],
      'the expression of VaultNodeSealed holds for the sealed pod only',
    );
    // It still answers (unauthenticated metrics, up 1) but does not report itself unsealed.
    assert.deepEqual(await p.query('vault_core_unsealed{pod="vault-3"} == 1'), []);
    // With a token instead, a sealed node cannot check it: it answers 503, as if down.
    const res = await fetch(`${tokenOnlyNode}/v1/sys/metrics?format=prometheus`, { headers: { 'X-Vault-Token': stack.rootToken } });
    assert.equal(res.status, 503);
    assert.match(await res.text(), /Vault is sealed/);
  });

  it('has every metric and label each alert rule reads', async () => {
    const p = prometheus as PrometheusServer;
    let checks = 0;
    for (const rule of alertRules()) {
      checks += await checkReferences(p, `alert ${rule.alert}`, rule.expr, Object.values(rule.annotations ?? {}).join('\n'));
    }
    console.log(`# metrics-existence checks for ${alertRules().length} alert rules: ${checks}`);
  });

  it('has every metric and label each dashboard query reads, and each query returns data', async () => {
    const p = prometheus as PrometheusServer;
    let checks = 0;
    for (const q of dashboardQueries()) {
      const where = `dashboard panel "${q.panel}": ${q.expr}`;
      checks += await checkReferences(p, where, q.expr, '');
      // rate() and increase() need two scrapes inside their window: on a busy machine the second
      // one may still be due, so wait for data rather than read it once.
      const result = await waitFor(`${where} to return data`, async () => {
        const r = await p.query(q.expr);
        return r.length > 0 ? r : undefined;
      }, { timeoutMs: 60_000, intervalMs: 1000 });
      const legendLabels = [...(q.legend ?? '').matchAll(/\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}/g)].map((m) => m[1] ?? '');
      for (const label of legendLabels) {
        assert.ok(result.every((s) => label in s.metric), `${where}: the legend shows {{${label}}}, which the result lacks: ${JSON.stringify(result.map((s) => s.metric))}`);
        checks++;
      }
      checks++;
    }
    console.log(`# metrics-existence checks for ${dashboardQueries().length} dashboard queries: ${checks}`);
  });

  it('evaluates every rule without error; exactly the provoked alerts fire', async () => {
    const p = prometheus as PrometheusServer;
    const firing = await waitFor(
      'UnsealerHalted and DatabaseCredentialRotationFailing firing',
      async () => {
        const alerts = await p.query('ALERTS{alertstate="firing"}');
        const names = [...new Set(alerts.map((a) => a.metric.alertname ?? ''))].sort();
        return names.includes('UnsealerHalted') && names.includes('DatabaseCredentialRotationFailing') ? alerts : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    const rules = await p.api<{ groups: { rules: { name: string; health: string; lastError?: string }[] }[] }>('rules');
    const all = rules.groups.flatMap((g) => g.rules);
    assert.equal(all.length, alertRules().length);
    for (const r of all) assert.equal(r.health, 'ok', `${r.name}: ${r.lastError ?? ''}`);
    // The sealed vault-3 fires too once its 2 minutes are up (VaultNodeSealed has `for: 2m`).
    const names = firing.map((a) => `${a.metric.alertname} ${a.metric.pod}`).sort();
    assert.deepEqual(
      names.filter((n) => n !== 'VaultNodeSealed vault-3'),
      ['DatabaseCredentialRotationFailing users-admin-api-6b9d7f-p8m2z', 'UnsealerHalted vault-unsealer-7d4b9c-b'],
    );
    const sealed = await p.query('ALERTS{alertname="VaultNodeSealed"}');
    assert.deepEqual(sealed.map((a) => a.metric.pod), ['vault-3'], 'VaultNodeSealed pending or firing for the sealed pod only');
  });

  it('delivers UnsealerHalted through Alertmanager to the receiver', async () => {
    const line = await waitFor(
      'the receiver to log UnsealerHalted',
      () =>
        Promise.resolve(
          stack
            .log('alert-receiver')
            .split('\n')
            .filter((l) => l.startsWith('{'))
            .map((l) => JSON.parse(l) as { alertname?: string; status?: string; receiver?: string; labels?: Record<string, string> })
            .find((a) => a.alertname === 'UnsealerHalted'),
        ),
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    assert.equal(line.status, 'firing');
    assert.equal(line.receiver, 'on-call');
    assert.equal(line.labels?.pod, 'vault-unsealer-7d4b9c-b');
    assert.equal(line.labels?.severity, 'critical');
  });

  it('with the unsealers gone: the absent()/up-based expressions hold; the halted one exits 4', async () => {
    const p = prometheus as PrometheusServer;
    const unsealers = stack.processes.filter((x) => x.name.startsWith('vault-unsealer-'));
    await Promise.all(unsealers.map((u) => u.server.stop(15_000)));
    assert.equal(halted?.server.describeExit(), 'code 4', 'a halted unsealer exits 4 when stopped');
    const absent = alertRules().find((r) => r.alert === 'UnsealerAbsent')?.expr ?? '';
    const noLeader = alertRules().find((r) => r.alert === 'UnsealerNoLeader')?.expr ?? '';
    await waitFor(
      'UnsealerAbsent and UnsealerNoLeader conditions',
      async () => ((await p.query(absent)).length === 1 && (await p.query(noLeader)).length === 1 ? true : undefined),
      { timeoutMs: 30_000, intervalMs: 500 },
    );
  });
});

function post(url: string): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ title: 'qa', name: 'monitoring' }) });
}

/**
 * Checks one expression's references against the live Prometheus; returns how many checks
 * passed. Each selector (its equality matchers) must select series; labels it regex-matches must
 * be on them; by/without and group_left/right labels on some selector's series, on/ignoring
 * labels on every selector's; $labels of the templates on some selector's series.
 */
async function checkReferences(p: PrometheusServer, where: string, expr: string, templates: string): Promise<number> {
  const refs = promqlRefs(expr);
  assert.ok(refs.selectors.length > 0, `${where}: no selector found`);
  let checks = 0;
  const found: PrometheusSample[][] = [];
  for (const s of refs.selectors) {
    const series = await p.query(exactSelector(s));
    assert.ok(series.length > 0, `${where}: ${exactSelector(s)} selects nothing (metric renamed, or a label value?)`);
    checks++;
    for (const m of s.matchers.filter((x) => x.op === '=~')) {
      assert.ok(series.some((x) => m.label in x.metric), `${where}: no ${s.metric} series has the label ${m.label}`);
      checks++;
    }
    found.push(series);
  }
  const onSome = (label: string): boolean => found.some((series) => series.some((x) => label in x.metric));
  for (const label of [...refs.aggregationLabels, ...refs.joinLabels, ...templateLabels(templates)]) {
    assert.ok(onSome(label), `${where}: no selected series has the label ${label}`);
    checks++;
  }
  for (const label of refs.matchingLabels) {
    found.forEach((series, i) => assert.ok(series.every((x) => label in x.metric), `${where}: ${refs.selectors[i]?.metric} lacks the label ${label} it is matched on`));
    checks++;
  }
  return checks;
}
