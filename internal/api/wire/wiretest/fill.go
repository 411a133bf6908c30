// Package wiretest fills values for tests of the API's JSON: every
// field set, each to a value of its own, so that a field left out of a
// conversion, or two fields swapped, shows in the output.
package wiretest

import (
	"fmt"
	"reflect"
	"time"
)

// base is the time the first time field gets; each next one is a second
// later.
var base = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// Fill sets every exported field reachable from ptr, a pointer to a
// value: strings to their field's name and a number, numbers to a
// counter, bools to true, times to a counter's seconds after a fixed
// instant, slices to one element, pointers to a filled value, interfaces
// to a string. Unexported fields are left alone.
func Fill(ptr any) {
	n := 0
	fill(reflect.ValueOf(ptr).Elem(), "value", &n)
}

func fill(v reflect.Value, name string, n *int) {
	*n++
	if v.Type() == reflect.TypeFor[time.Time]() {
		v.Set(reflect.ValueOf(base.Add(time.Duration(*n) * time.Second)))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(fmt.Sprintf("%s-%d", name, *n))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(*n))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(*n))
	case reflect.Float32, reflect.Float64:
		v.SetFloat(float64(*n) + 0.5)
	case reflect.Interface:
		v.Set(reflect.ValueOf(fmt.Sprintf("%s-%d", name, *n)))
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		fill(p.Elem(), name, n)
		v.Set(p)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 1, 1)
		fill(s.Index(0), name, n)
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(k, name+"-key", n)
		fill(e, name, n)
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.Struct:
		for i := range v.NumField() {
			if f := v.Type().Field(i); f.IsExported() {
				fill(v.Field(i), f.Name, n)
			}
		}
	default:
		panic(fmt.Sprintf("wiretest: cannot fill %s (%s)", name, v.Type()))
	}
}
