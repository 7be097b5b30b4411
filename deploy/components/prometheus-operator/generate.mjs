// Writes prometheus-rule.yaml from deploy/monitoring/rules.yaml (the same groups), so the
// operator variant alerts exactly as Rotor's own Prometheus does:
//   node deploy/components/prometheus-operator/generate.mjs
// testbed/test/monitoring-rules.test.ts fails when the file is out of date.
import { readFileSync, writeFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';

const here = new URL('.', import.meta.url);
const { groups } = parse(readFileSync(new URL('../../monitoring/rules.yaml', here), 'utf8'));
const rule = {
  apiVersion: 'monitoring.coreos.com/v1',
  kind: 'PrometheusRule',
  metadata: { name: 'rotor', namespace: 'monitoring', labels: { 'app.kubernetes.io/part-of': 'rotor' } },
  spec: { groups },
};
const header = [
  '# Generated from deploy/monitoring/rules.yaml by generate.mjs (beside this file): the same groups.',
  '# Edit rules.yaml, then run `node deploy/components/prometheus-operator/generate.mjs`.',
  '',
].join('\n');
writeFileSync(new URL('prometheus-rule.yaml', here), header + stringify(rule, { lineWidth: 0 }));
