// Command vault is HashiCorp Vault's own CLI and server, built from its Go module
// so the testbed needs no release download. Nothing here changes Vault's behaviour.
package main

import (
	"os"

	"github.com/hashicorp/vault/command"
)

func main() {
	os.Exit(command.Run(os.Args[1:]))
}
