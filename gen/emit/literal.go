package emit

import (
	"fmt"
	"math"
	"reflect"
	"strconv"

	"github.com/cnngen/cnngen/runtime/kernels"
	"github.com/dave/jennifer/jen"
)

var (
	actType    = reflect.TypeOf(kernels.Act(0))
	layoutType = reflect.TypeOf(kernels.Layout(0))
)

// literal writes v, a struct value, as a keyed composite literal of its type without the
// zero-valued fields: the settings of a kernel read as a call site would write them by hand.
func literal(v any) *jen.Statement {
	rv := reflect.ValueOf(v)
	t := rv.Type()
	var items []jen.Code
	for i := range t.NumField() {
		f := rv.Field(i)
		if !t.Field(i).IsExported() || f.IsZero() {
			continue
		}
		items = append(items, jen.Id(t.Field(i).Name).Op(":").Add(value(f)))
	}
	return jen.Qual(t.PkgPath(), t.Name()).Values(items...)
}

func value(f reflect.Value) jen.Code {
	switch f.Type() {
	case actType:
		return jen.Qual(kPath, kernels.Act(f.Uint()).Ident())
	case layoutType:
		return jen.Qual(kPath, kernels.Layout(f.Uint()).Ident())
	}
	switch f.Kind() {
	case reflect.Int:
		return jen.Lit(int(f.Int()))
	case reflect.Bool:
		return jen.Lit(f.Bool())
	case reflect.Float32:
		return float32Lit(float32(f.Float()))
	}
	panic(fmt.Sprintf("emit: no literal for a %s field", f.Type()))
}

// float32Lit spells a float32 as the shortest decimal that reads back as the same float32.
func float32Lit(v float32) jen.Code {
	switch {
	case math.IsInf(float64(v), 1):
		return jen.Float32().Parens(jen.Qual("math", "Inf").Call(jen.Lit(1)))
	case math.IsInf(float64(v), -1):
		return jen.Float32().Parens(jen.Qual("math", "Inf").Call(jen.Lit(-1)))
	}
	return jen.Id(strconv.FormatFloat(float64(v), 'g', -1, 32))
}
