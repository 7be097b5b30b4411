// Command rotor-kube is the testbed's Kubernetes as one multi-call binary, so
// the shared dependencies are compiled and linked once:
//
//	rotor-kube etcd [etcd flags]
//	rotor-kube kube-apiserver|kube-controller-manager|kube-scheduler [flags]
//	rotor-kube kubelet|kube-proxy [flags]
//	rotor-kube kubectl [kubectl args]
//
// A symlink named after a command runs it too (kubectl -> rotor-kube).
// Each command runs exactly what its upstream main does (k8s.io/kubernetes/cmd/*).
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	_ "time/tzdata" // CronJob time zones (kube-apiserver, kube-controller-manager)

	"github.com/spf13/cobra"
	"go.etcd.io/etcd/server/v3/etcdmain"
	"k8s.io/component-base/cli"
	"k8s.io/component-base/logs"
	_ "k8s.io/component-base/logs/json/register"          // --logging-format=json
	_ "k8s.io/component-base/metrics/prometheus/clientgo" // client-go metrics
	_ "k8s.io/component-base/metrics/prometheus/version"  // version metric
	kubectl "k8s.io/kubectl/pkg/cmd"
	kubectlutil "k8s.io/kubectl/pkg/cmd/util"
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	proxy "k8s.io/kubernetes/cmd/kube-proxy/app"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"
	kubelet "k8s.io/kubernetes/cmd/kubelet/app"
)

var servers = map[string]func() *cobra.Command{
	"kube-apiserver":          apiserver.NewAPIServerCommand,
	"kube-controller-manager": controllermanager.NewControllerManagerCommand,
	"kube-scheduler":          func() *cobra.Command { return scheduler.NewSchedulerCommand() },
	"kube-proxy":              proxy.NewProxyCommand,
	"kubelet":                 func() *cobra.Command { return kubelet.NewKubeletCommand(context.Background()) },
}

func commands() []string {
	names := []string{"etcd", "kubectl"}
	for name := range servers {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

func main() {
	name, args := filepath.Base(os.Args[0]), os.Args[1:]
	if name == "rotor-kube" {
		if len(args) == 0 {
			fmt.Fprintf(os.Stderr, "usage: rotor-kube %s [args]\n", strings.Join(commands(), "|"))
			os.Exit(2)
		}
		name, args = args[0], args[1:]
	}
	// Upstream mains (cobra, kubectl's plugin handler) read os.Args: make it
	// what the standalone binary would see.
	os.Args = append([]string{name}, args...)
	switch name {
	case "etcd":
		etcdmain.Main(os.Args)
	case "kubectl":
		// As cmd/kubectl: klog verbosity is needed before the command is built.
		_, _ = logs.GlogSetter(kubectl.GetLogVerbosity(os.Args))
		if err := cli.RunNoErrOutput(kubectl.NewDefaultKubectlCommand()); err != nil {
			kubectlutil.CheckErr(err)
		}
	default:
		newCommand, ok := servers[name]
		if !ok {
			fmt.Fprintf(os.Stderr, "rotor-kube: unknown command %q (want %s)\n", name, strings.Join(commands(), ", "))
			os.Exit(2)
		}
		os.Exit(cli.Run(newCommand()))
	}
}
