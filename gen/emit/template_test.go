package emit

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"strings"
	"testing"
)

// TestTemplateIdentifiers checks the rule that keeps layer names from colliding with the fixed
// API: no identifier the template declares at package level, and no field or method of Net, ends
// in a suffix the graph part gives layer identifiers.
func TestTemplateIdentifiers(t *testing.T) {
	for _, d := range []templateData{
		{Package: "p", Arch: "a", Doc: []string{"doc"}, HasFeatures: true, InputChannels: 1, InputHeight: 1, InputWidth: 1, NumClasses: 1},
		{Package: "p", Arch: "a", Embed: "w.safetensors", LabelsFile: "labels.txt", InputChannels: 1, InputHeight: 1, InputWidth: 1, NumClasses: 1},
	} {
		var buf bytes.Buffer
		if err := netTemplate.Execute(&buf, d); err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(token.NewFileSet(), "net.go", buf.Bytes(), 0)
		if err != nil {
			t.Fatalf("the template does not render Go: %v\n%s", err, buf.String())
		}
		var ids []string
		for _, decl := range f.Decls {
			switch d := decl.(type) {
			case *ast.FuncDecl:
				ids = append(ids, d.Name.Name)
			case *ast.GenDecl:
				for _, s := range d.Specs {
					switch s := s.(type) {
					case *ast.ValueSpec:
						for _, n := range s.Names {
							ids = append(ids, n.Name)
						}
					case *ast.TypeSpec:
						ids = append(ids, s.Name.Name)
						if st, ok := s.Type.(*ast.StructType); ok && s.Name.Name == "Net" {
							for _, fl := range st.Fields.List {
								for _, n := range fl.Names {
									ids = append(ids, n.Name)
								}
							}
						}
					}
				}
			}
		}
		for _, id := range ids {
			for _, suffix := range []string{offSuffix, lenSuffix, layerSuffix} {
				if strings.HasSuffix(id, suffix) {
					t.Errorf("the template declares %s, which ends in the layer suffix %q", id, suffix)
				}
			}
		}
	}
}

func TestSuffixesAreSuffixFree(t *testing.T) {
	s := []string{offSuffix, lenSuffix, layerSuffix}
	for _, a := range s {
		for _, b := range s {
			if a != b && strings.HasSuffix(a, b) {
				t.Errorf("suffix %q ends in suffix %q: two layers could get the same identifier", a, b)
			}
		}
	}
}

func TestIdentifier(t *testing.T) {
	for in, want := range map[string]string{"conv1": "conv1", "layer1.0.conv1": "layer1_0_conv1", "Net": "net",
		"func": "l_func", "9": "l_9", "_": "layer", "#3": "l_3", "maxpool#2": "maxpool_2", "é": "layer", "Ab.c": "ab_c"} {
		if got := identifier(in); got != want {
			t.Errorf("identifier(%q) = %q, want %q", in, got, want)
		}
	}
}
