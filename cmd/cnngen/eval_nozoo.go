//go:build cnngen_nozoo

package main

import (
	"errors"
	"io"
)

// This build (used by go generate) leaves out the generated packages, so that cnngen can always
// regenerate them, even when they no longer compile.
func evalCmd(args []string, stdout, stderr io.Writer) error {
	return errors.New("eval is not available in a cnngen_nozoo build")
}
