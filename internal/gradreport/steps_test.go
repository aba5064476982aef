package gradreport

import (
	"bytes"
	"image/png"
	"io"
	"math"
	"testing"
)

// TestStepNorms: the global norm per step, pairs merged (keeping the larger) once the points
// are full, and an overflow marking the point it falls in.
func TestStepNorms(t *testing.T) {
	var s stepNorms
	const steps = 3*maxPoints + 5
	for k := range steps {
		s.add(1, k, 3)
		s.add(1, k, 4*float64(1+k%7)) // layers of a step: the norm of (3, 4, ...)
	}
	s.close()
	if s.total != steps || s.every != 4 || s.n != (steps+3)/4 {
		t.Fatalf("%d steps in %d points of %d, want %d steps in %d points of 4", s.total, s.n, s.every, steps, (steps+3)/4)
	}
	for i, p := range s.pts[:s.n] {
		if p.index != 4*i || p.bad {
			t.Fatalf("point %d: %+v", i, p)
		}
		// The largest of 4 consecutive steps: k%7 reaches 3 or more in any 4 of them, so
		// the norm is at least that of (3, 4*4).
		if p.norm < math.Hypot(3, 16) {
			t.Fatalf("point %d: norm %v", i, p.norm)
		}
	}
	s.add(2, 0, math.Inf(1))
	s.close()
	if !s.pts[s.n-1].bad {
		t.Error("an infinite norm did not mark its point")
	}
	if a := testing.AllocsPerRun(100, func() { s.add(3, s.total, 1); s.close() }); a != 0 {
		t.Errorf("%v allocations per step", a)
	}
}

func TestStepsPNG(t *testing.T) {
	r := New(io.Discard)
	for k := range 50 {
		g := math.Pow(10, float64(k)/2)
		if k == 40 {
			g = math.NaN()
		}
		r.Add(Row{Epoch: 1, Step: k, Layer: "conv1", GradNorm: g})
		r.Add(Row{Epoch: 1, Step: k, Layer: "fc", Depth: 1, GradNorm: 1})
	}
	var buf bytes.Buffer
	if err := r.WriteStepsPNG(&buf, 640, 400); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 640 || b.Dy() != 400 {
		t.Errorf("%v", b)
	}
	if err := New(io.Discard).WriteStepsPNG(io.Discard, 10, 10); err == nil {
		t.Error("an empty report plotted")
	}
}

// TestRead: a report's CSV replays into a report that writes the same CSV and plots.
func TestRead(t *testing.T) {
	var first bytes.Buffer
	r := New(&first)
	for _, row := range fed() {
		r.Add(row)
	}
	r.Flush()
	var second bytes.Buffer
	back, err := Read(bytes.NewReader(first.Bytes()), &second)
	if err != nil {
		t.Fatal(err)
	}
	if second.String() != first.String() {
		t.Errorf("replayed CSV:\n%s\nwant:\n%s", second.String(), first.String())
	}
	if err := back.WritePNG(io.Discard, 400, 300); err != nil {
		t.Error(err)
	}
	for _, bad := range []string{"", "a,b\n", Header + "\n1,2,x,3,0.5\n", Header + "\n1,x,c,3,0.5,1\n"} {
		if _, err := Read(bytes.NewReader([]byte(bad)), io.Discard); err == nil {
			t.Errorf("%q read", bad)
		}
	}
}
