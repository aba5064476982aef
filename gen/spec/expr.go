package spec

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
)

// Expressions are evaluated while parsing (precedence climbing, no AST): specs are small and an
// expression is only ever evaluated where it is written. Values are int64, float64 or bool.

type scope struct {
	vars   map[string]any
	parent *scope
}

func (s *scope) lookup(name string) (any, bool) {
	for ; s != nil; s = s.parent {
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
	src  string
	pos  int
	sc   *scope
	tok  string // current token text
	kind byte   // 'n' number, 'i' identifier, 'o' operator, 0 end
}

func evalExpr(src string, sc *scope) (any, error) {
	p := &exprParser{src: src, sc: sc}
	if err := p.next(); err != nil {
		return nil, err
	}
	v, err := p.parse(0)
	if err != nil {
		return nil, err
	}
	if p.kind != 0 {
		return nil, fmt.Errorf("unexpected %q in expression %q", p.tok, src)
	}
	return v, nil
}

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
			return fmt.Errorf("unexpected character %q in expression %q", c, p.src)
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
				return nil, fmt.Errorf("expected ':' in conditional expression %q", p.src)
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
				return nil, fmt.Errorf("condition before '?' must be a boolean in %q", p.src)
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
			return nil, fmt.Errorf("%v in %q", err, p.src)
		}
	}
}

func (p *exprParser) unary() (any, error) {
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
		return nil, fmt.Errorf("cannot apply %s to %v in %q", op, v, p.src)
	case p.kind == 'o' && p.tok == "(":
		if err := p.next(); err != nil {
			return nil, err
		}
		v, err := p.parse(0)
		if err != nil {
			return nil, err
		}
		if p.tok != ")" {
			return nil, fmt.Errorf("missing ')' in %q", p.src)
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
			return nil, fmt.Errorf("bad number %q in %q", t, p.src)
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
		v, ok := p.sc.lookup(name)
		if !ok {
			return nil, fmt.Errorf("unknown name %q in %q (known: %s)", name, p.src, strings.Join(p.sc.names(), ", "))
		}
		return v, nil
	case p.kind == 0:
		return nil, fmt.Errorf("expression %q ends too early", p.src)
	}
	return nil, fmt.Errorf("unexpected %q in expression %q", p.tok, p.src)
}

func (p *exprParser) call(name string) (any, error) {
	if p.tok != "(" {
		return nil, fmt.Errorf("%s needs arguments in parentheses in %q", name, p.src)
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
			return nil, fmt.Errorf("expected ',' or ')' in %q", p.src)
		}
	}
	if err := p.next(); err != nil {
		return nil, err
	}
	best := args[0]
	for _, a := range args[1:] {
		less, err := binary("<", a, best)
		if err != nil {
			return nil, fmt.Errorf("%v in %q", err, p.src)
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
		case "+":
			return xi + yi, nil
		case "-":
			return xi - yi, nil
		case "*":
			return xi * yi, nil
		case "/", "%":
			if yi == 0 {
				return nil, fmt.Errorf("division by zero")
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

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}
