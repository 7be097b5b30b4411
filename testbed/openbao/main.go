// Command bao is OpenBao's own CLI and server, built from its Go module so the
// testbed needs no release download. Nothing here changes OpenBao's behaviour.
package main

import (
	"os"

	"github.com/openbao/openbao/command"
)

func main() {
	os.Exit(command.Run(os.Args[1:]))
}
