// HTTP metrics by route template (never the raw URL: ids would explode the
// label set) and status. db-credentials registers its own metrics on the same
// registry, so /metrics shows both.
import { Counter, Histogram, type Registry } from 'prom-client';

export interface HttpMetrics {
  observe(method: string, route: string, status: number, seconds: number, errorCode: string | undefined): void;
}

export function createHttpMetrics(registry: Registry): HttpMetrics {
  const labelNames = ['method', 'route', 'status_code'] as const;
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by route template and status',
    labelNames,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  // The histogram's count per series, read at scrape time: counting each request a second
  // time cost as much again per request as the histogram's own hashing of the labels.
  new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests by route template and status',
    labelNames,
    registers: [registry],
    async collect() {
      this.reset();
      for (const { metricName, labels, value } of (await duration.get()).values) {
        if (metricName === 'http_request_duration_seconds_count') this.inc(labels, value);
      }
    },
  });
  const errors = new Counter({ name: 'http_request_errors_total', help: 'HTTP error responses by route template and error code', labelNames: ['route', 'error'], registers: [registry] });
  return {
    observe(method, route, status, seconds, errorCode) {
      duration.observe({ method, route, status_code: status }, seconds);
      if (errorCode !== undefined) errors.inc({ route, error: errorCode });
    },
  };
}
