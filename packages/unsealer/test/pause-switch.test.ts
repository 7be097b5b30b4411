// The pause switch's reading of the ConfigMap (docs/unsealer.md, "Pause switch").
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pausedFromConfigMap } from '../src/index.ts';

describe('pausedFromConfigMap', () => {
  it('absent ConfigMap, absent key or "false": not paused', () => {
    assert.equal(pausedFromConfigMap(undefined), false);
    assert.equal(pausedFromConfigMap({}), false);
    assert.equal(pausedFromConfigMap({ data: { other: 'true' } }), false);
    assert.equal(pausedFromConfigMap({ data: { paused: 'false' } }), false);
    assert.equal(pausedFromConfigMap({ data: { paused: ' FALSE\n' } }), false);
  });

  it('"true", and any other value (a wrong pause is safer than a wrong unseal): paused', () => {
    for (const value of ['true', 'True', 'yes', '1', '']) assert.equal(pausedFromConfigMap({ data: { paused: value } }), true, JSON.stringify(value));
  });
});
