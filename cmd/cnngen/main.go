// Command cnngen turns a CNN architecture (a built-in one or a YAML spec) into a specialized Go
// package, and inspects and runs architectures on the way there.
//
//	cnngen -list
//	cnngen -arch NAME|spec.yaml -summary [-json]
//	cnngen run -arch NAME|spec.yaml -weights W.safetensors -input IN.f32 -output OUT.f32
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/cnngen/cnngen/archspecs"
	"github.com/cnngen/cnngen/gen/frontend"
	"github.com/cnngen/cnngen/gen/report"
)

func main() {
	err := cli(os.Args[1:], os.Stdout, os.Stderr)
	if err == nil {
		return
	}
	var u usageError
	if errors.As(err, &u) {
		fmt.Fprintln(os.Stderr, "cnngen:", err)
		os.Exit(2)
	}
	fmt.Fprintln(os.Stderr, "cnngen:", err)
	os.Exit(1)
}

// usageError marks mistakes in the command line itself (exit status 2).
type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

const usage = `usage:
  cnngen -list                                      list the built-in architectures
  cnngen -arch NAME|spec.yaml -summary [-json]      per-layer table: shapes, params, MACs, activations
  cnngen run -arch NAME|spec.yaml -weights W.safetensors -input IN.f32 -output OUT.f32
                                                    run the float64 reference interpreter on raw
                                                    little-endian float32 NCHW input (any batch size)
`

func cli(args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		switch args[0] {
		case "run":
			return runCmd(args[1:], stdout, stderr)
		case "help":
			fmt.Fprint(stdout, usage)
			return nil
		}
		return usageError{fmt.Sprintf("unknown command %q\n%s", args[0], usage)}
	}
	fs := flag.NewFlagSet("cnngen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	list := fs.Bool("list", false, "list the built-in architectures")
	arch := fs.String("arch", "", "built-in architecture name or path to a YAML spec")
	summary := fs.Bool("summary", false, "print the per-layer summary")
	asJSON := fs.Bool("json", false, "with -summary: print one JSON object")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q\n%s", fs.Arg(0), usage)}
	}
	switch {
	case *list:
		return listArchs(stdout)
	case *summary:
		g, err := frontend.Load(*arch)
		if err != nil {
			return err
		}
		s := report.Summarize(g)
		if *asJSON {
			return report.WriteJSON(stdout, s)
		}
		return report.WriteTable(stdout, s)
	}
	return usageError{"nothing to do\n" + usage}
}

func listArchs(w io.Writer) error {
	for _, name := range archspecs.Names() {
		g, err := frontend.Load(name)
		if err != nil {
			return err
		}
		t := g.Totals()
		fmt.Fprintf(w, "%-16s %12s params %9.3f GMACs  %s\n", name, report.Group(t.Params), float64(t.MACs)/1e9, firstLine(g.Description))
	}
	return nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}
