package spec

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

func sortStrings(s []string) { sort.Strings(s) }

var (
	wholeExpr   = regexp.MustCompile(`^\$(?:([A-Za-z_][A-Za-z0-9_]*)|\{([^}]*)\})$`)
	innerExpr   = regexp.MustCompile(`\$\$|\$\{([^}]*)\}`) // $$ is a literal $
	namePattern = regexp.MustCompile(`^[A-Za-z0-9_.#]+$`)
)

// value evaluates a YAML node to int64, float64, bool, string or []any, resolving expressions.
// Integers beyond int64 are errors (no integer of a spec is above math.MaxInt32), integer
// literals beyond uint64 are floats, as in YAML.
func (b *builder) value(n *yaml.Node, sc *scope) (any, error) {
	if err := b.charge(n, len(n.Value)+1); err != nil {
		return nil, err
	}
	switch n.Kind {
	case yaml.AliasNode:
		// Aliases could multiply work exponentially (the "billion laughs"); specs have blocks instead.
		return nil, b.errAt(n, "YAML aliases (*name) are not supported; use a block")
	case yaml.SequenceNode:
		out := make([]any, len(n.Content))
		for i, c := range n.Content {
			v, err := b.value(c, sc)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	case yaml.MappingNode:
		return nil, b.errAt(n, "expected a value, found a mapping")
	}
	switch n.Tag {
	case "!!null":
		return nil, nil
	case "!!bool":
		var v bool
		if err := n.Decode(&v); err != nil {
			return nil, b.errAt(n, "bad boolean %q", n.Value)
		}
		return v, nil
	case "!!int":
		v, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64)
		if errors.Is(err, strconv.ErrRange) {
			if strings.HasPrefix(n.Value, "-") {
				return nil, b.errAt(n, "too small: %s < min %d", n.Value, int64(math.MinInt64))
			}
			return nil, b.errAt(n, "too large: %s > max %d", n.Value, math.MaxInt32)
		}
		if err != nil {
			return nil, b.errAt(n, "bad integer %q", n.Value)
		}
		return v, nil
	case "!!float":
		// Plain decimal numbers directly (Decode costs a decoder per value, which a list of
		// hundreds of thousands of numbers would feel); YAML's other spellings through Decode.
		if strings.Trim(n.Value, "0123456789.eE+-") == "" {
			if v, err := strconv.ParseFloat(n.Value, 64); err == nil {
				return v, nil
			}
		}
		var v float64
		if err := n.Decode(&v); err != nil {
			return nil, b.errAt(n, "bad number %q", n.Value)
		}
		return v, nil
	}
	s := n.Value
	if !strings.Contains(s, "$") {
		return s, nil
	}
	if m := wholeExpr.FindStringSubmatch(s); m != nil {
		src := m[1] + m[2]
		v, walked, err := evalExprCost(src, sc)
		if err != nil {
			return nil, b.errAt(n, "%v", err)
		}
		return v, b.charge(n, scopeWork*walked)
	}
	var evalErr error
	s = innerExpr.ReplaceAllStringFunc(s, func(e string) string {
		if e == "$$" || evalErr != nil {
			return "$"
		}
		v, walked, err := evalExprCost(e[2:len(e)-1], sc)
		if err != nil {
			evalErr = b.errAt(n, "%v", err)
		} else {
			evalErr = b.charge(n, scopeWork*walked)
		}
		return fmt.Sprint(v)
	})
	if evalErr != nil {
		return nil, evalErr
	}
	return s, nil
}

func kindName(v any) string {
	switch v.(type) {
	case nil:
		return "nothing"
	case int64:
		return "an integer"
	case float64:
		return "a number"
	case bool:
		return "a boolean"
	case string:
		return "a string"
	case []any:
		return "a list"
	}
	return fmt.Sprintf("%T", v)
}

// attrs is an op's or container's attribute mapping with its source node, read field by field.
type attrs struct {
	b     *builder
	node  *yaml.Node // mapping node, or the item node when the op has no attributes
	keys  map[string]*yaml.Node
	order []string
	sc    *scope
	owner string
	used  map[string]bool
}

func (b *builder) attrs(owner string, item, m *yaml.Node, sc *scope) (*attrs, error) {
	a := &attrs{b: b, node: item, keys: map[string]*yaml.Node{}, sc: sc, owner: owner, used: map[string]bool{}}
	if m == nil || m.Kind == yaml.ScalarNode && m.Tag == "!!null" {
		return a, nil
	}
	if m.Kind != yaml.MappingNode {
		return nil, b.errAt(m, "%s: expected a mapping of attributes, found %s", owner, nodeKind(m))
	}
	a.node = m
	if err := b.charge(m, len(m.Content)/2); err != nil {
		return nil, err
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k := m.Content[i]
		if _, dup := a.keys[k.Value]; dup {
			return nil, b.errAt(k, "%s: field %q given twice", owner, k.Value)
		}
		a.keys[k.Value] = m.Content[i+1]
		a.order = append(a.order, k.Value)
	}
	return a, nil
}

