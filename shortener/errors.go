package shortener

import (
	"errors"
	"fmt"
)

// Domain conditions shared by the link service. Callers check them with
// errors.Is.
var (
	// ErrNotFound reports that no link has the code.
	ErrNotFound = errors.New("link not found")
	// ErrCodeTaken reports that a custom code is already in use.
	ErrCodeTaken = errors.New("code already taken")
	// ErrGone reports a link that exists but is disabled or expired.
	ErrGone = errors.New("link disabled or expired")
)

// InvalidError describes a value refused by validation. Code is a
// snake_case reason (invalid_url, invalid_phone, missing_field, ...), Field
// the JSON field at fault and Message one readable sentence. Index is the
// position of the item in a batch, or -1 outside a batch.
type InvalidError struct {
	Code    string
	Field   string
	Message string
	Index   int
}

// Invalid returns an *InvalidError outside any batch.
func Invalid(code, field, format string, args ...any) *InvalidError {
	return &InvalidError{
		Code:    code,
		Field:   field,
		Message: fmt.Sprintf(format, args...),
		Index:   -1,
	}
}

func (e *InvalidError) Error() string {
	if e.Index >= 0 {
		return fmt.Sprintf("item %d: %s: %s", e.Index, e.Field, e.Message)
	}
	return e.Field + ": " + e.Message
}
