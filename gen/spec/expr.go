package spec

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Expressions are evaluated while parsing (precedence climbing, no AST): specs are small and an
// expression is only ever evaluated where it is written. Values are int64, float64 or bool.
// An expression is at most maxExprBytes long and nests at most maxExprDepth deep, so no
// expression can exhaust the stack; integer arithmetic that overflows int64 is an error.

type scope struct {
	vars   map[string]any
	parent *scope
}

// lookup finds a name in s or its parents; walked counts the scopes searched.
func (s *scope) lookup(name string, walked *int) (any, bool) {
	for ; s != nil; s = s.parent {
		*walked++
		if v, ok := s.vars[name]; ok {
			return v, true
		}
	}
	return nil, false
}

func (s *scope) names() []string {
	seen := map[string]bool{}
	var out []string
	for ; s != nil; s = s.parent {
		for k := range s.vars {
			if !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	sortStrings(out)
	return out
}

type exprParser struct {
	src    string
	pos    int
	sc     *scope
	tok    string // current token text
	kind   byte   // 'n' number, 'i' identifier, 'o' operator, 0 end
	depth  int    // nesting of the production being parsed (maxExprDepth)
	walked int    // scopes searched by name lookups, the expression's cost beyond its length
}

func evalExpr(src string, sc *scope) (any, error) {
	v, _, err := evalExprCost(src, sc)
	return v, err
}

// evalExprCost evaluates src and also returns the scopes its name lookups walked.
func evalExprCost(src string, sc *scope) (any, int, error) {
	if len(src) > maxExprBytes {
		return nil, 0, fmt.Errorf("expression too long: %d bytes > max %d (%q)", len(src), maxExprBytes, short(src))
	}
	p := &exprParser{src: src, sc: sc}
	if err := p.next(); err != nil {
		return nil, p.walked, err
	}
	v, err := p.parse(0)
	if err != nil {
		return nil, p.walked, err
	}
	if p.kind != 0 {
		return nil, p.walked, fmt.Errorf("unexpected %q in expression %q", short(p.tok), short(src))
	}
	return v, p.walked, nil
}

// short is s for messages: at most 64 bytes of it, cut on a character boundary, and … where
// cut, so that a long expression is not repeated whole in every message.
func short(s string) string {
	if len(s) <= 64 {
		return s
	}
	i := 60
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}

// enter counts one level of nesting, failing past maxExprDepth; leave undoes it.
func (p *exprParser) enter() error {
	if p.depth++; p.depth > maxExprDepth {
		return fmt.Errorf("expression too deep: more than %d nested parentheses, unary operators, conditionals or calls in %q", maxExprDepth, short(p.src))
	}
	return nil
}

func (p *exprParser) leave() { p.depth-- }

var twoCharOps = []string{"==", "!=", "<=", ">=", "&&", "||"}

func (p *exprParser) next() error {
	for p.pos < len(p.src) && p.src[p.pos] == ' ' {
		p.pos++
	}
	if p.pos >= len(p.src) {
		p.tok, p.kind = "", 0
		return nil
	}
	start := p.pos
	c := rune(p.src[p.pos])
	switch {
	case unicode.IsDigit(c) || c == '.':
		for p.pos < len(p.src) && (isDigit(p.src[p.pos]) || p.src[p.pos] == '.' || p.src[p.pos] == 'e' ||
			(p.src[p.pos] == '-' || p.src[p.pos] == '+') && (p.src[p.pos-1] == 'e')) {
			p.pos++
		}
		p.kind = 'n'
	case unicode.IsLetter(c) || c == '_':
		for p.pos < len(p.src) && (isDigit(p.src[p.pos]) || unicode.IsLetter(rune(p.src[p.pos])) || p.src[p.pos] == '_') {
			p.pos++
		}
		p.kind = 'i'
	default:
		p.kind = 'o'
		for _, op := range twoCharOps {
			if strings.HasPrefix(p.src[p.pos:], op) {
				p.pos += 2
				p.tok = op
				return nil
			}
		}
		if !strings.ContainsRune("+-*/%()<>!?:,", c) {
			return fmt.Errorf("unexpected character %q in expression %q", c, short(p.src))
		}
		p.pos++
	}
	p.tok = p.src[start:p.pos]
	return nil
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

var binPrec = map[string]int{
	"||": 2, "&&": 3, "==": 4, "!=": 4, "<": 5, "<=": 5, ">": 5, ">=": 5,
	"+": 6, "-": 6, "*": 7, "/": 7, "%": 7,
}

func (p *exprParser) parse(minPrec int) (any, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	left, err := p.unary()
	if err != nil {
		return nil, err
	}
	for {
		if p.kind == 'o' && p.tok == "?" && minPrec <= 1 {
			if err := p.next(); err != nil {
				return nil, err
			}
			a, err := p.parse(1)
			if err != nil {
				return nil, err
			}
			if p.tok != ":" {
				return nil, fmt.Errorf("expected ':' in conditional expression %q", short(p.src))
			}
			if err := p.next(); err != nil {
				return nil, err
			}
			b, err := p.parse(1)
			if err != nil {
				return nil, err
			}
			c, ok := left.(bool)
			if !ok {
				return nil, fmt.Errorf("condition before '?' must be a boolean in %q", short(p.src))
			}
			if c {
				left = a
			} else {
				left = b
			}
			continue
		}
		prec, ok := binPrec[p.tok]
		if p.kind != 'o' || !ok || prec < minPrec {
			return left, nil
		}
		op := p.tok
		if err := p.next(); err != nil {
			return nil, err
		}
		right, err := p.parse(prec + 1)
		if err != nil {
			return nil, err
		}
		if left, err = binary(op, left, right); err != nil {
			return nil, fmt.Errorf("%v in %q", err, short(p.src))
		}
	}
}

func (p *exprParser) unary() (any, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	switch {
	case p.kind == 'o' && (p.tok == "-" || p.tok == "!"):
		op := p.tok
		if err := p.next(); err != nil {
			return nil, err
		}
		v, err := p.unary()
		if err != nil {
			return nil, err
		}
		switch x := v.(type) {
		case int64:
			if op == "-" && x == math.MinInt64 {
				return nil, fmt.Errorf("too large: -(%d) > max %d in %q", x, int64(math.MaxInt64), short(p.src))
			}
			if op == "-" {
				return -x, nil
			}
		case float64:
			if op == "-" {
				return -x, nil
			}
		case bool:
			if op == "!" {
				return !x, nil
			}
		}
		return nil, fmt.Errorf("cannot apply %s to %v in %q", op, v, short(p.src))
	case p.kind == 'o' && p.tok == "(":
		if err := p.next(); err != nil {
			return nil, err
		}
		v, err := p.parse(0)
		if err != nil {
			return nil, err
		}
		if p.tok != ")" {
			return nil, fmt.Errorf("missing ')' in %q", short(p.src))
		}
		return v, p.next()
	case p.kind == 'n':
		t := p.tok
		if err := p.next(); err != nil {
			return nil, err
		}
		if i, err := strconv.ParseInt(t, 10, 64); err == nil {
			return i, nil
		}
		f, err := strconv.ParseFloat(t, 64)
		if err != nil {
			return nil, fmt.Errorf("bad number %q in %q", t, short(p.src))
		}
		return f, nil
	case p.kind == 'i':
		name := p.tok
		if err := p.next(); err != nil {
			return nil, err
		}
		switch name {
		case "true":
			return true, nil
		case "false":
			return false, nil
		case "min", "max":
			return p.call(name)
		}
		v, ok := p.sc.lookup(name, &p.walked)
		if !ok {
			return nil, fmt.Errorf("unknown name %q in %q (known: %s)", name, p.src, strings.Join(p.sc.names(), ", "))
		}
		return v, nil
	case p.kind == 0:
		return nil, fmt.Errorf("expression %q ends too early", short(p.src))
	}
	return nil, fmt.Errorf("unexpected %q in expression %q", p.tok, short(p.src))
}

func (p *exprParser) call(name string) (any, error) {
	if p.tok != "(" {
		return nil, fmt.Errorf("%s needs arguments in parentheses in %q", name, short(p.src))
	}
	var args []any
	for {
		if err := p.next(); err != nil {
			return nil, err
		}
		v, err := p.parse(0)
		if err != nil {
			return nil, err
		}
		args = append(args, v)
		if p.tok == ")" {
			break
		}
		if p.tok != "," {
			return nil, fmt.Errorf("expected ',' or ')' in %q", short(p.src))
		}
	}
	if err := p.next(); err != nil {
		return nil, err
	}
	best := args[0]
	for _, a := range args[1:] {
		less, err := binary("<", a, best)
		if err != nil {
			return nil, fmt.Errorf("%v in %q", err, short(p.src))
		}
		if less.(bool) == (name == "min") {
			best = a
		}
	}
	return best, nil
}

func binary(op string, a, b any) (any, error) {
	if x, ok := a.(bool); ok {
		y, ok := b.(bool)
		if !ok {
			return nil, fmt.Errorf("cannot combine %v and %v with %s", a, b, op)
		}
		switch op {
		case "&&":
			return x && y, nil
		case "||":
			return x || y, nil
		case "==":
			return x == y, nil
		case "!=":
			return x != y, nil
		}
		return nil, fmt.Errorf("%s does not apply to booleans", op)
	}
	xi, aInt := a.(int64)
	yi, bInt := b.(int64)
	if aInt && bInt {
		switch op {
		case "+", "-", "*":
			r, ok := intOp(op, xi, yi)
			if !ok {
				return nil, fmt.Errorf("too large: %d %s %d is outside the integers' range [%d, %d]", xi, op, yi, int64(math.MinInt64), int64(math.MaxInt64))
			}
			return r, nil
		case "/", "%":
			if yi == 0 {
				return nil, fmt.Errorf("division by zero")
			}
			if xi == math.MinInt64 && yi == -1 {
				return nil, fmt.Errorf("too large: %d %s %d is outside the integers' range [%d, %d]", xi, op, yi, int64(math.MinInt64), int64(math.MaxInt64))
			}
			q := xi / yi
			if (xi%yi != 0) && ((xi < 0) != (yi < 0)) {
				q-- // floor division, like Python's //
			}
			if op == "/" {
				return q, nil
			}
			return xi - q*yi, nil
		}
	}
	x, okx := toFloat(a)
	y, oky := toFloat(b)
	if !okx || !oky {
		return nil, fmt.Errorf("cannot combine %v and %v with %s", a, b, op)
	}
	switch op {
	case "+":
		return x + y, nil
	case "-":
		return x - y, nil
	case "*":
		return x * y, nil
	case "/":
		return x / y, nil
	case "%":
		return math.Mod(x, y), nil
	case "==":
		return x == y, nil
	case "!=":
		return x != y, nil
	case "<":
		return x < y, nil
	case "<=":
		return x <= y, nil
	case ">":
		return x > y, nil
	case ">=":
		return x >= y, nil
	}
	return nil, fmt.Errorf("%s does not apply to numbers", op)
}

// intOp is x op y for + - *, and false when the result overflows int64.
func intOp(op string, x, y int64) (int64, bool) {
	switch op {
	case "+":
		r := x + y
		return r, (r > x) == (y > 0)
	case "-":
		r := x - y
		return r, (r < x) == (y > 0)
	}
	if x == 0 || y == 0 {
		return 0, true
	}
	r := x * y
	return r, r/y == x && !(x == -1 && y == math.MinInt64) && !(y == -1 && x == math.MinInt64)
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}
