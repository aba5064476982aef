package spec

import (
	"fmt"

	"github.com/cnngen/cnngen/gen/ir"
	"gopkg.in/yaml.v3"
)

// A spec is untrusted input: whatever it says, ParseLimits must answer in bounded time and
// memory, with an error that names the limit. The graph it builds is bounded by ir.Limits (nodes
// while expanding, activation and weight bytes once shaped); the caps below bound the work of
// getting there. Those that grow with the graph scale with Limits.MaxNodes, so raising -max-nodes
// for a large network raises them too.
const (
	// minSpecBytes is the least a spec may be: 8 MiB. A written spec (cnngen import) takes 50 to
	// 250 bytes a layer, so 10,000 layers (the default node limit) are at most 2.5 MB; the rest
	// is room for comments and descriptions.
	minSpecBytes = 8 << 20
	// specBytesPerNode raises the size cap above minSpecBytes when -max-nodes is raised.
	specBytesPerNode = 512

	// separatorsPerNode bounds the YAML nodes, the parse's cost, before parsing. yaml.v3
	// allocates 200 to 350 bytes for a node and parses about half a million a second, so the
	// worst 8 MiB (a flow list `[1,1,1,...]`: 4 million nodes) would allocate 1 GB and take 8 s.
	// Every YAML node but the root follows one of the separators , : - ? [ { (2 nodes at most
	// a separator: `{a, b}` is 2 keys and 2 null values), so counting them, in comments and
	// strings too, bounds the nodes at the cost of a scan. A written spec (cnngen import) has 7
	// to 20 a layer, the built-in specs fewer; 32 a layer of -max-nodes (320,000 by default)
	// is at most 640,000 nodes: ~200 MB allocated, about a second.
	separatorsPerNode = 32

	// stepsPerNode bounds the items expanded (each repeat iteration too): the items that make no
	// node (containers, skipped items, empty repeats) cost time as well.
	stepsPerNode = 5

	// workPerNode bounds the re-evaluation of blocks: each use of a block evaluates its text
	// anew, so 50,000 uses of a block of a few MB would run for hours. The work is counted in
	// bytes of values evaluated, mapping entries read, block parameters bound and scopes
	// searched by name lookups (scopeWork each). The built-in specs do about 25 a node; a parse
	// may do 4096 a node of -max-nodes (40 million by default, well under a second), and at
	// least MaxBytes, so that any spec can be read once.
	workPerNode = 4096
	// scopeWork is the work of searching one scope for a name: a map lookup, the cost of
	// scanning a few bytes.
	scopeWork = 4

	// maxNesting bounds the nesting of containers and block uses (the expansion's recursion and
	// the scopes a name lookup walks). Real networks nest less than 10 deep.
	maxNesting = 100

	// maxExprBytes and maxExprDepth bound one expression: its length, and the nesting of its
	// parentheses, unary operators, conditionals and calls (the parser's recursion). Real
	// expressions are tens of bytes and nest 2 or 3 deep.
	maxExprBytes = 4096
	maxExprDepth = 64

	// maxNameBytes bounds a name (the network's, the input's, an item's) and maxPathBytes the
	// prefix the names of nested items make (layer1.0.conv1) and a weight key, so that node names
	// stay small however deep or long: every node's name holds its prefix. Real names are tens of
	// bytes.
	maxNameBytes = 1024
	maxPathBytes = 4096

	// maxMessageBytes bounds an error message, which may quote what the spec says.
	maxMessageBytes = 2048

	maxRank = 8 // dimensions of a per-image shape (input, reshape)
)

// MaxBytes is the largest spec ParseLimits reads under l: 8 MiB, or 512 bytes per node of
// l.MaxNodes when that is more. Readers of spec files cap their reads with it.
func MaxBytes(l ir.Limits) int64 {
	return max(minSpecBytes, ir.SatMul(int64(max(l.MaxNodes, 0)), specBytesPerNode))
}

// TooLargeError is the error of a spec file larger than MaxBytes.
func TooLargeError(file string, size, max int64) error {
	return &Error{Pos: ir.Pos{File: file}, Msg: fmt.Sprintf("too large: %d bytes > max %d bytes (a spec may be 8 MiB, or 512 bytes per node when -max-nodes is raised)", size, max)}
}

// caps are the bounds of one parse, from its ir.Limits.
type caps struct {
	ir.Limits
	separators, steps, work int64
}

func newCaps(l ir.Limits) caps {
	n := int64(max(l.MaxNodes, 0))
	return caps{Limits: l,
		separators: ir.SatMul(n, separatorsPerNode),
		steps:      ir.SatMul(n, stepsPerNode),
		work:       max(MaxBytes(l), ir.SatMul(n, workPerNode)),
	}
}

// checkSeparators refuses, before any parsing, a text with more YAML separators than the caps
// allow (see separatorsPerNode), at the position where the count passes the cap.
func (b *builder) checkSeparators(src []byte) error {
	var count int64
	line, col := 1, 0
	at := ir.Pos{}
	for _, c := range src {
		if c&0xc0 != 0x80 { // columns count characters, as yaml.v3's do
			col++
		}
		switch c {
		case '\n':
			line, col = line+1, 0
		case ',', ':', '-', '?', '[', '{':
			if count++; count == b.caps.separators+1 {
				at = ir.Pos{File: b.file, Line: line, Col: col}
			}
		}
	}
	if count > b.caps.separators {
		return &Error{Pos: at, Msg: fmt.Sprintf("too large: %d YAML separators (, : - ? [ {) > max %d (%d per node of -max-nodes %d; raise it with -max-nodes)",
			count, b.caps.separators, separatorsPerNode, b.caps.MaxNodes)}
	}
	return nil
}

// charge counts units of work (see workPerNode) done for the item or value at n, and fails
// there once the parse has done too much.
func (b *builder) charge(n *yaml.Node, units int) error {
	if b.work += int64(units); b.work > b.caps.work {
		return b.errAt(n, "too large: %d units of expansion work > max %d (%d per node of -max-nodes %d: bytes of values evaluated, mapping entries read, scopes searched; each use of a block evaluates it anew)",
			b.work, b.caps.work, workPerNode, b.caps.MaxNodes)
	}
	return nil
}
