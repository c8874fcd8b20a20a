package tools

import (
	"fmt"
	"reflect"
	"strings"
	"sync"
	"unicode"
)

// Text from OpenRouter is untrusted: key, workspace and guardrail names, descriptions and member names
// are written by people, and reach the model and the user. What cannot be seen must not be able to
// speak: control characters (C0, DEL, C1, line and paragraph separators), bidirectional overrides,
// embeddings, isolates and marks, zero-width spaces and joiners, Unicode tag characters, variation
// selectors and the other default-ignorable code points (Hangul fillers, invisible operators) could
// carry instructions a person reviewing a question never sees, or make a name read as another.
//
// The decision: such characters are shown escaped, as [U+202E], not removed, so that a reader sees a
// name was tampered with and two names that differ only in hidden characters still look different.
// Nothing else is changed: no NFC or other normalization, so a name reads as OpenRouter's dashboard
// shows it. It is done once, where the pipeline builds a result (result, failure and the confirmation
// question in tool.go), on the data before any text is rendered from it, so the text block and
// structuredContent agree. The audit log keeps names as OpenRouter sent them (JSON-escaped).

// showable returns s with every hidden character escaped; s itself, without copying, when it has none.
func showable(s string) string {
	i := 0
	for i < len(s) && s[i] >= 0x20 && s[i] < 0x7f {
		i++
	}
	if i == len(s) || !strings.ContainsFunc(s[i:], hidden) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for _, r := range s {
		if hidden(r) {
			fmt.Fprintf(&b, "[U+%04X]", r)
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// hidden reports whether r is invisible or steers how text around it is shown.
func hidden(r rune) bool {
	if r < 0x80 {
		return r < 0x20 || r == 0x7f // the tables below are slow, and most text is ASCII
	}
	return unicode.IsControl(r) || r == '\u2028' || r == '\u2029' ||
		unicode.In(r, unicode.Cf, unicode.Variation_Selector, unicode.Other_Default_Ignorable_Code_Point)
}

// showUntrusted escapes, in place, hidden characters in every string v points to, however deeply:
// struct fields, pointers, slices, maps and interfaces. v must be a pointer.
func showUntrusted(v any) {
	clean(reflect.ValueOf(v).Elem())
}

func clean(v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		if s := v.String(); v.CanSet() {
			if c := showable(s); c != s {
				v.SetString(c)
			}
		}
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return
		}
		if v.Kind() == reflect.Interface {
			// What an interface holds cannot be set in place: clean a copy and put it back.
			inner := reflect.New(v.Elem().Type()).Elem()
			inner.Set(v.Elem())
			clean(inner)
			if v.CanSet() {
				v.Set(inner)
			}
			return
		}
		clean(v.Elem())
	case reflect.Struct:
		for _, i := range textFields(v.Type()) {
			clean(v.Field(i))
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return // bytes (json.RawMessage) are encoded, not read as text
		}
		for i := range v.Len() {
			clean(v.Index(i))
		}
	case reflect.Map:
		iter := v.MapRange()
		for iter.Next() {
			key := reflect.New(iter.Key().Type()).Elem()
			key.Set(iter.Key())
			clean(key)
			val := reflect.New(iter.Value().Type()).Elem()
			val.Set(iter.Value())
			clean(val)
			if !key.Equal(iter.Key()) {
				v.SetMapIndex(iter.Key(), reflect.Value{})
			}
			v.SetMapIndex(key, val)
		}
	}
}

// textFieldsOf caches, per struct type, the exported fields that can hold text: a result is cleaned on
// every call, and walking a page of keys field by field (numbers, flags, times as pointers) cost
// more than building the result.
var textFieldsOf sync.Map // reflect.Type -> []int

// textFields returns the indexes of t's exported fields that can hold a string.
func textFields(t reflect.Type) []int {
	if f, ok := textFieldsOf.Load(t); ok {
		return f.([]int)
	}
	var f []int
	for i := range t.NumField() {
		if sf := t.Field(i); sf.IsExported() && holdsText(sf.Type, map[reflect.Type]bool{}) {
			f = append(f, i)
		}
	}
	textFieldsOf.Store(t, f)
	return f
}

// holdsText reports whether a value of type t can contain a string that clean would read.
func holdsText(t reflect.Type, seen map[reflect.Type]bool) bool {
	if seen[t] {
		return false // a recursive type: its text is found through the other way in
	}
	seen[t] = true
	switch t.Kind() {
	case reflect.String, reflect.Interface:
		return true
	case reflect.Pointer:
		return holdsText(t.Elem(), seen)
	case reflect.Slice, reflect.Array:
		return t.Elem().Kind() != reflect.Uint8 && holdsText(t.Elem(), seen)
	case reflect.Map:
		return holdsText(t.Key(), seen) || holdsText(t.Elem(), seen)
	case reflect.Struct:
		for i := range t.NumField() {
			if sf := t.Field(i); sf.IsExported() && holdsText(sf.Type, seen) {
				return true
			}
		}
	}
	return false
}
