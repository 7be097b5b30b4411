import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { paint, stripColor } from '../src/color.ts';
import { assembleNodes, nodeProblems } from '../src/status/assemble.ts';
import type { NodeObservation, StatusReport } from '../src/status/model.ts';
import { renderStatus } from '../src/status/render.ts';
import { gaugeValue, unsealerProblems } from '../src/status/unsealer.ts';

const up = (address: string, active: boolean): NodeObservation => ({ address, reachable: true, initialized: true, sealed: false, active, progress: 0, threshold: 3 });
const observations = (...list: NodeObservation[]) => new Map(list.map((o) => [o.address, o]));

describe('assembleNodes', () => {
  const raft = [
    { nodeId: 'node-1', address: '127.0.0.2:8201', leader: true, voter: true },
    { nodeId: 'node-2', address: '127.0.0.3:8201', leader: false, voter: true },
    { nodeId: 'node-3', address: '127.0.0.4:8201', leader: false, voter: false },
  ];

  it('pairs HA nodes with raft peers by cluster address and names them by node id', () => {
    const ha = [
      { hostname: 'vm', apiAddress: 'http://127.0.0.2:8200', clusterAddress: 'https://127.0.0.2:8201', activeNode: true },
      { hostname: 'vm', apiAddress: 'http://127.0.0.3:8200', clusterAddress: 'https://127.0.0.3:8201', activeNode: false },
    ];
    const nodes = assembleNodes({ targets: [], ha, raft, observations: observations(up('http://127.0.0.2:8200', true), up('http://127.0.0.3:8200', false)) });
    assert.deepEqual(
      nodes.map((n) => [n.id, n.address, n.state, n.raft?.voter]),
      [
        ['node-1', 'http://127.0.0.2:8200', 'active', true],
        ['node-2', 'http://127.0.0.3:8200', 'standby', true],
        ['node-3', undefined, 'unknown', false],
      ],
    );
    const problems = nodeProblems(nodes, true);
    assert.equal(problems.length, 2);
    assert.match(problems[0] ?? '', /node-3 .*no known API address/);
    assert.match(problems[1] ?? '', /node-3 is a raft non-voter/);
  });

  it('a sealed node named on the command line pairs with its raft peer by host', () => {
    const sealed: NodeObservation = { address: 'http://127.0.0.4:8200', reachable: true, initialized: true, sealed: true, progress: 1, threshold: 3 };
    const nodes = assembleNodes({
      targets: [{ id: 'http://127.0.0.4:8200', address: 'http://127.0.0.4:8200' }],
      ha: [{ apiAddress: 'http://127.0.0.2:8200', clusterAddress: 'https://127.0.0.2:8201', activeNode: true }],
      raft,
      observations: observations(up('http://127.0.0.2:8200', true), sealed),
    });
    const node3 = nodes.find((n) => n.id === 'node-3');
    assert.deepEqual([node3?.state, node3?.unsealProgress, node3?.address], ['sealed', '1/3', 'http://127.0.0.4:8200']);
    assert.ok(nodeProblems(nodes, true).includes('node-3 is sealed (unseal 1/3)'));
  });

  it('pods pair with raft peers by name even when addresses differ (DNS vs IP)', () => {
    const nodes = assembleNodes({
      targets: [{ id: 'vault-0', address: 'http://10.0.0.5:8200' }],
      raft: [{ nodeId: 'vault-0', address: 'vault-0.vault-internal:8201', leader: true, voter: true }],
      observations: observations(up('http://10.0.0.5:8200', true)),
    });
    assert.deepEqual(nodes.map((n) => [n.id, n.raft?.leader]), [['vault-0', true]]);
    assert.deepEqual(nodeProblems(nodes, true), []);
  });

  it('without the raft view, raft is unknown and not a problem; unreachable and no leader are', () => {
    const nodes = assembleNodes({
      targets: [
        { id: 'a', address: 'http://127.0.0.2:8200' },
        { id: 'b', address: 'http://127.0.0.3:8200' },
      ],
      observations: observations({ address: 'http://127.0.0.2:8200', reachable: false, error: 'network' }, up('http://127.0.0.3:8200', false)),
    });
    assert.deepEqual(nodes.map((n) => [n.id, n.state, n.raft]), [['a', 'unreachable', undefined], ['b', 'standby', undefined]]);
    assert.deepEqual(nodeProblems(nodes, false), ['a is unreachable (network)', 'no active node']);
  });

  it('shared hostnames do not name nodes', () => {
    const nodes = assembleNodes({
      targets: [],
      ha: [
        { hostname: 'vm', apiAddress: 'http://127.0.0.2:8200', activeNode: true },
        { hostname: 'vm', apiAddress: 'http://127.0.0.3:8200', activeNode: false },
      ],
      observations: observations(up('http://127.0.0.2:8200', true), up('http://127.0.0.3:8200', false)),
    });
    assert.deepEqual(nodes.map((n) => n.id), ['http://127.0.0.2:8200', 'http://127.0.0.3:8200']);
  });
});

