package web

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/akti/linkd/emitter"
	"github.com/akti/linkd/shortener"
	"github.com/akti/linkd/tracker"
)

// apiError is an error with the status and code a client sees.
type apiError struct {
	status  int
	code    string
	message string
	field   string
	index   int
}

func (e *apiError) Error() string { return e.message }

func newError(status int, code, message string) *apiError {
	return &apiError{status: status, code: code, message: message, index: -1}
}

var (
	errUnauthorized = newError(http.StatusUnauthorized, "unauthorized",
		"A valid bearer token is required.")
	errForbidden = newError(http.StatusForbidden, "forbidden",
		"This key may not do that.")
	errNotFound = newError(http.StatusNotFound, "not_found",
		"No such resource.")
)

// errorBody is the spec's error shape.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
	Index   *int   `json:"index,omitempty"`
}

// toAPIError maps domain errors to what the client sees; ok is false for
// errors that are linkd's fault.
func toAPIError(err error) (*apiError, bool) {
	var ae *apiError
	var inv *shortener.InvalidError
	var be *shortener.BatchError
	var he *echo.HTTPError
	index := -1
	if errors.As(err, &be) {
		index = be.Index
	}
	switch {
	case errors.As(err, &ae):
		return ae, true
	case errors.As(err, &inv):
		return &apiError{http.StatusUnprocessableEntity, inv.Code,
			inv.Message, inv.Field, index}, true
	case errors.Is(err, shortener.ErrCodeTaken):
		return &apiError{http.StatusConflict, "code_taken",
			"That code is already in use.", "code", index}, true
	case errors.Is(err, tracker.ErrMessageExists):
		return &apiError{http.StatusConflict, "message_exists",
			"A message with that id was already reported.", "id", index}, true
	case errors.Is(err, shortener.ErrNotFound),
		errors.Is(err, tracker.ErrMessageNotFound),
		errors.Is(err, emitter.ErrEndpointNotFound),
		errors.Is(err, emitter.ErrDeliveryNotFound):
		return errNotFound, true
	case errors.As(err, &he):
		return fromHTTPError(he), true
	}
	return nil, false
}

func fromHTTPError(he *echo.HTTPError) *apiError {
	switch he.Code {
	case http.StatusNotFound:
		return errNotFound
	case http.StatusMethodNotAllowed:
		return newError(he.Code, "method_not_allowed",
			"That method is not allowed here.")
	case http.StatusRequestEntityTooLarge:
		return newError(he.Code, "body_too_large",
			"The request body is over the limit.")
	}
	return newError(he.Code, "http_error", http.StatusText(he.Code))
}

// errorHandler writes every error of the admin API in the spec's shape and
// logs those that are linkd's fault.
func errorHandler(log *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		ae, ok := toAPIError(err)
		if !ok {
			log.Error("request failed", "method", c.Request().Method,
				"path", c.Path(), "error", err)
			ae = newError(http.StatusInternalServerError, "internal",
				"Something went wrong on our side.")
		}
		body := errorBody{Error: errorDetail{Code: ae.code,
			Message: ae.message, Field: ae.field}}
		if ae.index >= 0 {
			body.Error.Index = &ae.index
		}
		if err := c.JSON(ae.status, body); err != nil {
			log.Warn("write error response", "error", err)
		}
	}
}