func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing"
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "an alias"
}

// checkKnown rejects fields outside allowed, naming them with their positions.
func (a *attrs) checkKnown(allowed ...string) error {
	ok := map[string]bool{}
	for _, k := range allowed {
		ok[k] = true
	}
	for _, k := range a.order {
		if !ok[k] {
			kn := a.keyNode(k)
			return a.b.errAt(kn, "%s: unknown field %q (want one of %s)", a.owner, k, strings.Join(allowed, ", "))
		}
	}
	return nil
}

func (a *attrs) keyNode(k string) *yaml.Node {
	for i := 0; i+1 < len(a.node.Content); i += 2 {
		if a.node.Content[i].Value == k {
			return a.node.Content[i]
		}
	}
	return a.node
}

func (a *attrs) has(k string) bool { _, ok := a.keys[k]; return ok }

func (a *attrs) raw(k string) *yaml.Node { return a.keys[k] }

func (a *attrs) get(k string) (any, *yaml.Node, error) {
	n, ok := a.keys[k]
	if !ok {
		return nil, nil, nil
	}
	v, err := a.b.value(n, a.sc)
	return v, n, err
}

func (a *attrs) missing(k, what string) error {
	return a.b.errAt(a.node, "%s: missing field %q (%s)", a.owner, k, what)
}

func (a *attrs) int(k string, def int64, required bool, min int64) (int, error) {
	v, n, err := a.get(k)
	if err != nil {
		return 0, err
	}
	if n == nil {
		if required {
			return 0, a.missing(k, "an integer")
		}
		return int(def), nil
	}
	i, ok := v.(int64)
	if !ok {
		if err := a.checkBigFloat(n, k, v, min); err != nil {
			return 0, err
		}
		return 0, a.b.errAt(n, "%s: %s must be an integer, found %s", a.owner, k, kindName(v))
	}
	if err := a.checkInt(n, k, i, min); err != nil {
		return 0, err
	}
	return int(i), nil
}

// checkInt checks an integer against [min, MaxInt32], the range of every integer in a spec.
func (a *attrs) checkInt(n *yaml.Node, what string, i, min int64) error {
	if i < min {
		return a.b.errAt(n, "%s: %s must be at least %d, found %d", a.owner, what, min, i)
	}
	if i > math.MaxInt32 {
		return a.b.errAt(n, "%s: %s too large: %d > max %d", a.owner, what, i, math.MaxInt32)
	}
	return nil
}

// checkBigFloat reports a whole number out of the integers' range given where an integer is
// wanted (1e12, or a literal beyond uint64, which YAML reads as a float) as out of range, not as
// the wrong kind; it returns nil for any other value.
func (a *attrs) checkBigFloat(n *yaml.Node, what string, v any, min int64) error {
	f, ok := v.(float64)
	if !ok || f != math.Trunc(f) || f >= float64(min) && f <= math.MaxInt32 {
		return nil
	}
	lit := n.Value
	if n.Kind != yaml.ScalarNode || strings.Contains(lit, "$") {
		lit = strconv.FormatFloat(f, 'g', -1, 64)
	}
	if f < float64(min) {
		return a.b.errAt(n, "%s: %s must be at least %d, found %s", a.owner, what, min, lit)
	}
	return a.b.errAt(n, "%s: %s too large: %s > max %d", a.owner, what, lit, math.MaxInt32)
}

// number reads a number; YAML's .inf and -.inf are numbers too, NaN is not.
func (a *attrs) number(k string) (float64, error) {
	v, n, err := a.get(k)
	if err != nil || n == nil {
		return 0, err
	}
	f, ok := toFloat(v)
	if !ok || math.IsNaN(f) {
		return 0, a.b.errAt(n, "%s: %s must be a number (.inf and -.inf allowed), found %s", a.owner, k, kindName(v))
	}
	return f, nil
}

func (a *attrs) bool(k string, def bool) (bool, error) {
	v, n, err := a.get(k)
	if err != nil || n == nil {
		return def, err
	}
	bv, ok := v.(bool)
	if !ok {
		return false, a.b.errAt(n, "%s: %s must be true or false, found %s", a.owner, k, kindName(v))
	}
	return bv, nil
}

