package rest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/sprocketapi/sprocket/internal/apperr"
	"github.com/sprocketapi/sprocket/internal/core"
)

// bytesPerPoint is a generous size of one point in a /v1 answer (three
// numbers and their commas), to tell in advance whether it fits the cache.
const bytesPerPoint = 48

const (
	msgInvalidStructure = "Invalid JSON structure."
	msgLengths          = "Length of actual, goal, and time data must be the same."
)

// The three column names of chart_data, in the legacy order.
const (
	colActual = "sprocket_production_actual"
	colGoal   = "sprocket_production_goal"
	colTime   = "time"
)

func (h *handler) listFactories(w http.ResponseWriter, r *http.Request) {
	h.stream(w, r, nil, 0)
}

func (h *handler) getFactory(w http.ResponseWriter, r *http.Request) {
	id, ok := parseID(r)
	if !ok {
		WriteMessage(w, http.StatusNotFound, "Factory not found")
		return
	}
	// The version is read first: a copy made afterwards holds at least
	// what that version holds, so it may be served to whoever reads the
	// same version later.
	version, err := h.svc.SeriesVersion(r.Context(), id)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	if body, ok := h.cache.get(id, version); ok {
		writeRaw(w, http.StatusOK, body)
		return
	}
	if body := h.stream(w, r, []int{id}, h.cache.maxEntry()); body != nil {
		h.cache.put(id, version, body)
	}
}

func (h *handler) createFactory(w http.ResponseWriter, r *http.Request) {
	in, err := decodeFactory(w, r)
	if err != nil {
		h.writeDecodeError(w, r, err)
		return
	}
	f, err := h.svc.CreateFactory(r.Context(), in)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	writeCreated(w, "/v1/factories/", f.ID, "Factory created")
}

// decodeFactory reads {"factory": {"chart_data": {...}, "name"?: ...}}.
// Missing keys anywhere on that path are "Invalid JSON structure." (checked
// before anything else, as the legacy service did); then the three columns
// must be arrays of one length; then every element must be a number (time
// a whole one). Other keys are ignored.
func decodeFactory(w http.ResponseWriter, r *http.Request) (core.FactoryInput, error) {
	var in core.FactoryInput
	v, err := readJSON(w, r)
	if err != nil {
		return in, err
	}
	structure := func(detail string) error {
		msg := msgInvalidStructure
		if detail != "" {
			msg = "Invalid JSON structure: " + detail
		}
		return apperr.Errorf(apperr.Invalid, "%s", msg)
	}
	top, ok := v.(map[string]any)
	if !ok {
		return in, structure("the body must be an object with a \"factory\" key.")
	}
	rawFactory, ok := top["factory"]
	if !ok {
		return in, structure("")
	}
	fac, ok := rawFactory.(map[string]any)
	if !ok {
		return in, structure("factory must be an object.")
	}
	rawChart, ok := fac["chart_data"]
	if !ok {
		return in, structure("")
	}
	chart, ok := rawChart.(map[string]any)
	if !ok {
		return in, structure("factory.chart_data must be an object.")
	}
	cols := make(map[string][]any, 3)
	for _, c := range []string{colActual, colGoal, colTime} {
		if _, ok := chart[c]; !ok {
			return in, structure("")
		}
	}
	for _, c := range []string{colActual, colGoal, colTime} {
		arr, ok := chart[c].([]any)
		if !ok {
			return in, structure(fmt.Sprintf("factory.chart_data.%s must be an array.", c))
		}
		cols[c] = arr
	}
	n := len(cols[colTime])
	if len(cols[colActual]) != n || len(cols[colGoal]) != n {
		return in, apperr.Errorf(apperr.Invalid, msgLengths)
	}
	if name, ok := fac["name"]; ok && name != nil {
		s, ok := name.(string)
		if !ok {
			return in, apperr.InvalidField("factory.name", "factory.name must be a string.")
		}
		in.Name = s
	}
	// Strings are refused in the columns: the legacy service stored them
	// verbatim and served them back as strings, which no chart can draw.
	in.Points = make([]core.Point, n)
	for i := range n {
		p := &in.Points[i]
		var okA, okG, okT bool
		p.Actual, okA = fastNumber(cols[colActual][i])
		p.Goal, okG = fastNumber(cols[colGoal][i])
		p.Time, okT = fastInt(cols[colTime][i])
		if okA && okG && okT {
			continue
		}
		// The slow path names the element at fault.
		if p.Actual, err = numberFrom(cols[colActual][i], fmt.Sprintf("factory.chart_data.%s[%d]", colActual, i), false); err != nil {
			return in, err
		}
		if p.Goal, err = numberFrom(cols[colGoal][i], fmt.Sprintf("factory.chart_data.%s[%d]", colGoal, i), false); err != nil {
			return in, err
		}
		// The time domain is the core's to check (core.ValidatePoints).
		if p.Time, err = wholeFrom(cols[colTime][i], fmt.Sprintf("factory.chart_data.%s[%d]", colTime, i), false); err != nil {
			return in, err
		}
	}
	return in, nil
}

// fastNumber reads a JSON number, the common case, without building an
// error; as numberFrom, a number beyond float64 is infinite, for the core
// to refuse.
func fastNumber(v any) (float64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(n), 64)
	return f, err == nil || errors.Is(err, strconv.ErrRange)
}

// fastInt reads a JSON integer that fits int64.
func fastInt(v any) (int64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	i, err := strconv.ParseInt(string(n), 10, 64)
	return i, err == nil
}
