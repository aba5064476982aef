package seedweights

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

// TestAgainstPythonStateDicts compares every tensor of the state_dicts that
// `tools/make_goldens.py --debug DIR` writes (hand-written safetensors) with
// Values. It only runs when SEEDWEIGHTS_SAFETENSORS_DIR=DIR is set (the files
// are large and never committed).
func TestAgainstPythonStateDicts(t *testing.T) {
	dir := os.Getenv("SEEDWEIGHTS_SAFETENSORS_DIR")
	if dir == "" {
		t.Skip("set SEEDWEIGHTS_SAFETENSORS_DIR to a make_goldens.py --debug directory")
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.safetensors"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no .safetensors in %s (%v)", dir, err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			n := binary.LittleEndian.Uint64(b)
			var header map[string]struct {
				Dtype       string `json:"dtype"`
				Shape       []int  `json:"shape"`
				DataOffsets [2]int `json:"data_offsets"`
			}
			if err := json.Unmarshal(b[8:8+n], &header); err != nil {
				t.Fatal(err)
			}
			data := b[8+n:]
			keys := make([]string, 0, len(header))
			for k := range header {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			nf := 0
			for _, k := range keys {
				e := header[k]
				raw := data[e.DataOffsets[0]:e.DataOffsets[1]]
				role, err := RoleOf(k, e.Shape)
				if err != nil {
					t.Fatal(err)
				}
				if e.Dtype != "F32" {
					if role != RoleSkip || e.Dtype != "I64" {
						t.Errorf("%s: dtype %s, role %v", k, e.Dtype, role)
					}
					continue
				}
				nf++
				want := Values(k, e.Shape)
				if len(raw) != 4*len(want) {
					t.Fatalf("%s: %d bytes for shape %v", k, len(raw), e.Shape)
				}
				for i, w := range want {
					if got := math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:])); got != w {
						t.Fatalf("%s%v[%d]: Python %v, Go %v", k, e.Shape, i, got, w)
					}
				}
			}
			t.Logf("%d float tensors agree", nf)
		})
	}
}