func (a *attrs) str(k string) (string, *yaml.Node, error) {
	v, n, err := a.get(k)
	if err != nil || n == nil {
		return "", n, err
	}
	switch x := v.(type) {
	case string:
		return x, n, nil
	case int64:
		return strconv.FormatInt(x, 10), n, nil
	}
	return "", n, a.b.errAt(n, "%s: %s must be a string, found %s", a.owner, k, kindName(v))
}

// anyLen, as a length passed to ints, accepts lists of any non-zero length.
const anyLen = -1

// ints reads an int or a list of ints; lens lists the accepted list lengths.
func (a *attrs) ints(k string, def []int, required bool, min int64, lens ...int) ([]int, error) {
	v, n, err := a.get(k)
	if err != nil {
		return nil, err
	}
	if n == nil {
		if required {
			return nil, a.missing(k, "an integer or a list of integers")
		}
		return def, nil
	}
	var list []any
	switch x := v.(type) {
	case int64:
		list = []any{x}
	case []any:
		list = x
	default:
		if err := a.checkBigFloat(n, k, v, min); err != nil {
			return nil, err
		}
		return nil, a.b.errAt(n, "%s: %s must be an integer or a list of integers, found %s", a.owner, k, kindName(v))
	}
	okLen := len(list) == 1
	for _, l := range lens {
		okLen = okLen || len(list) == l || l == anyLen && len(list) >= 1
	}
	if !okLen {
		if len(lens) == 1 && lens[0] == anyLen {
			return nil, a.b.errAt(n, "%s: %s must have at least 1 value", a.owner, k)
		}
		counts := "1"
		for i, l := range lens {
			sep := ", "
			if i == len(lens)-1 {
				sep = " or "
			}
			counts += sep + strconv.Itoa(l)
		}
		return nil, a.b.errAt(n, "%s: %s must have %s values, found %d", a.owner, k, counts, len(list))
	}
	out := make([]int, len(list))
	for i, e := range list {
		iv, ok := e.(int64)
		if !ok {
			if err := a.checkBigFloat(elemNode(n, i), k+" values", e, min); err != nil {
				return nil, err
			}
			return nil, a.b.errAt(n, "%s: %s must hold integers, found %s", a.owner, k, kindName(e))
		}
		if err := a.checkInt(n, k+" values", iv, min); err != nil {
			return nil, err
		}
		out[i] = int(iv)
	}
	return out, nil
}

// elemNode is the node of a list's i-th value, for messages: the list's own element when the
// list is written out, else the list (or expression) itself.
func elemNode(n *yaml.Node, i int) *yaml.Node {
	if n.Kind == yaml.SequenceNode && i < len(n.Content) {
		return n.Content[i]
	}
	return n
}

func (a *attrs) pair(k string, def int, required bool, min int64) ([2]int, error) {
	v, err := a.ints(k, []int{def}, required, min, 2)
	if err != nil {
		return [2]int{}, err
	}
	if len(v) == 1 {
		return [2]int{v[0], v[0]}, nil
	}
	return [2]int{v[0], v[1]}, nil
}

// pad reads int | [h, w] | [top, left, bottom, right] from the field k.
func (a *attrs) pad(k string, required bool) ([4]int, error) {
	v, err := a.ints(k, []int{0}, required, 0, 2, 4)
	if err != nil {
		return [4]int{}, err
	}
	switch len(v) {
	case 1:
		return [4]int{v[0], v[0], v[0], v[0]}, nil
	case 2:
		return [4]int{v[0], v[1], v[0], v[1]}, nil
	}
	return [4]int{v[0], v[1], v[2], v[3]}, nil
}

// floats reads a list of numbers; with scalar, a single number is accepted as a list of one; with
// inf, .inf and -.inf are accepted.
func (a *attrs) floats(k string, required, scalar, inf bool) ([]float64, error) {
	v, n, err := a.get(k)
	if err != nil {
		return nil, err
	}
	if n == nil {
		if required {
			return nil, a.missing(k, "a list of numbers")
		}
		return nil, nil
	}
	list, ok := v.([]any)
	if _, num := toFloat(v); num && scalar {
		list, ok = []any{v}, true
	}
	if !ok {
		return nil, a.b.errAt(n, "%s: %s must be a list of numbers, found %s", a.owner, k, kindName(v))
	}
	out := make([]float64, len(list))
	for i, e := range list {
		f, ok := toFloat(e)
		switch {
		case !ok || math.IsNaN(f):
			return nil, a.b.errAt(n, "%s: %s must hold numbers, found %s", a.owner, k, kindName(e))
		case math.IsInf(f, 0) && !inf:
			s, _ := fmtFloat(f)
			return nil, a.b.errAt(n, "%s: %s must hold finite numbers, found %s", a.owner, k, s)
		}
		out[i] = f
	}
	return out, nil
}
