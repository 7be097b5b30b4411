// deploy/monitoring checked by promtool, built from the Prometheus Go module by testbed/build.sh
// (a missing promtool fails here, naming the build command): the rules and the configuration
// load, and the promtool unit tests (deploy/monitoring/tests) show every alert firing and not firing.
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse, stringify } from 'yaml';
import { promqlRefs, promtool } from '@rotor/testbed';
import { MONITORING, RULES_FILE, RULE_TESTS_DIR, alertRules, dashboardQueries, prometheusConfig, ruleGroups, ruleTestCases, ruleTestFiles } from './monitoring.ts';

describe('alert rules (deploy/monitoring/rules.yaml)', () => {
  it('load in promtool', async () => {
    const run = await promtool(['check', 'rules', RULES_FILE]);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, new RegExp(`SUCCESS: ${alertRules().length} rules found`));
  });

  it('each have a promtool case where they fire and one where they do not', () => {
    const cases = ruleTestCases();
    const known = new Set(alertRules().map((r) => r.alert));
    for (const c of cases) assert.ok(known.has(c.alertname), `${c.file} (${c.group}) tests ${c.alertname}, which rules.yaml does not have`);
    for (const alert of known) {
      assert.ok(cases.some((c) => c.alertname === alert && c.fires), `no case in which ${alert} fires`);
      assert.ok(cases.some((c) => c.alertname === alert && !c.fires), `no case in which ${alert} stays silent`);
    }
  });

  it('pass their promtool unit tests', async () => {
    const files = ruleTestFiles();
    assert.ok(files.length > 0);
    const run = await promtool(['test', 'rules', ...files], { cwd: RULE_TESTS_DIR });
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.equal((run.stdout.match(/SUCCESS/g) ?? []).length, files.length, run.stdout);
  });

  describe('against the rules this issue replaced', () => {
    let dir: string;
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'rotor-rules-'));
      cpSync(RULE_TESTS_DIR, join(dir, 'tests'), { recursive: true });
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    // The same unit tests catch the old expressions: they are not written to pass whatever the rule.
    for (const [alert, oldExpr, why] of [
      ['UnsealerHalted', 'increase(rotor_unsealer_passes_total{result="alarm"}[5m]) > 0', 'increase() ignores a brand-new series'],
      ['UnsealerNoLeader', 'sum(rotor_unsealer_leading) < 1', 'an absent unsealer gives an empty sum'],
      ['DatabaseCredentialsExpireBeforeRotation', 'min by (namespace, pod) (rotor_db_credentials_expiry_timestamp_seconds) - time() < 600', 'no delivery mode, unknown expiry exported as 0'],
      ['DatabaseCredentialRotationFailing', 'increase(rotor_db_credentials_rotation_failures_total[10m]) > 0', 'the first failure is a new series'],
    ] as const) {
      it(`fail with the old ${alert} (${why})`, async () => {
        const groups = ruleGroups();
        const rule = groups.flatMap((g) => g.rules).find((r) => r.alert === alert);
        assert.ok(rule);
        rule.expr = oldExpr;
        writeFileSync(join(dir, 'rules.yaml'), stringify({ groups }));
        const run = await promtool(['test', 'rules', ...ruleTestFiles()], { cwd: join(dir, 'tests') });
        assert.notEqual(run.code, 0, 'the unit tests pass with the old rule');
        assert.match(run.stdout + run.stderr, new RegExp(`alertname: ${alert},`));
      });
    }
  });
});

describe('the PrometheusRule of the prometheus-operator variant', () => {
  it('holds the same groups as rules.yaml', () => {
    const rule = parse(readFileSync(join(MONITORING, '../components/prometheus-operator/prometheus-rule.yaml'), 'utf8')) as { spec: { groups: unknown } };
    assert.deepEqual(rule.spec.groups, ruleGroups(), 'out of date: run node deploy/components/prometheus-operator/generate.mjs');
  });
});

