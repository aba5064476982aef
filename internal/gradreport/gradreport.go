// Package gradreport records per-layer gradient norms during training (`-grad-report
// out.csv`): every recorded step's norms as CSV rows, and a PNG plot of the gradient norm by
// depth over training, a line per epoch on a log scale, where vanishing or exploding
// gradients show as lines falling or rising towards the input.
package gradreport

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/cnngen/cnngen/runtime/train"
)

// Header is the CSV's first line.
const Header = "epoch,step,layer,depth,grad_norm,weight_norm"

// Row is one layer's norms at one step. Depth is the layer's index in network order (0 is
// the layer nearest the input).
type Row struct {
	Epoch, Step          int
	Layer                string
	Depth                int
	GradNorm, WeightNorm float64
}

// Report writes rows as CSV as they come and keeps, for the plot, each epoch's per-depth
// geometric mean of the gradient norms (a log-scale plot's natural average, which one
// exploding step does not dominate as it would an arithmetic mean).
type Report struct {
	w      *bufio.Writer
	closer io.Closer
	buf    []byte
	err    error

	layers []string // by depth, as recorded
	epochs []epochNorms
	steps  stepNorms
}

type epochNorms struct {
	epoch  int
	logSum []float64 // by depth
	count  []int
}

// New writes a report to w, starting with the header.
func New(w io.Writer) *Report {
	r := &Report{w: bufio.NewWriterSize(w, 64<<10), buf: make([]byte, 0, 256)}
	_, r.err = r.w.WriteString(Header + "\n")
	return r
}

// Create writes a report to the file at path; Close closes it.
func Create(path string) (*Report, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	r := New(f)
	r.closer = f
	return r, nil
}

// Record adds a step's layer norms, as train.Params.LayerNorms gives them. Once the epochs
// and layers have been seen it allocates nothing.
func (r *Report) Record(epoch, step int, norms []train.LayerNorm) error {
	for _, n := range norms {
		if err := r.Add(Row{Epoch: epoch, Step: step, Layer: n.Layer, Depth: n.Depth, GradNorm: n.Grad, WeightNorm: n.Weight}); err != nil {
			return err
		}
	}
	return nil
}

// Add writes one row and counts it for the plot. A write error is kept and returned by
// every later call and by Close.
func (r *Report) Add(row Row) error {
	if r.err != nil {
		return r.err
	}
	if row.Depth < 0 {
		return fmt.Errorf("gradreport: layer %s: negative depth %d", row.Layer, row.Depth)
	}
	b := r.buf[:0]
	b = strconv.AppendInt(b, int64(row.Epoch), 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(row.Step), 10)
	b = append(b, ',')
	b = appendField(b, row.Layer)
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(row.Depth), 10)
	b = append(b, ',')
	// Shortest decimals that read back as the same float64: the CSV is exactly what was fed.
	b = strconv.AppendFloat(b, row.GradNorm, 'g', -1, 64)
	b = append(b, ',')
	b = strconv.AppendFloat(b, row.WeightNorm, 'g', -1, 64)
	b = append(b, '\n')
	r.buf = b
	if _, r.err = r.w.Write(b); r.err != nil {
		return r.err
	}

	for len(r.layers) <= row.Depth {
		r.layers = append(r.layers, "")
	}
	if r.layers[row.Depth] == "" {
		r.layers[row.Depth] = strings.Clone(row.Layer)
	}
	if len(r.epochs) == 0 || r.epochs[len(r.epochs)-1].epoch != row.Epoch {
		r.epochs = append(r.epochs, epochNorms{epoch: row.Epoch})
	}
	r.steps.add(row.Epoch, row.Step, row.GradNorm)
	e := &r.epochs[len(r.epochs)-1]
	for len(e.logSum) <= row.Depth {
		e.logSum, e.count = append(e.logSum, 0), append(e.count, 0)
	}
	// Zero, infinite and NaN norms have no place on a log scale; the CSV keeps them.
	if row.GradNorm > 0 && !math.IsInf(row.GradNorm, 1) {
		e.logSum[row.Depth] += math.Log(row.GradNorm)
		e.count[row.Depth]++
	}
	return nil
}

// appendField appends a CSV field, quoted (RFC 4180) when it holds a comma, a quote or a
// line break; layer names normally do not.
func appendField(b []byte, s string) []byte {
	if !strings.ContainsAny(s, ",\"\r\n") {
		return append(b, s...)
	}
	b = append(b, '"')
	for i := range len(s) {
		if s[i] == '"' {
			b = append(b, '"')
		}
		b = append(b, s[i])
	}
	return append(b, '"')
}

// Flush writes buffered rows out.
func (r *Report) Flush() error {
	if r.err == nil {
		r.err = r.w.Flush()
	}
	return r.err
}

// Close flushes the rows and closes the file Create opened.
func (r *Report) Close() error {
	err := r.Flush()
	if r.closer != nil {
		err = errors.Join(err, r.closer.Close())
		r.closer = nil
	}
	return err
}

// Read replays a report's CSV (as Report wrote it) into a new report that writes its rows to
// w, for plotting a finished run again (at another size, say).
func Read(csvData io.Reader, w io.Writer) (*Report, error) {
	rd := csv.NewReader(csvData)
	rd.FieldsPerRecord = 6
	head, err := rd.Read()
	if err != nil {
		return nil, fmt.Errorf("gradreport: %w", err)
	}
	if strings.Join(head, ",") != Header {
		return nil, fmt.Errorf("gradreport: header %q, want %q", strings.Join(head, ","), Header)
	}
	r := New(w)
	for {
		rec, err := rd.Read()
		if err == io.EOF {
			return r, r.Flush()
		}
		if err != nil {
			return nil, fmt.Errorf("gradreport: %w", err)
		}
		var row Row
		var errs [5]error
		row.Epoch, errs[0] = strconv.Atoi(rec[0])
		row.Step, errs[1] = strconv.Atoi(rec[1])
		row.Layer = rec[2]
		row.Depth, errs[2] = strconv.Atoi(rec[3])
		row.GradNorm, errs[3] = strconv.ParseFloat(rec[4], 64)
		row.WeightNorm, errs[4] = strconv.ParseFloat(rec[5], 64)
		if err := errors.Join(errs[:]...); err != nil {
			line, _ := rd.FieldPos(0)
			return nil, fmt.Errorf("gradreport: line %d: %w", line, err)
		}
		if err := r.Add(row); err != nil {
			return nil, err
		}
	}
}
