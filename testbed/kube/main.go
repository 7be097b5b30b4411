// Command rotor-kube is the testbed's Kubernetes control plane as one
// multi-call binary, so the shared dependencies are compiled and linked once:
//
//	rotor-kube etcd [etcd flags]
//	rotor-kube kube-apiserver [kube-apiserver flags]
package main

import (
	"fmt"
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: rotor-kube etcd|kube-apiserver [flags]")
		os.Exit(2)
	}
	name, args := os.Args[1], os.Args[2:]
	switch name {
	case "etcd":
		etcdmain.Main(append([]string{name}, args...))
	case "kube-apiserver":
		cmd := app.NewAPIServerCommand()
		cmd.SetArgs(args)
		os.Exit(cli.Run(cmd))
	default:
		fmt.Fprintf(os.Stderr, "rotor-kube: unknown command %q (want etcd or kube-apiserver)\n", name)
		os.Exit(2)
	}
}
