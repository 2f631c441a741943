package gqlhttp

import (
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// The response media types.
const (
	mediaJSON            = "application/json"
	mediaGraphQLResponse = "application/graphql-response+json"
)

// negotiate picks the response media type from the Accept header:
// application/graphql-response+json when the client ranks it at least as
// high as application/json, application/json when it ranks that higher,
// sends no Accept, or accepts only wildcards (so curl and older clients get
// the legacy behaviour). ok is false when Accept names neither type nor a
// wildcard that covers them.
func negotiate(r *http.Request) (media string, ok bool) {
	accept := r.Header.Values("Accept")
	if len(accept) == 0 {
		return mediaJSON, true
	}
	// q of each type by its most specific matching range (RFC 9110 12.5.1);
	// -1 when no range matches.
	type rank struct{ q, specificity float64 }
	gr, js := rank{-1, -1}, rank{-1, -1}
	consider := func(r *rank, q, specificity float64) {
		if specificity > r.specificity {
			*r = rank{q, specificity}
		}
	}
	for _, header := range accept {
		for part := range strings.SplitSeq(header, ",") {
			if strings.TrimSpace(part) == "" {
				continue
			}
			mt, params, err := mime.ParseMediaType(part)
			if err != nil {
				continue
			}
			q := 1.0
			if v, ok := params["q"]; ok {
				if f, err := strconv.ParseFloat(v, 64); err == nil && f >= 0 && f <= 1 {
					q = f
				}
			}
			switch mt {
			case mediaGraphQLResponse:
				consider(&gr, q, 2)
			case mediaJSON:
				consider(&js, q, 2)
			case "application/*":
				consider(&gr, q, 1)
				consider(&js, q, 1)
			case "*/*":
				consider(&gr, q, 0)
				consider(&js, q, 0)
			}
		}
	}
	switch {
	case gr.q > 0 && gr.specificity == 2 && gr.q >= js.q:
		return mediaGraphQLResponse, true
	case js.q > 0:
		return mediaJSON, true
	case gr.q > 0:
		return mediaGraphQLResponse, true
	}
	return "", false
}
