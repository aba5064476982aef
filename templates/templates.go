// Package templates holds the fixed part of every package cnngen generates, as Go text: the Net
// type and its API (Load, New, LoadEmbedded, Forward, Features, Classify), which do not depend on
// the network's layers. gen/emit renders it with a handful of values (see the template's
// header) and appends what it writes with jennifer from the graph: the layer functions, their
// settings, the arena layout, the weights table and the loader.
//
// The template is Go source with text/template actions, so it reads (and diffs) like the code it
// becomes. Its identifiers and the graph part's are disjoint by construction: every identifier
// the graph part derives from a layer name is either a field of a struct of its own (cfg,
// weights) or ends in one of the suffixes gen/emit reserves, which no identifier here ends in
// (gen/emit's tests check this file).
package templates

import _ "embed"

// Net is the template of a generated package's fixed API.
//
//go:embed net.go.tmpl
var Net string

// Train is the template of a generated training package's fixed API (cnngen -train).
//
//go:embed train.go.tmpl
var Train string
