package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"runtime/debug"
	"strings"
)

// cnngenModule is this module's path: what a benchmark module requires.
const cnngenModule = "github.com/cnngen/cnngen"

// moduleSource is where a benchmark module gets cnngen (its runtime and internal/benchrun) from:
// the source tree this cnngen was built from, or the module version it was built as.
type moduleSource struct {
	require string // the version go.mod requires
	replace string // the source folder that replaces it, or ""
	goSum   []byte // cnngen's go.sum (its dependencies), plus its own sums when required by version
	goLine  string // cnngen's go directive, e.g. "go 1.26.0"
}

// findSource finds the cnngen that the benchmark module builds against, so that the program
// runs the same runtime and kernels as this cnngen:
//
//   - run from a source tree (go run ./cmd/cnngen, or a binary built there, which records the
//     tree's absolute paths): that tree, by a replace directive;
//   - installed (go install ...@v1.2.3, or `go tool cnngen` in a module that requires it): the
//     module version it was built as, which the go command takes from the module cache, or
//     fetches through GOPROXY and checks against GOSUMDB like any dependency.
//
// A binary built with -trimpath in a source tree (no paths, no version) cannot say where its
// source is: that is an error saying how to run cnngen instead.
func findSource(ctx context.Context, goTool string) (moduleSource, error) {
	_, file, _, _ := goruntime.Caller(0)
	return locateSource(ctx, goTool, moduleRoot(file), builtVersion())
}

// locateSource is findSource given the module root of cnngen's compiled files ("" if unknown)
// and the version it was built as.
func locateSource(ctx context.Context, goTool, root, version string) (moduleSource, error) {
	// A module cache folder is named path@version: it is taken by version, with its sums, and
	// by replace only when the version cannot be fetched (a replaced dependency's copy).
	inCache := strings.Contains(filepath.Base(root), "@")
	switch {
	case root != "" && !inCache:
		return localSource(root)
	case isRelease(version):
		return downloadSource(ctx, goTool, version)
	case root != "":
		return localSource(root)
	}
	return moduleSource{}, fmt.Errorf("cannot find the cnngen source to build the benchmark program with: this cnngen (version %q) was built without its source paths (-trimpath) or its tree has moved; run it from its source tree (go run ./cmd/cnngen), or install a released version (go install %s/cmd/cnngen@VERSION)", version, cnngenModule)
}

// moduleRoot is the folder of cnngen's go.mod above file, if file is an absolute path of this
// machine inside a cnngen module tree ("" otherwise: -trimpath paths, a tree since removed).
func moduleRoot(file string) string {
	if !filepath.IsAbs(file) {
		return ""
	}
	for dir := filepath.Dir(file); ; dir = filepath.Dir(dir) {
		if p := modulePath(filepath.Join(dir, "go.mod")); p != "" {
			if p == cnngenModule {
				return dir
			}
			return "" // another module's file: not a tree cnngen can build against
		}
		if dir == filepath.Dir(dir) {
			return ""
		}
	}
}

// modulePath is the module path a go.mod file declares, "" if there is no such file.
func modulePath(gomod string) string {
	data, err := os.ReadFile(gomod)
	if err != nil {
		return ""
	}
	return directive(data, "module")
}

// directive is the argument of a go.mod's first line starting with the keyword.
func directive(gomod []byte, keyword string) string {
	sc := bufio.NewScanner(bytes.NewReader(gomod))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), keyword+" "); ok {
			rest, _, _ = strings.Cut(rest, "//")
			return strings.Trim(strings.TrimSpace(rest), `"`)
		}
	}
	return ""
}

// builtVersion is the version of cnngen's module this binary was built from: the main module's
// (go install path@version) or a dependency's (go tool cnngen); "" when replaced, as a
// replacement's version names nothing the go command can fetch.
func builtVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	for _, m := range append([]*debug.Module{&info.Main}, info.Deps...) {
		if m.Path == cnngenModule {
			if m.Replace != nil {
				return ""
			}
			return m.Version
		}
	}
	return ""
}

// isRelease reports whether v is a version a module proxy can serve: not "(devel)", and not a
// version the go command stamped on a build from a modified checkout (+dirty).
func isRelease(v string) bool {
	return strings.HasPrefix(v, "v") && !strings.Contains(v, "+")
}

// localSource builds against the source tree at root.
func localSource(root string) (moduleSource, error) {
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return moduleSource{}, err
	}
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil && !os.IsNotExist(err) {
		return moduleSource{}, err
	}
	return moduleSource{require: "v0.0.0", replace: root, goSum: sum, goLine: goLine(gomod)}, nil
}

// downloadSource requires cnngen at version, with the sums the go command checked when it
// downloaded that version (from the module cache when it is there: no network).
func downloadSource(ctx context.Context, goTool, version string) (moduleSource, error) {
	cmd := exec.CommandContext(ctx, goTool, "mod", "download", "-json", cnngenModule+"@"+version)
	cmd.Dir, cmd.Env = os.TempDir(), goEnv() // outside any module: only the version matters
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, runErr := cmd.Output()
	var d struct{ Dir, Sum, GoModSum, Error string }
	if err := json.Unmarshal(out, &d); err != nil || d.Error != "" || runErr != nil {
		msg := strings.TrimSpace(d.Error + "\n" + stderr.String())
		if msg == "" && runErr != nil {
			msg = runErr.Error()
		}
		return moduleSource{}, fmt.Errorf("this cnngen was installed as %s@%s, and the go command cannot get that version for the benchmark module (it uses your module cache, GOPROXY, GOFLAGS and GONOSUMDB like any build): %s", cnngenModule, version, msg)
	}
	gomod, err := os.ReadFile(filepath.Join(d.Dir, "go.mod"))
	if err != nil {
		return moduleSource{}, err
	}
	sum, err := os.ReadFile(filepath.Join(d.Dir, "go.sum"))
	if err != nil && !os.IsNotExist(err) {
		return moduleSource{}, err
	}
	if len(sum) > 0 && sum[len(sum)-1] != '\n' {
		sum = append(sum, '\n')
	}
	sum = fmt.Appendf(sum, "%s %s %s\n%s %s/go.mod %s\n", cnngenModule, version, d.Sum, cnngenModule, version, d.GoModSum)
	return moduleSource{require: version, goSum: sum, goLine: goLine(gomod)}, nil
}

// goLine is a go.mod's go directive, which the benchmark module copies: the language version
// cnngen's code needs (and the toolchain the go command selects for it).
func goLine(gomod []byte) string {
	if v := directive(gomod, "go"); v != "" {
		return "go " + v
	}
	return ""
}
