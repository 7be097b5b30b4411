import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { createHttpMetrics } from '../src/metrics.ts';

describe('createHttpMetrics', () => {
  it('counts requests per route template and status, next to their durations and error codes', async () => {
    const registry = new Registry();
    const metrics = createHttpMetrics(registry);
    metrics.observe('GET', '/users/:id', 200, 0.004, undefined);
    metrics.observe('GET', '/users/:id', 200, 0.02, undefined);
    metrics.observe('GET', '/users/:id', 404, 0.003, 'USERS_ERR_USER_NOT_FOUND');
    metrics.observe('POST', '/users', 403, 0.002, 'USERS_ERR_FORBIDDEN_BY_DATABASE_ROLE');
    const text = await registry.metrics();
    const lines = text.split('\n');
    for (const line of [
      'http_requests_total{method="GET",route="/users/:id",status_code="200"} 2',
      'http_requests_total{method="GET",route="/users/:id",status_code="404"} 1',
      'http_requests_total{method="POST",route="/users",status_code="403"} 1',
      'http_request_duration_seconds_count{method="GET",route="/users/:id",status_code="200"} 2',
      'http_request_duration_seconds_bucket{le="0.005",method="GET",route="/users/:id",status_code="200"} 1',
      'http_request_duration_seconds_bucket{le="0.025",method="GET",route="/users/:id",status_code="200"} 2',
      'http_request_errors_total{route="/users/:id",error="USERS_ERR_USER_NOT_FOUND"} 1',
      'http_request_errors_total{route="/users",error="USERS_ERR_FORBIDDEN_BY_DATABASE_ROLE"} 1',
      '# TYPE http_requests_total counter',
    ]) {
      assert.ok(lines.includes(line), `${line}\n---\n${text}`);
    }
    // A second scrape reports the same totals, not doubled ones.
    metrics.observe('GET', '/users/:id', 200, 0.001, undefined);
    assert.ok((await registry.metrics()).split('\n').includes('http_requests_total{method="GET",route="/users/:id",status_code="200"} 3'));
  });
});
