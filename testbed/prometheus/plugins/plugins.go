// Package plugins stands in for github.com/prometheus/prometheus/plugins:
// testbed/build.sh builds a vendored copy of this module with this file in
// upstream's place. Upstream registers some 25 service discoveries (AWS, Azure,
// GCE, Consul, ...) whose SDKs dominate the compile; the testbed's Prometheus
// needs only kubernetes_sd_configs (file, http and static discovery come with
// Prometheus itself, see upstream's plugins/minimum.go).
package plugins

import (
	// Register kubernetes plugin.
	_ "github.com/prometheus/prometheus/discovery/kubernetes"
)