describe('prometheus.yml (the prometheus-config ConfigMap)', () => {
  it('passes promtool check config, with the rule files it names', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rotor-promconfig-'));
    try {
      const config = prometheusConfig();
      assert.deepEqual(config.rule_files, ['/etc/prometheus/rules/*.yaml'], 'the rules ConfigMap is mounted there');
      config.rule_files = [join(dir, 'rules', '*.yaml')];
      cpSync(RULES_FILE, join(dir, 'rules', 'rules.yaml'));
      // promtool checks that the scrape job's CA file (the vault-ca Secret's mount) exists.
      const job = config.scrape_configs[0] as { tls_config?: { ca_file?: string } };
      const tls = job.tls_config;
      assert.ok(tls?.ca_file === '/etc/vault-ca/ca.crt', `the scrape job trusts the vault-ca mount: ${JSON.stringify(tls)}`);
      tls.ca_file = join(dir, 'vault-ca.crt');
      writeFileSync(tls.ca_file, '');
      writeFileSync(join(dir, 'prometheus.yml'), stringify(config));
      const run = await promtool(['check', 'config', join(dir, 'prometheus.yml')]);
      assert.equal(run.code, 0, run.stdout + run.stderr);
      assert.match(run.stdout, new RegExp(`SUCCESS: ${alertRules().length} rules found`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('sends alerts to the Alertmanager Service', () => {
    const alerting = prometheusConfig().alerting as { alertmanagers: { static_configs?: { targets: string[] }[] }[] } | undefined;
    const targets = alerting?.alertmanagers.flatMap((a) => a.static_configs ?? []).flatMap((s) => s.targets) ?? [];
    assert.deepEqual(targets, ['alertmanager.monitoring.svc:9093']);
  });
});

describe('the Grafana dashboard (deploy/monitoring/dashboards/rotor.json)', () => {
  it('has a panel for each view the on-call engineer needs', () => {
    const panels = new Set(dashboardQueries().map((q) => q.panel));
    for (const title of ['Unseal state per node', 'Raft health', 'Leases per role', 'Rotations by reason and mode', 'Seconds to expiry per pod', 'Request rate', 'Errors']) {
      assert.ok(panels.has(title), `no panel "${title}"`);
    }
  });

  it('has queries that all parse (promtool, as recording rules)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rotor-dashboard-'));
    try {
      const queries = dashboardQueries();
      const rules = queries.map((q, i) => ({ record: `dashboard:query_${i}`, expr: q.expr }));
      writeFileSync(join(dir, 'dashboard.yaml'), stringify({ groups: [{ name: 'dashboard', rules }] }));
      const run = await promtool(['check', 'rules', join(dir, 'dashboard.yaml')]);
      assert.equal(run.code, 0, run.stdout + run.stderr);
      assert.match(run.stdout, new RegExp(`SUCCESS: ${queries.length} rules found`));
      // The check is real: a query that does not parse fails it.
      writeFileSync(join(dir, 'broken.yaml'), stringify({ groups: [{ name: 'b', rules: [{ record: 'b:q', expr: 'sum by (pod (up)' }] }] }));
      assert.notEqual((await promtool(['check', 'rules', join(dir, 'broken.yaml')])).code, 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is provisioned by a ConfigMap labelled for Grafana', () => {
    const kustomization = parse(readFileSync(join(MONITORING, 'kustomization.yaml'), 'utf8')) as {
      configMapGenerator: { name: string; namespace: string; files: string[]; options?: { labels?: Record<string, string> } }[];
    };
    const generator = kustomization.configMapGenerator.find((g) => g.files.includes('rotor.json=dashboards/rotor.json'));
    assert.ok(generator, 'a configMapGenerator for dashboards/rotor.json');
    assert.equal(generator.namespace, 'monitoring');
    assert.deepEqual(generator.options?.labels, { grafana_dashboard: '1' });
  });
});

describe('promqlRefs (what the metrics-existence test checks)', () => {
  it('finds selectors, grouping and join labels, and skips functions, keywords and ranges', () => {
    const refs = promqlRefs(
      '(rotor_x{a="1",b=~"2.."} > 0) - time() < on (namespace, pod) group_left (mode) (0.5 * sum by (pod) (rate(y_total[5m] offset 1h))) or vector(0) unless absent(up{app="u"} == 1)',
    );
    assert.deepEqual(
      refs.selectors.map((s) => s.metric),
      ['rotor_x', 'y_total', 'up'],
    );
    assert.deepEqual(refs.selectors[0]?.matchers, [
      { label: 'a', op: '=', value: '1' },
      { label: 'b', op: '=~', value: '2..' },
    ]);
    assert.deepEqual(refs.matchingLabels, ['namespace', 'pod']);
    assert.deepEqual(refs.aggregationLabels, ['pod']);
    assert.deepEqual(refs.joinLabels, ['mode']);
  });

  it('reads every selector of the shipped rules', () => {
    for (const rule of alertRules()) assert.ok(promqlRefs(rule.expr).selectors.length > 0, rule.alert);
    // Sanity: the file the rules come from is the one promtool checked.
    assert.ok(readFileSync(RULES_FILE, 'utf8').includes('UnsealerHalted'));
  });
});
