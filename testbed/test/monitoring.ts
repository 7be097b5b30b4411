// The shipped monitoring files (deploy/monitoring) as the tests read them: the alert rules, the
// promtool unit tests, the Prometheus configuration inside its ConfigMap, and the Grafana
// dashboard's queries. Shared by monitoring-rules.test.ts (promtool) and monitoring.int.test.ts
// (a real Prometheus).
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const MONITORING = `${REPO}deploy/monitoring`;
export const RULES_FILE = `${MONITORING}/rules.yaml`;
export const RULE_TESTS_DIR = `${MONITORING}/tests`;
export const DASHBOARD_FILE = `${MONITORING}/dashboards/rotor.json`;

export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface RuleGroup {
  name: string;
  rules: AlertRule[];
}

export function ruleGroups(text = readFileSync(RULES_FILE, 'utf8')): RuleGroup[] {
  return (parse(text) as { groups: RuleGroup[] }).groups;
}

export function alertRules(): AlertRule[] {
  return ruleGroups().flatMap((g) => g.rules);
}

export interface RuleTestCase {
  file: string;
  group: string;
  alertname: string;
  evalTime: string;
  fires: boolean;
}

/** Every alert_rule_test of the promtool unit tests, with whether it expects the alert to fire. */
export function ruleTestCases(): RuleTestCase[] {
  const cases: RuleTestCase[] = [];
  for (const file of ruleTestFiles()) {
    const doc = parse(readFileSync(`${RULE_TESTS_DIR}/${file}`, 'utf8')) as {
      tests: { name?: string; alert_rule_test?: { eval_time: string; alertname: string; exp_alerts?: unknown[] }[] }[];
    };
    for (const test of doc.tests) {
      for (const c of test.alert_rule_test ?? []) {
        cases.push({ file, group: test.name ?? '', alertname: c.alertname, evalTime: c.eval_time, fires: (c.exp_alerts ?? []).length > 0 });
      }
    }
  }
  return cases;
}

export function ruleTestFiles(): string[] {
  return readdirSync(RULE_TESTS_DIR)
    .filter((f) => f.endsWith('.test.yaml'))
    .sort();
}

interface K8sObject {
  kind: string;
  metadata: { name: string; namespace?: string };
  data?: Record<string, string>;
}

/** An object of a multi-document manifest file under deploy/monitoring. */
export function manifestObject(file: string, kind: string, name: string): K8sObject {
  const docs = parseAllDocuments(readFileSync(`${MONITORING}/${file}`, 'utf8')).map((d) => d.toJS() as K8sObject | null);
  const found = docs.find((o) => o?.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`${kind} ${name} not found in deploy/monitoring/${file}`);
  return found;
}

/** prometheus.yml from the prometheus-config ConfigMap, parsed. */
export function prometheusConfig(): Record<string, unknown> & { scrape_configs: Record<string, unknown>[] } {
  const text = manifestObject('prometheus.yaml', 'ConfigMap', 'prometheus-config').data?.['prometheus.yml'];
  if (text === undefined) throw new Error('prometheus-config has no prometheus.yml');
  return parse(text) as Record<string, unknown> & { scrape_configs: Record<string, unknown>[] };
}

export interface DashboardQuery {
  panel: string;
  expr: string;
  legend?: string;
}

interface Panel {
  title: string;
  type: string;
  targets?: { expr: string; legendFormat?: string }[];
  panels?: Panel[];
}

/** Every query of every panel of the Grafana dashboard. */
export function dashboardQueries(text = readFileSync(DASHBOARD_FILE, 'utf8')): DashboardQuery[] {
  const dashboard = JSON.parse(text) as { panels: Panel[] };
  const queries: DashboardQuery[] = [];
  const visit = (panels: Panel[]): void => {
    for (const p of panels) {
      for (const t of p.targets ?? []) queries.push({ panel: p.title, expr: t.expr, ...(t.legendFormat ? { legend: t.legendFormat } : {}) });
      visit(p.panels ?? []);
    }
  };
  visit(dashboard.panels);
  return queries;
}
