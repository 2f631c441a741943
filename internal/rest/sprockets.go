package rest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/sprocketapi/sprocket/internal/apperr"
	"github.com/sprocketapi/sprocket/internal/core"
)

// sprocketFields are the required fields in the order the legacy service
// checked them: the first one missing is the one named.
var sprocketFields = []string{"teeth", "pitch_diameter", "outside_diameter", "pitch"}

func (h *handler) listSprockets(w http.ResponseWriter, r *http.Request) {
	list, err := h.svc.ListSprockets(r.Context())
	if err != nil {
		WriteError(w, r, err)
		return
	}
	b := make([]byte, 0, 64+96*len(list))
	b = append(b, `{"sprockets":[`...)
	for i, s := range list {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendSprocket(b, s)
	}
	writeRaw(w, http.StatusOK, append(b, "]}\n"...))
}

func (h *handler) getSprocket(w http.ResponseWriter, r *http.Request) {
	id, ok := parseID(r)
	if !ok {
		WriteMessage(w, http.StatusNotFound, "Sprocket not found")
		return
	}
	s, err := h.svc.GetSprocket(r.Context(), id)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	writeRaw(w, http.StatusOK, append(appendSprocket(nil, s), '\n'))
}

func (h *handler) createSprocket(w http.ResponseWriter, r *http.Request) {
	in, err := decodeSprocket(w, r, 0)
	if err != nil {
		h.writeDecodeError(w, r, err)
		return
	}
	s, err := h.svc.CreateSprocket(r.Context(), in)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	writeCreated(w, "/v1/sprockets/", s.ID, "Sprocket created")
}

func (h *handler) updateSprocket(w http.ResponseWriter, r *http.Request) {
	// The legacy service answered 404 for an unknown id before it looked
	// at the body (or its content type), and clients rely on that.
	id, ok := parseID(r)
	if !ok {
		WriteMessage(w, http.StatusNotFound, "Sprocket not found")
		return
	}
	exists, err := h.svc.SprocketExists(r.Context(), id)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	if !exists {
		WriteMessage(w, http.StatusNotFound, "Sprocket not found")
		return
	}
	in, err := decodeSprocket(w, r, id)
	if err != nil {
		h.writeDecodeError(w, r, err)
		return
	}
	if _, err := h.svc.UpdateSprocket(r.Context(), id, in); err != nil {
		WriteError(w, r, err)
		return
	}
	WriteMessage(w, http.StatusOK, "Sprocket updated")
}

// decodeSprocket reads a sprocket body. On create (id 0) an unknown field
// is refused (the legacy service crashed on one); on update unknown fields
// are ignored, as the legacy service ignored them, except an id that
// differs from the URL's: an id is never changed.
func decodeSprocket(w http.ResponseWriter, r *http.Request, id int) (core.SprocketInput, error) {
	var in core.SprocketInput
	v, err := readJSON(w, r)
	if err != nil {
		return in, err
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return in, apperr.Errorf(apperr.Invalid, "Request body must be a JSON object with teeth, pitch_diameter, outside_diameter and pitch.")
	}
	for _, f := range sprocketFields {
		if _, ok := obj[f]; !ok {
			return in, &apperr.Error{Code: apperr.Invalid, Field: f, Message: "Missing required field: " + f}
		}
	}
	for k, val := range obj {
		switch {
		case k == "teeth" || k == "pitch_diameter" || k == "outside_diameter" || k == "pitch":
		case k == "id" && id == 0:
			return in, apperr.InvalidField("id", "id cannot be set: the server assigns it.")
		case k == "id":
			bodyID, err := wholeFrom(val, "id", true)
			if err != nil || bodyID != int64(id) {
				return in, apperr.InvalidField("id", "id in the body does not match the URL (%d): a sprocket's id cannot be changed.", id)
			}
		case id == 0:
			return in, apperr.InvalidField(k, "Unknown field: %s", apperr.Quote(k))
		}
	}
	// The range is the core's to check (SprocketInput.Validate).
	teeth, err := wholeFrom(obj["teeth"], "teeth", true)
	if err != nil {
		return in, err
	}
	in.Teeth = int(teeth)
	for _, f := range []struct {
		name string
		dst  *float64
	}{
		{"pitch_diameter", &in.PitchDiameter},
		{"outside_diameter", &in.OutsideDiameter},
		{"pitch", &in.Pitch},
	} {
		if *f.dst, err = numberFrom(obj[f.name], f.name, true); err != nil {
			return in, err
		}
	}
	return in, nil
}

// writeCreated answers 201 with the legacy message plus the new row's id
// and a Location header.
func writeCreated(w http.ResponseWriter, prefix string, id int, msg string) {
	loc := prefix + strconv.Itoa(id)
	w.Header().Set("Location", loc)
	b, _ := json.Marshal(struct {
		ID      int    `json:"id"`
		Message string `json:"message"`
	}{id, msg})
	writeRaw(w, http.StatusCreated, append(b, '\n'))
}

func (h *handler) writeDecodeError(w http.ResponseWriter, r *http.Request, err error) {
	if err == errUnsupportedMedia {
		WriteMessage(w, http.StatusUnsupportedMediaType,
			fmt.Sprintf("Content-Type must be application/json, not %s.", apperr.Quote(r.Header.Get("Content-Type"))))
		return
	}
	WriteError(w, r, err)
}