describe('unsealer', () => {
  it('reads an unlabelled gauge from Prometheus text', () => {
    const text = '# HELP rotor_unsealer_leading x\n# TYPE rotor_unsealer_leading gauge\nrotor_unsealer_leading 1\nrotor_unsealer_leading_other 0\n';
    assert.equal(gaugeValue(text, 'rotor_unsealer_leading'), 1);
    assert.equal(gaugeValue(text, 'missing'), undefined);
  });

  it('names a halted, paused, unreachable or leaderless unsealer', () => {
    assert.deepEqual(unsealerProblems({ url: 'http://u', reachable: true, healthy: true, state: 'running' }), []);
    assert.deepEqual(unsealerProblems({ url: 'http://u', reachable: true, healthy: false, state: 'halted', detail: 'UNSEALER_WRONG_KEYS' }), ['the unsealer is halted (UNSEALER_WRONG_KEYS)']);
    assert.match(unsealerProblems({ url: 'http://u', reachable: true, healthy: true, paused: true })[0] ?? '', /paused/);
    assert.match(unsealerProblems({ url: 'http://u', reachable: false, error: 'fetch failed' })[0] ?? '', /unreachable/);
    assert.match(unsealerProblems({ lease: { name: 'vault/vault-unsealer', holder: 'pod-a', renewedSecondsAgo: 90, durationSeconds: 15, expired: true } })[0] ?? '', /no unsealer holds the Lease vault\/vault-unsealer \(pod-a stopped renewing it 90 s ago\)/);
  });
});

describe('renderStatus', () => {
  const report: StatusReport = {
    cluster: { address: 'http://127.0.0.2:8200', leader: 'node-1', raftRead: true },
    nodes: [
      { id: 'node-1', address: 'http://127.0.0.2:8200', state: 'active', raft: { nodeId: 'node-1', address: 'x', leader: true, voter: true } },
      { id: 'node-2', address: 'http://127.0.0.3:8200', state: 'sealed', unsealProgress: '0/3', raft: { nodeId: 'node-2', address: 'y', leader: false, voter: true } },
    ],
    unsealer: { url: 'http://u:9102', reachable: true, healthy: true, state: 'running', leading: true },
    drift: { config: 'vault.yaml', checked: true, inSync: false, resources: 3, changes: [{ op: 'update', id: 'sys/policies/acl/reader' }] },
    problems: ['node-2 is sealed (unseal 0/3)'],
  };

  it('plain text without colour codes', () => {
    const text = renderStatus(report, paint(false));
    assert.ok(!text.includes('\u001b['));
    assert.match(text, /node-2\s+http:\/\/127\.0\.0\.3:8200\s+sealed \(0\/3\)\s+follower, voter/);
    assert.ok(text.includes('Unsealer  http://u:9102  running; leading; pause: unknown'), text);
    assert.ok(text.includes('Config  vault.yaml: drift: 1 change(s)\n  update  sys/policies/acl/reader'), text);
    assert.ok(text.includes('1 problem(s):\n  - node-2 is sealed'), text);
  });

  it('colour codes when asked, columns still aligned', () => {
    const text = renderStatus(report, paint(true));
    assert.ok(text.includes('\u001b[31msealed (0/3)\u001b[0m'));
    assert.equal(stripColor(text), renderStatus(report, paint(false)));
  });
});
