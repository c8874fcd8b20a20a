package openrouter

import (
	"bytes"
	"encoding/json"
	"errors"
)

var jsonNull = []byte("null")

// Optional is a request field that is either absent or a value, never null. With `json:",omitzero"`
// an unset Optional is left out of the request body, so PATCH leaves that field unchanged.
type Optional[T any] struct {
	Value T
	Set   bool
}

// Some returns an Optional holding v.
func Some[T any](v T) Optional[T] { return Optional[T]{Value: v, Set: true} }

// IsZero reports whether o is unset; encoding/json's omitzero uses it.
func (o Optional[T]) IsZero() bool { return !o.Set }

// MarshalJSON encodes the value.
func (o Optional[T]) MarshalJSON() ([]byte, error) { return json.Marshal(o.Value) }

// UnmarshalJSON decodes a value and refuses null, which this field cannot hold.
func (o *Optional[T]) UnmarshalJSON(b []byte) error {
	if bytes.Equal(bytes.TrimSpace(b), jsonNull) {
		return errors.New("must not be null")
	}
	if err := json.Unmarshal(b, &o.Value); err != nil {
		return err
	}
	o.Set = true
	return nil
}

// Nullable is a request field that is absent (leave unchanged), null (clear) or a value. OpenRouter's
// PATCH tells these apart for limit and limit_reset, so a pointer, which has only two states, cannot.
type Nullable[T any] struct {
	Value T
	Set   bool // present in the body
	Null  bool // present, as null
}

// Value returns a Nullable holding v.
func Value[T any](v T) Nullable[T] { return Nullable[T]{Value: v, Set: true} }

// Null returns a Nullable that is sent as an explicit null.
func Null[T any]() Nullable[T] { return Nullable[T]{Set: true, Null: true} }

// IsZero reports whether n is absent; encoding/json's omitzero uses it.
func (n Nullable[T]) IsZero() bool { return !n.Set }

// MarshalJSON encodes null or the value.
func (n Nullable[T]) MarshalJSON() ([]byte, error) {
	if n.Null {
		return jsonNull, nil
	}
	return json.Marshal(n.Value)
}

// UnmarshalJSON records whether the field was null or a value; it is only called when present.
func (n *Nullable[T]) UnmarshalJSON(b []byte) error {
	if bytes.Equal(bytes.TrimSpace(b), jsonNull) {
		*n = Null[T]()
		return nil
	}
	if err := json.Unmarshal(b, &n.Value); err != nil {
		return err
	}
	n.Set, n.Null = true, false
	return nil
}
